"""Train a single-frame PoseLifter (TCN + TemporalRegressionHead) on
synthetic 3D skeletons projected through a known pinhole camera, and
compare its validation MPJPE with a baseline that always outputs the mean
training pose.

The skeletons follow the 17-joint Human3.6M layout: fixed bone offsets
(metres) scaled per person, random joint rotations applied by forward
kinematics, a random global orientation and a position 4.5-6.5 m in front
of the camera. Inputs are the projected pixels normalised as the lifting
codecs do (``x / w * 2 - [1, h / w]``); targets are camera-space joints
relative to the pelvis.

Usage: python tools/analysis/lifting_synthetic_experiment.py [--seconds 90]
"""
import argparse
import time

import numpy as np
import torch

from posekit.registry import MODELS
from posekit.utils.setup_env import register_all_modules

# Human3.6M joint order: pelvis, r hip/knee/ankle, l hip/knee/ankle, spine,
# thorax, nose, head, l shoulder/elbow/wrist, r shoulder/elbow/wrist
PARENTS = np.array([0, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15])
FLIP_INDICES = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]
# bone offsets from the parent in a body frame (x: body's left, y: up,
# z: forward), metres
OFFSETS = np.array([
    [0, 0, 0], [-.13, 0, 0], [0, -.45, 0], [0, -.44, 0],
    [.13, 0, 0], [0, -.45, 0], [0, -.44, 0], [0, .23, 0], [0, .25, 0],
    [0, .12, .08], [0, .12, -.06], [.15, -.02, 0], [0, -.28, 0],
    [0, -.25, 0], [-.15, -.02, 0], [0, -.28, 0], [0, -.25, 0]])
# largest local rotation (radians) a joint applies to its children
MAX_ANGLE = np.array([0, .9, .9, .3, .9, .9, .3, .35, .35, .3, 0, .6, 1.2,
                      .6, .6, 1.2, .6])
FOCAL, IMG_SIZE = 1150., 1000.


def rodrigues(rotvec: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` of axis-angle vectors ``(...,
    3)``."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    axis = rotvec / np.maximum(angle, 1e-12)
    x, y, z = np.moveaxis(axis, -1, 0)
    zero = np.zeros_like(x)
    cross = np.stack([zero, -z, y, z, zero, -x, -y, x, zero],
                     -1).reshape(*x.shape, 3, 3)
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * cross + (1 - c) * cross @ cross


def make_skeletons(n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 17, 3)`` camera-space joints in metres (x right, y down, z
    forward from the camera)."""
    local = rodrigues(rng.uniform(-1, 1, (n, 17, 3)) / np.sqrt(3) *
                      MAX_ANGLE[None, :, None])
    yaw = rng.uniform(-np.pi, np.pi, n)
    tilt = rng.uniform(-.15, .15, (n, 2))
    root_rot = (rodrigues(np.stack([zeros := np.zeros(n), yaw, zeros], -1))
                @ rodrigues(np.stack([tilt[:, 0], zeros, tilt[:, 1]], -1)))
    offsets = OFFSETS[None] * rng.uniform(.9, 1.1, (n, 1, 1))
    world_rot = np.empty((n, 17, 3, 3))
    pos = np.zeros((n, 17, 3))
    world_rot[:, 0] = root_rot @ local[:, 0]
    # forward kinematics: parents come before children in this order
    for j in range(1, 17):
        p = PARENTS[j]
        pos[:, j] = pos[:, p] + (world_rot[:, p] @ offsets[:, j, :, None]
                                 )[..., 0]
        world_rot[:, j] = world_rot[:, p] @ local[:, j]
    # body frame (y up, z toward the viewer) -> camera frame (y down, z
    # away): a 180 degree turn about x, then move in front of the camera
    cam = pos * np.array([1., -1., -1.])
    cam += np.stack([rng.uniform(-1, 1, n), rng.uniform(-.5, .5, n),
                     rng.uniform(4.5, 6.5, n)], -1)[:, None]
    return cam


def project(joints: np.ndarray) -> np.ndarray:
    """Pinhole projection to pixels ``(n, 17, 2)``."""
    return FOCAL * joints[..., :2] / joints[..., 2:] + IMG_SIZE / 2


def make_split(n: int, rng: np.random.Generator):
    """Network inputs ``(n, 34, 1)`` and root-relative targets ``(n, 17,
    3)`` in metres."""
    cam = make_skeletons(n, rng)
    pix = project(cam)
    norm = pix / IMG_SIZE * 2 - np.array([1., 1.])
    inputs = norm.reshape(n, -1, 1).astype(np.float32)
    target = (cam - cam[:, :1]).astype(np.float32)
    return torch.from_numpy(inputs), torch.from_numpy(target)


def mpjpe_mm(pred: torch.Tensor, gt: torch.Tensor) -> float:
    return float((pred - gt).norm(dim=-1).mean()) * 1000.


def build_model(stem_channels: int):
    return MODELS.build(dict(
        type='PoseLifter',
        backbone=dict(type='TCN', in_channels=2 * 17,
                      stem_channels=stem_channels, num_blocks=2,
                      kernel_sizes=(1, 1, 1), dropout=0.1),
        head=dict(type='TemporalRegressionHead', in_channels=stem_channels,
                  num_joints=17, loss=dict(type='MPJPELoss'))))


def to_samples(target: torch.Tensor) -> list:
    from mmengine.structures import InstanceData

    from posekit.structures import PoseDataSample
    samples = []
    for t in target:
        s = PoseDataSample()
        s.gt_instance_labels = InstanceData(
            lifting_target_label=t[None],
            lifting_target_weight=torch.ones(1, 17))
        samples.append(s)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=90.)
    parser.add_argument('--train-size', type=int, default=60000)
    parser.add_argument('--val-size', type=int, default=5000)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--stem-channels', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    register_all_modules()
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_split(args.train_size, rng)
    x_val, y_val = make_split(args.val_size, rng)

    baseline = mpjpe_mm(y_train.mean(0, keepdim=True).expand_as(y_val),
                        y_val)
    model = build_model(args.stem_channels)
    model.init_weights()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    start, step = time.time(), 0
    while time.time() - start < args.seconds:
        idx = torch.randint(0, args.train_size, (args.batch_size, ))
        model.train()
        losses = model(x_train[idx], to_samples(y_train[idx]), mode='loss')
        optim.zero_grad()
        losses['loss_pose3d'].backward()
        optim.step()
        step += 1
        if step % 500 == 0:
            for group in optim.param_groups:
                group['lr'] *= 0.7
    model.eval()
    with torch.no_grad():
        pred = model(x_val, mode='tensor')
    lifted = mpjpe_mm(pred, y_val)
    print(f'steps: {step} (batch {args.batch_size}, '
          f'{time.time() - start:.0f} s)')
    print(f'validation MPJPE, mean-pose baseline: {baseline:.1f} mm')
    print(f'validation MPJPE, PoseLifter (TCN, 1 frame): {lifted:.1f} mm')
    print(f'ratio: {lifted / baseline:.3f} (target < 0.5)')


if __name__ == '__main__':
    main()
