"""Lifting 2D keypoints to 3D with a pose-lifter model (``PoseLifter``
from :func:`init_model`), e.g. SimpleBaseline3D or VideoPose3D."""
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.structures import InstanceData
from torch import nn

from posekit.structures import PoseDataSample
from .inference import (build_test_pipeline, pipeline_meta, run_pipeline,
                        run_test_step)

__all__ = ['inference_pose_lifter_model', 'lifting_windows']


def _frame_keypoints(frame: Any, t: int) -> np.ndarray:
    """One frame's 2D keypoints ``(N, K, 2)`` from an array, a
    PoseDataSample, or a list of PoseDataSamples (one per person)."""
    if isinstance(frame, PoseDataSample):
        frame = [frame]
    if isinstance(frame, (list, tuple)) and frame and all(
            isinstance(s, PoseDataSample) for s in frame):
        parts = []
        for j, sample in enumerate(frame):
            pred = sample.get('pred_instances')
            if pred is None or 'keypoints' not in pred:
                raise ValueError(f'pose_results_2d[{t}][{j}] has no '
                                 'pred_instances.keypoints')
            parts.append(np.asarray(pred.keypoints, dtype=np.float32))
        frame = np.concatenate(parts, axis=0)
    kpts = np.asarray(frame, dtype=np.float32)
    if kpts.ndim != 3 or kpts.shape[-1] != 2:
        raise ValueError(f'pose_results_2d[{t}] must hold (N, K, 2) 2D '
                         f'keypoints, got shape {kpts.shape}')
    return kpts


