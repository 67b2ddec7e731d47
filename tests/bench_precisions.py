"""bench_infer.py's rows for the quantised forms (-ex --quantize int8 bf16) and each row's top-1
agreement with float32 on the real files: the 12 NTU .skeleton files and the windows of both
shared clips' poses (tests/real_inputs.py). Not collected by pytest."""
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('EFFICIENTGCN_SHARED', REPO.parent / 'shared'))
SKELETONS = SHARED / 'ntu' / 'skeletons'
CLIPS = [SHARED / 'video' / name for name in ('S001C001P001R001A001_rgb.avi', 'ntu_sample.avi')]
# The forms the runtimes do not have, with the reason (exporter/quantize.py has the sources).
MISSING_FORMS = {
    'Paddle Inference int8': 'Paddle 3.3 has no oneDNN int8 passes for PIR (.json) programs '
                             '(it runs their quantize ops as float32)',
    'ONNX Runtime bf16': "ONNX Runtime's CPU provider has no bfloat16 convolutions",
}


def calibration_sets(folder, run_main):
    """-gd of the 12 real files with config 2001's settings: the training data that -ex
    --quantize calibrates on (5 X-sub training samples; 7 held out). None without them."""
    if not SKELETONS.is_dir():
        print(f'{SKELETONS} is absent: no quantised rows (they calibrate on the real files)')
        return None
    root = Path(folder) / 'real_npy'
    result = run_main('-c', '2001', '-gd', '-np', '--set', f'dataset_args.ntu.root_folder={root}',
                      '--set', f'dataset_args.ntu.ntu60_path={SKELETONS}', timeout=None)
    if result.returncode != 0:
        raise SystemExit(f'-gd of the real files failed:\n{result.stderr[-2000:]}')
    return root


def quantised_engines(model_file, paddle_engine, onnx_engine):
    """name -> engine of the quantised forms written beside model_file."""
    engines = {}
    bf16 = model_file.with_name(f'{model_file.stem}_bf16{model_file.suffix}')
    int8 = model_file.with_name(f'{model_file.stem}_int8.onnx')
    if bf16.is_file():
        engines['Paddle Inference, bf16'] = paddle_engine(bf16, 'bf16')
    if int8.is_file():
        engines['ONNX Runtime, our int8 .onnx'] = onnx_engine(int8)
    for name, reason in MISSING_FORMS.items():
        print(f'{name}: none ({reason})')
    return engines


def clip_poses():
    """name -> VideoPoses of the shared clips, or {} (with a line) without MediaPipe."""
    from reader.video import VideoSetupError, landmarks, video_poses
    try:
        landmarks.import_mediapipe()
    except VideoSetupError as e:
        print(f'no clip windows in the agreement column: {e}')
        return {}
    return {path.name: video_poses(path) for path in CLIPS if path.is_file()}


def real_file_inputs(model_file):
    """(description, inputs) of the real files, or (None, None) without them."""
    from deploy.model_config import read_deploy_config
    from real_inputs import real_inputs
    if not SKELETONS.is_dir():
        return None, None
    names, inputs = real_inputs(model_file, read_deploy_config(model_file), SKELETONS,
                                clip_poses())
    clips = sum(' window ' in name for name in names)
    return f'{len(names) - clips} NTU files + {clips} clip windows', inputs


def top1_agreements(engines, inputs, reference, batch_size):
    """name -> (same top-1 as the reference engine, samples) on the inputs."""
    def logits(engine):
        return np.concatenate([engine(inputs[i:i + batch_size])
                               for i in range(0, len(inputs), batch_size)])
    expected = logits(engines[reference]).argmax(1)
    return {name: (int((logits(engine).argmax(1) == expected).sum()), len(inputs))
            for name, engine in engines.items()}


def single_thread_session(model_file):
    """The model in ONNX Runtime on one thread that does not spin, warmed up on nothing yet."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return onnxruntime.InferenceSession(str(model_file), options,
                                        providers=['CPUExecutionProvider'])


def print_cpu_costs(model_file, batch, runs=5):
    """int8 against float32 in ONNX Runtime by process CPU time (one thread, no spinning), the
    two models taking turns: a ratio that the other processes on a shared machine barely move,
    where wall-clock ratios swing by 20%."""
    import time
    int8 = model_file.with_name(f'{model_file.stem}_int8.onnx')
    if not int8.is_file():
        return
    sessions = {'float32': single_thread_session(model_file.with_suffix('.onnx')),
                'int8': single_thread_session(int8)}
    costs = {name: [] for name in sessions}
    for session in sessions.values():
        session.run(None, {'data': batch})
    for _ in range(runs):
        for name, session in sessions.items():
            start = time.process_time()
            session.run(None, {'data': batch})
            costs[name].append(time.process_time() - start)
    fp32, int8_cost = np.median(costs['float32']), np.median(costs['int8'])
    print(f'ONNX Runtime by CPU time (1 thread, no spinning, batch {len(batch)}, median of '
          f'{runs}): float32 {fp32:.2f} s, int8 {int8_cost:.2f} s per batch: int8 '
          f'{fp32 / int8_cost:.2f}x float32')


def onnx_op_times(model_file, batch, threads, runs=2):
    """op type -> ms per run of the model in ONNX Runtime (its profiler, after a warm-up)."""
    import collections
    import json

    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    options.enable_profiling = True
    session = onnxruntime.InferenceSession(str(model_file), options,
                                           providers=['CPUExecutionProvider'])
    for _ in range(runs + 1):
        session.run(None, {'data': batch})
    path = Path(session.end_profiling())
    events = json.loads(path.read_text())
    path.unlink()
    times = collections.Counter()
    for event in events:
        if event.get('cat') == 'Node' and event['name'].endswith('_kernel_time'):
            times[event['args']['op_name']] += event['dur'] / 1000 / (runs + 1)
    return times


def print_onnx_profiles(model_file, batch, threads):
    """Where the time of our float32 and int8 .onnx goes in ONNX Runtime, op type by op type:
    why a quantised form is slower or faster than float32 here."""
    int8 = model_file.with_name(f'{model_file.stem}_int8.onnx')
    if not int8.is_file():
        return
    for name, path in (('float32', model_file.with_suffix('.onnx')), ('int8', int8)):
        times = onnx_op_times(path, batch, threads)
        top = ', '.join(f'{op} {ms:.0f}' for op, ms in times.most_common(8))
        print(f'ONNX Runtime {name} .onnx, ms per batch by op type (total '
              f'{sum(times.values()):.0f}): {top}')
