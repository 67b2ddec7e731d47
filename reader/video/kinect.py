"""MediaPipe's 33 world landmarks -> the 25 joints of NTU RGB+D (Kinect v2 camera space).

Axes. Kinect v2 camera space (Microsoft's Kinect for Windows SDK 2.0 documentation, "Coordinate
mapping"): metres, x grows to the sensor's left, y up, z out along the direction the sensor
faces; right-handed. MediaPipe's world landmarks: metres, origin at the centre between the hips,
x towards the image's right, y down, z away from the camera. In an ordinary video the image's
right is the camera's right, so Kinect (x, y, z) = MediaPipe (-x, -y, z), a half turn about z.

Mirrored videos. Kinect v2's colour stream is mirrored left to right (in NTU's videos, camera
x grows with the pixel column, and MediaPipe calls the subject's right shoulder its left). A
mirrored video shows a mirrored person: `mirrored=True` undoes it (left and right landmarks
swapped, x negated) before the axes are turned. NTU RGB+D's own _rgb.avi clips need it.

Joints. Each Kinect joint is a MediaPipe landmark or the mean of a few (KINECT_FROM_MEDIAPIPE):
the spine, neck and head joints Kinect has and MediaPipe lacks are built from the hips,
shoulders and ears; a hand centre is the mean of the wrist and the index and little finger
knuckles, a hand tip the mean of those two knuckles (the farthest points along the fingers that
MediaPipe gives). docs/videos.md has the table.

Position. World landmarks are relative to the hips: the skeleton stands at the camera's origin,
not 2-4 m in front of it as in NTU's files. Models on pre-normalised data (X-view) centre every
sample anyway; models on raw coordinates (X-sub) see their input shifted (no camera depth).
"""
import numpy as np

# MediaPipe pose landmark indices (MediaPipe's pose landmarker documentation)
NOSE, LEFT_EAR, RIGHT_EAR = 0, 7, 8
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST = range(11, 17)
LEFT_PINKY, RIGHT_PINKY, LEFT_INDEX, RIGHT_INDEX, LEFT_THUMB, RIGHT_THUMB = range(17, 23)
LEFT_HIP, RIGHT_HIP, LEFT_KNEE, RIGHT_KNEE, LEFT_ANKLE, RIGHT_ANKLE = range(23, 29)
LEFT_HEEL, RIGHT_HEEL, LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = range(29, 33)
NUM_LANDMARKS = 33

HIPS = (LEFT_HIP, RIGHT_HIP)
SHOULDERS = (LEFT_SHOULDER, RIGHT_SHOULDER)
EARS = (LEFT_EAR, RIGHT_EAR)

# NTU-25 joints in NTU's order (1-based numbers in the comments), each the mean of these
# MediaPipe landmarks.
KINECT_FROM_MEDIAPIPE = (
    ('spine base', HIPS),                                          # 1
    ('spine middle', HIPS + SHOULDERS),                            # 2: halfway up the spine
    ('neck', SHOULDERS + EARS),                                    # 3: halfway to the head
    ('head', EARS),                                                # 4
    ('left shoulder', (LEFT_SHOULDER,)),                           # 5
    ('left elbow', (LEFT_ELBOW,)),                                 # 6
    ('left wrist', (LEFT_WRIST,)),                                 # 7
    ('left hand', (LEFT_WRIST, LEFT_INDEX, LEFT_PINKY)),           # 8
    ('right shoulder', (RIGHT_SHOULDER,)),                         # 9
    ('right elbow', (RIGHT_ELBOW,)),                               # 10
    ('right wrist', (RIGHT_WRIST,)),                               # 11
    ('right hand', (RIGHT_WRIST, RIGHT_INDEX, RIGHT_PINKY)),       # 12
    ('left hip', (LEFT_HIP,)),                                     # 13
    ('left knee', (LEFT_KNEE,)),                                   # 14
    ('left ankle', (LEFT_ANKLE,)),                                 # 15
    ('left foot', (LEFT_FOOT_INDEX,)),                             # 16
    ('right hip', (RIGHT_HIP,)),                                   # 17
    ('right knee', (RIGHT_KNEE,)),                                 # 18
    ('right ankle', (RIGHT_ANKLE,)),                               # 19
    ('right foot', (RIGHT_FOOT_INDEX,)),                           # 20
    ('spine shoulder', SHOULDERS),                                 # 21
    ('left hand tip', (LEFT_INDEX, LEFT_PINKY)),                   # 22
    ('left thumb', (LEFT_THUMB,)),                                 # 23
    ('right hand tip', (RIGHT_INDEX, RIGHT_PINKY)),                # 24
    ('right thumb', (RIGHT_THUMB,)),                               # 25
)

# MediaPipe's axes -> Kinect camera space: a half turn about z.
KINECT_AXES = np.float32([-1, -1, 1])


def _averaging_matrix():
    """(25, 33): row j averages the landmarks of Kinect joint j."""
    matrix = np.zeros((len(KINECT_FROM_MEDIAPIPE), NUM_LANDMARKS), np.float32)
    for joint, (_, landmarks) in enumerate(KINECT_FROM_MEDIAPIPE):
        matrix[joint, list(landmarks)] = 1 / len(landmarks)
    return matrix


def _left_right_swap():
    """Landmark order with every left landmark and its right counterpart exchanged (MediaPipe
    numbers each pair left, right from the eyes on; the mouth corners are a pair too)."""
    order = list(range(NUM_LANDMARKS))
    for left, right in [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10)] + \
            [(i, i + 1) for i in range(11, NUM_LANDMARKS, 2)]:
        order[left], order[right] = right, left
    return order


AVERAGING = _averaging_matrix()
LEFT_RIGHT_SWAP = _left_right_swap()


def kinect_joints(world, found=None, mirrored=False):
    """(T, 33, 3) MediaPipe world landmarks -> (T, 25, 3) float32 NTU joints in Kinect camera
    space; frames where `found` is False are zero, as NTU files leave absent bodies."""
    world = np.asarray(world, np.float32)
    if mirrored:
        world = world[:, LEFT_RIGHT_SWAP] * np.float32([-1, 1, 1])
    joints = np.einsum('jl,tlc->tjc', AVERAGING, world) * KINECT_AXES
    if found is not None:
        joints[~np.asarray(found, bool)] = 0
    return joints