def _as_sequence(pose_results_2d: Any) -> np.ndarray:
    """The 2D keypoints as a ``(T, N, K, 2)`` float32 array.

    Raises:
        ValueError: a shape other than ``(N, K, 2)`` / ``(T, N, K, 2)``,
            no frames, or frames with different numbers of persons or
            keypoints.
    """
    if isinstance(pose_results_2d, PoseDataSample):
        return _frame_keypoints(pose_results_2d, 0)[None]
    if isinstance(pose_results_2d, (list, tuple)):
        if not pose_results_2d:
            raise ValueError('pose_results_2d is empty: give at least one '
                             'frame of 2D keypoints')
        if all(isinstance(s, PoseDataSample) for s in pose_results_2d) or \
                all(isinstance(f, (list, tuple)) and f and isinstance(
                    f[0], PoseDataSample) for f in pose_results_2d) or \
                all(isinstance(f, np.ndarray) for f in pose_results_2d):
            frames = [_frame_keypoints(f, t)
                      for t, f in enumerate(pose_results_2d)]
            shapes = [f.shape for f in frames]
            bad = next((t for t, s in enumerate(shapes) if s != shapes[0]),
                       None)
            if bad is not None:
                raise ValueError(
                    f'every frame must hold the same persons in the same '
                    f'order: frame 0 has (N, K, 2) = {shapes[0]}, frame '
                    f'{bad} has {shapes[bad]}')
            return np.stack(frames)
    try:
        kpts = np.asarray(pose_results_2d, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(
            'pose_results_2d must be an (N, K, 2) or (T, N, K, 2) array, or '
            'a list over frames of arrays, PoseDataSamples or lists of '
            f'PoseDataSamples; could not read it ({err})') from None
    if kpts.ndim not in (3, 4) or kpts.shape[-1] != 2:
        raise ValueError('pose_results_2d must be (N, K, 2) (one frame) or '
                         '(T, N, K, 2) 2D keypoints in pixels, got shape '
                         f'{kpts.shape}')
    return kpts[None] if kpts.ndim == 3 else kpts


def lifting_windows(num_frames: int, frames: np.ndarray, seq_len: int,
                    step: int = 1, causal: bool = False) -> np.ndarray:
    """Frame indices ``(F, seq_len)`` of the window lifting each frame of
    ``frames``: the frame sits at the window's target position
    (``seq_len - 1`` when ``causal``, else ``seq_len // 2``, as in
    Human36mDataset); every ``step``-th frame; positions beyond the
    sequence repeat its first/last frame."""
    target = seq_len - 1 if causal else seq_len // 2
    offsets = (np.arange(seq_len) - target) * step
    return np.clip(frames[:, None] + offsets, 0, num_frames - 1)


def _window_settings(model: nn.Module) -> Tuple[int, int, bool]:
    """``(seq_len, seq_step, causal)`` of the model's test dataset."""
    cfg = model.cfg
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or \
        (cfg.get('val_dataloader') or {}).get('dataset') or {}
    seq_len = int(dataset.get('seq_len', 1))
    step = int(dataset.get('seq_step', 1))
    # Human36mDataset's default is causal=True
    return seq_len, step, bool(dataset.get('causal', True))


def _encoders(pipeline: Sequence[Any]) -> List[Any]:
    encoders = []
    for transform in pipeline:
        enc = getattr(transform, 'encoder', None)
        if enc is not None:
            encoders += list(enc) if isinstance(enc, (list, tuple)) else [enc]
    return encoders


def _frame_list(frame_indices: Optional[Sequence[int]],
                num_frames: int) -> np.ndarray:
    if frame_indices is None:
        return np.arange(num_frames)
    frames = np.asarray(frame_indices).reshape(-1)
    if frames.size and not np.issubdtype(frames.dtype, np.integer):
        raise TypeError(f'frame_indices must be ints, got {frame_indices!r}')
    frames = frames.astype(np.int64)
    bad = frames[(frames < -num_frames) | (frames >= num_frames)]
    if bad.size:
        raise IndexError(f'frame_indices {bad.tolist()} are out of range for '
                         f'{num_frames} frames')
    return frames % num_frames


def inference_pose_lifter_model(model: nn.Module, pose_results_2d: Any,
                                image_size: Optional[Sequence[int]] = None,
                                frame_indices: Optional[Sequence[int]] = None,
                                batch_size: int = 256
                                ) -> List[PoseDataSample]:
    """Lift 2D keypoints of one frame or a sequence of frames to 3D.

    Args:
        model: a ``PoseLifter`` from :func:`init_model`; its test dataset
            config gives the window (``seq_len``, ``seq_step``,
            ``causal``) and its test pipeline encodes the 2D input.
        pose_results_2d: 2D keypoints in image pixels, in the lifter's
            keypoint order (e.g. Human3.6M's 17 joints): an ``(N, K, 2)``
            array (one frame), a ``(T, N, K, 2)`` array, or a list over
            frames of PoseDataSamples (``pred_instances.keypoints (N, K,
            2)``) or of lists of PoseDataSamples (one per person, as
            MMPose's ``inference_topdown`` returns). Every frame must hold
            the same N persons in the same order (track them first).
        image_size: ``(w, h)`` of the frames; required by codecs that
            normalise by the image (``VideoPoseLifting``).
        frame_indices: frames to lift (negative counts from the end);
            default all.
        batch_size: windows per ``test_step``.

    Each frame t is lifted from a window of ``seq_len`` frames with t at
    the window's target position, padded at the ends by repeating the
    first/last frame. All keypoints count as visible.

    Returns:
        One PoseDataSample per lifted frame (metainfo ``frame_idx``), with
        ``pred_instances.keypoints (N, K, 3)`` and ``keypoint_scores (N,
        K)``. With a root-centring codec (``ImagePoseLifting``,
        ``VideoPoseLifting(zero_center=True)``) the joints are relative to
        the root joint, in the units of the training targets (metres for
        Human3.6M); a codec with ``remove_root`` puts the root at 0.

    Raises:
        ValueError: bad keypoint shapes, K not the codec's
            ``num_keypoints``, a missing or bad ``image_size``.
        IndexError: a frame index out of range.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or \
            batch_size < 1:
        raise ValueError(f'batch_size must be a positive int, got '
                         f'{batch_size!r}')
    kpts = _as_sequence(pose_results_2d)
    num_frames, num_persons, num_kpts, _ = kpts.shape
    frames = _frame_list(frame_indices, num_frames)
    pipeline = build_test_pipeline(model)
    encoders = _encoders(pipeline)
    for enc in encoders:
        expected = getattr(enc, 'num_keypoints', None)
        if expected is not None and expected != num_kpts:
            raise ValueError(
                f'pose_results_2d has K = {num_kpts} keypoints but the '
                f'lifter\'s codec {type(enc).__name__} expects '
                f'num_keypoints = {expected}; convert the 2D keypoints to '
                'the lifter\'s keypoint definition first')
    camera = None
    if image_size is not None:
        size = np.asarray(image_size, dtype=np.float64).reshape(-1)
        if size.shape != (2, ) or not (size > 0).all():
            raise ValueError(f'image_size must be (w, h), two positive '
                             f'numbers, got {image_size!r}')
        camera = dict(w=float(size[0]), h=float(size[1]))
    elif any('camera_param' in getattr(e, 'auxiliary_encode_keys', ())
             for e in encoders):
        raise ValueError(
            'image_size=(w, h) is required: the lifter\'s codec normalises '
            'the 2D keypoints by the image size')
    if frames.size == 0:
        return []
    if num_persons == 0:
        lifted = np.zeros((len(frames), 0, num_kpts, 3), np.float32)
        scores = np.zeros((len(frames), 0, num_kpts), np.float32)
    else:
        lifted, scores = _lift(model, pipeline, kpts, frames, camera,
                               batch_size)
    out = []
    for f, t in enumerate(frames):
        sample = PoseDataSample(metainfo=dict(frame_idx=int(t)))
        sample.pred_instances = InstanceData(keypoints=lifted[f],
                                             keypoint_scores=scores[f])
        out.append(sample)
    return out


def _lift(model: nn.Module, pipeline: Sequence[Any], kpts: np.ndarray,
          frames: np.ndarray, camera: Optional[dict], batch_size: int
          ) -> Tuple[np.ndarray, np.ndarray]:
    """3D keypoints ``(F, N, K', 3)`` and scores ``(F, N, K')`` of the
    selected frames."""
    seq_len, step, causal = _window_settings(model)
    index = lifting_windows(len(kpts), frames, seq_len, step, causal)
    # (F, S, N, K, 2) -> (F * N, S, K, 2): one window per frame and person
    windows = kpts[index].transpose(0, 2, 1, 3, 4)
    num_frames, num_persons = windows.shape[:2]
    windows = windows.reshape((-1, ) + windows.shape[2:])
    num_kpts = windows.shape[2]
    packed = []
    for i, window in enumerate(windows):
        # a zero target: the codec's root is then 0, so the prediction
        # stays root-relative; all 2D keypoints count as visible
        info = dict(id=i, category_id=1, keypoints=window,
                    keypoints_visible=np.ones(window.shape[:2], np.float32),
                    lifting_target=np.zeros((1, num_kpts, 3), np.float32),
                    lifting_target_visible=np.ones((1, num_kpts),
                                                   np.float32),
                    **pipeline_meta(model))
        if camera is not None:
            info['camera_param'] = dict(camera)
        packed.append(run_pipeline(pipeline, info))
    samples = []
    for start in range(0, len(packed), batch_size):
        samples += run_test_step(model, packed[start:start + batch_size])
    lifted = np.concatenate([np.asarray(s.pred_instances.keypoints)
                             for s in samples]).astype(np.float32)
    scores = np.concatenate([np.asarray(s.pred_instances.keypoint_scores)
                             for s in samples]).astype(np.float32)
    shape = (num_frames, num_persons) + lifted.shape[1:]
    return lifted.reshape(shape), scores.reshape(shape[:-1])
