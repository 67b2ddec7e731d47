"""Videos as people film them (reader/video, deploy/video_pipeline.py), scored by the published
X-view checkpoint's export: the shared clips re-timed to 60 and 15 frames/s by the test, two
people hugging, three people in view, and bad input. The clips' poses are extracted once per
run (conftest.clip_poses, and this file's re-timed and composed clips)."""
import pickle

import numpy as np
import pytest

from conftest import DRINK_CLIP, HUG_CLIP, made_once

HUGGING, DRINK_WATER = 54, 0
RATES = (60, 15)
# The drinking clip is Kinect's mirrored colour stream (test_video checks it against the take's
# skeleton file). The hugging clip is scored as filmed: mirrored, the X-view model is unsure
# (hugging 0.60, punching 0.18, patting the other's back 0.15 on the original here), and pose
# noise as small as the re-encoding of a re-timed copy tips it (patting 0.65 at 60 fps).
MIRRORED = {DRINK_CLIP: True, HUG_CLIP: False}
# The largest difference of any class's probability from the 30 frames/s original's, a clip and
# rate each: measured here 0.08 and 0.08 for the drinking clip at 60 and 15 frames/s, 0.05 and
# 0.23 for the hug, whose poses at 15 frames/s are half as many through the embrace (hugging
# 0.74 against 0.97: the top-1 holds, the probability does not quite).
NEARLY = {DRINK_CLIP: {60: 0.12, 15: 0.12}, HUG_CLIP: {60: 0.08, 15: 0.25}}


def write_clip(path, frames, fps):
    """Frames (BGR) as a Motion JPEG .avi at `fps`."""
    import cv2
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def read_frames(path, limit=None):
    import cv2
    capture, frames = cv2.VideoCapture(str(path)), []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def retimed(frames, rate):
    """The same motion at another rate: at 60 frames/s each frame twice, at 15 every other."""
    return [frame for frame in frames for _ in range(2)] if rate == 60 else frames[::2]


def three_people(hug_frames, drink_frames):
    """The hugging pair with the drinking person pasted beside them."""
    frames = []
    for hug, drink in zip(hug_frames, drink_frames):
        frame = hug.copy()
        frame[150:950, 1400:1800] = drink[150:950, 850:1250]
        frames.append(frame)
    return frames


class CountingModels:
    """PoseModels that count the frames they are run on and their calls."""

    def __init__(self, models):
        self.models, self.frames, self.calls, self.last = models, 0, 0, None

    def _count(self, frame):
        whole = frame if frame.base is None else frame.base   # the detector gets a square of it
        if whole is not self.last:
            self.frames, self.last = self.frames + 1, whole
        self.calls += 1

    def detect(self, frame):
        self._count(frame)
        return self.models.detect(frame)

    def landmarks(self, frame, region):
        self._count(frame)
        return self.models.landmarks(frame, region)


@pytest.fixture(scope='module')
def made_clips(clips, tmp_path_factory):
    """The re-timed copies of both clips and a clip of three people (1.2 s), written by the
    test, with their poses at the model's 30 frames/s (as infer.py reads them), extracted once
    for the run: {name: (path, VideoPoses, (frames the pose models ran on, their calls))}."""
    def make(folder):
        from reader.video import video_poses
        from reader.video.pose_models import PoseModels
        originals = {name: read_frames(path) for name, path in clips.items()}
        written = {'three_people.avi': write_clip(
            folder / 'three_people.avi', three_people(originals[HUG_CLIP][:36],
                                                      originals[DRINK_CLIP]), 30)}
        for name, frames in originals.items():
            for rate in RATES:
                copy = f'{rate}fps_{name}'
                written[copy] = write_clip(folder / copy, retimed(frames, rate), rate)
        models, poses = PoseModels(), {}
        for name, path in written.items():
            counting = CountingModels(models)
            poses[name] = (path, video_poses(path, rate=30, models=counting),
                           (counting.frames, counting.calls))
        (folder / 'poses.pkl').write_bytes(pickle.dumps(poses))
    folder = made_once(tmp_path_factory, 'made_clips', make)
    return pickle.loads((folder / 'poses.pkl').read_bytes())


@pytest.fixture(scope='module')
def xview(exported_xview):
    """(runner, deploy) of the exported X-view model, in this process."""
    from deploy.model_config import params_path, read_deploy_config
    from deploy.options import RuntimeOptions
    from deploy.runtimes import configure_threads, make_runner
    deploy = read_deploy_config(exported_xview)
    return make_runner(exported_xview, params_path(exported_xview, None, deploy),
                       RuntimeOptions(), configure_threads(None), deploy['input_shape']), deploy


def scored(poses, xview, mirrored=True):
    from deploy.video_pipeline import score_poses
    runner, deploy = xview
    return score_poses(poses, runner, deploy, mirrored=mirrored)


def probabilities(entry):
    (window,) = entry['windows']
    logits = np.array(window['logits'], np.float64)
    return np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()


@pytest.mark.parametrize('clip', [DRINK_CLIP, HUG_CLIP])
def test_a_clip_retimed_to_60_and_15_fps_gives_the_30_fps_result(clip, clip_poses, made_clips,
                                                                  xview):
    """The same motion filmed at 60 or 15 frames/s is read at the model's 30 by the frames'
    time stamps: one window spanning the same seconds, the same top-1 and nearly the same
    probabilities as the 30 frames/s original (within NEARLY)."""
    original = scored(clip_poses[clip], xview, MIRRORED[clip])
    expected = probabilities(original)
    for rate in RATES:
        path, poses, _ = made_clips[f'{rate}fps_{clip}']
        assert poses.fps == rate
        entry = scored(poses, xview, MIRRORED[clip])
        (window,), (first,) = entry['windows'], original['windows']
        assert window['end_s'] == pytest.approx(first['end_s'], abs=1 / rate + 1e-3)
        assert entry['summary']['pred'] == original['summary']['pred'], (rate, window['top5'])
        assert np.abs(probabilities(entry) - expected).max() < NEARLY[clip][rate], (
            rate, window['top5'], first['top5'])


def test_without_the_time_stamps_60_fps_is_read_wrong(made_clips, clip_poses):
    """What the time stamps fix: a 60 frames/s copy read frame by frame would show the model
    the motion at half speed (twice the frames); at its time stamps it has the original's."""
    _, poses, _ = made_clips[f'60fps_{HUG_CLIP}']
    assert poses.video_frames == 2 * clip_poses[HUG_CLIP].num_frames
    assert poses.at_rate(30).num_frames == clip_poses[HUG_CLIP].num_frames


@pytest.mark.parametrize('clip', [DRINK_CLIP, HUG_CLIP])
def test_the_pose_models_run_on_the_frames_the_model_takes(clip, made_clips, clip_poses):
    """Of a 60 frames/s copy the pose models run on every other frame only (those the model's
    30 frames/s clock takes), and about half as often as on each frame; of the 15 frames/s
    copy on every frame."""
    original = clip_poses[clip]
    _, poses, (frames, calls) = made_clips[f'60fps_{clip}']
    assert poses.video_frames == 2 * original.num_frames
    assert frames == poses.num_frames == original.num_frames, (frames, poses.num_frames)
    assert list(poses.frame_index) == list(range(0, poses.video_frames, 2))
    people = poses.found.sum()
    assert people <= calls < 1.5 * people, (calls, people)
    _, slower, (frames, _) = made_clips[f'15fps_{clip}']
    assert frames == slower.num_frames == slower.video_frames


def test_the_hug_is_hugging_with_two_bodies(clip_poses, xview):
    """Both people as the model's two bodies: hugging; either one alone is not a hug."""
    poses = clip_poses[HUG_CLIP]
    entry = scored(poses, xview, MIRRORED[HUG_CLIP])
    (window,) = entry['windows']
    assert window['people'] == 2 and entry['people_kept'] == '2 people tracked'
    assert window['top5'][0][:2] == [HUGGING, 'hugging other person'], window['top5']
    for person in range(2):
        alone = scored(poses.people([person]), xview, MIRRORED[HUG_CLIP])
        assert alone['summary']['pred'] != HUGGING, alone['windows'][0]['top5']


def test_three_people_keep_the_two_most_prominent_and_say_so(made_clips, xview):
    """The hugging pair and a person standing beside them: three people tracked, the pair kept
    as the model's two bodies, and the output says so."""
    _, poses, _ = made_clips['three_people.avi']
    assert poses.num_people == 3, poses.found.sum(axis=1)
    kept = poses.prominent(2)
    standing = (set(range(3)) - set(kept)).pop()
    assert poses.image[standing, poses.found[standing], 0, 0].min() > 1400   # the pasted one
    entry = scored(poses, xview, MIRRORED[HUG_CLIP])
    assert entry['people_kept'] == ('3 people seen, the 2 most prominent in each window kept '
                                    '(largest and most moving)')
    assert entry['windows'][0]['people'] == 3


def test_a_clip_shorter_than_a_second_is_one_line(clips, tmp_path, xview):
    from deploy.video_pipeline import predict_video
    from reader.video import VideoError
    path = write_clip(tmp_path / 'short.avi', read_frames(clips[DRINK_CLIP], limit=20), 30)
    runner, deploy = xview
    with pytest.raises(VideoError) as error:
        predict_video(path, runner, deploy)
    message = str(error.value)
    assert message == f'{path}: 0.67 s of video: too short to show an action (at least 1 s)'


def test_a_camera_that_does_not_exist_is_one_line(xview):
    from deploy.video_pipeline import predict_video
    from reader.video import VideoError
    runner, deploy = xview
    with pytest.raises(VideoError) as error:   # the runner as a plain function: in this process
        predict_video('9', lambda batch: runner(batch), deploy, stream_timeout=2)
    assert str(error.value) == 'camera 9: no such camera, or it is in use'


def test_a_drawn_60_fps_video_shows_the_frames_without_poses_between_those_with(tmp_path):
    """--save-video of a 60 frames/s video whose poses were taken on every other frame: every
    frame is written, a frame without poses showing the people between the frames around it
    (a person moving 2 pixels a frame is drawn 2 pixels on in each), and after the last pose,
    that pose."""
    pytest.importorskip('cv2')
    from deploy.video_drawing import save_video
    from reader.video import VideoPoses
    frames = 12
    path = write_clip(tmp_path / 'moving.avi', [np.zeros((120, 160, 3), np.uint8)] * frames, 60)
    rows = np.arange(0, frames, 2)
    image = np.zeros((1, len(rows), 33, 2), np.float32)
    image[..., 0], image[..., 1] = 40 + 2 * rows[None, :, None], 90
    poses = VideoPoses(path, 60.0, (120, 160), rows / 60, rows, np.zeros((1, len(rows), 33, 3),
                       np.float32), image, np.ones((1, len(rows), 33), np.float32),
                       np.ones((1, len(rows)), bool), frames_read=frames)
    entry = {'windows': [{'start_frame': 0, 'top5': [[0, 'moving', 0.5]]}]}
    drawn = read_frames(save_video(poses, entry, tmp_path / 'drawn.avi'))
    assert len(drawn) == frames
    for index, frame in enumerate(drawn):
        blue, green, red = (frame[60:].astype(int)[..., c] for c in range(3))
        joint = (red > 150) & (green < 120) & (blue < 120)
        assert joint.any(), index
        shown = 40 + 2 * min(index, rows[-1])      # after the last pose, that pose held
        assert np.flatnonzero(joint.any(axis=0)).mean() == pytest.approx(shown, abs=0.6)
