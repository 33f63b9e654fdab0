"""ImagePoseLifting: 2D keypoints -> inputs/targets of a single-frame lifter.

Also holds the root-centering and reshaping steps that VideoPoseLifting
shares (private helpers ``_root_center``, ``_pack_keypoints``,
``_restore_root``).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec, _to_numpy

__all__ = ['ImagePoseLifting']


def _root_list(name: str, root_index: Union[int, Sequence[int]],
               num_keypoints: int) -> List[int]:
    """``root_index`` as a non-empty list of valid joint indices."""
    roots = [root_index] if isinstance(root_index, (int, np.integer)) \
        else list(root_index)
    if not roots or any(isinstance(r, bool) or not isinstance(
            r, (int, np.integer)) or not 0 <= r < num_keypoints
            for r in roots):
        raise ValueError(f'{name}: root_index must be an int or a list of '
                         f'ints in [0, {num_keypoints}), got {root_index!r}')
    return [int(r) for r in roots]


def _inverse_depth(depth: np.ndarray) -> np.ndarray:
    """``1 / z`` per joint as float32, 0 where it is meaningless: a joint
    at or behind the camera (``z <= 0``) or so close that ``1 / z``
    overflows float32 (a negative or infinite weight would turn the
    trajectory loss around or make it inf)."""
    z = np.asarray(depth, dtype=np.float64)
    ahead = z > 0
    inverse = np.where(ahead, 1.0 / np.where(ahead, z, 1.0), 0.0)
    inverse[inverse > np.finfo(np.float32).max] = 0.0
    return inverse.astype(np.float32)


def _lifting_inputs(name: str, keypoints: Any, keypoints_visible: Any,
                    lifting_target: Any, lifting_target_visible: Any
                    ) -> Tuple[np.ndarray, ...]:
    """Validate encode inputs; returns keypoints (T, K, D), visibility
    (T, K), target (M, K, C), target weight (M, K), trajectory weights."""
    kpts = _to_numpy(keypoints).astype(np.float32)
    if kpts.ndim == 2:
        kpts = kpts[None]
    if kpts.ndim != 3:
        raise ValueError(f'{name}.encode: keypoints must be (T, K, D), got '
                         f'shape {kpts.shape}')
    vis = np.ones(kpts.shape[:2], np.float32) if keypoints_visible is None \
        else _to_numpy(keypoints_visible).astype(np.float32).reshape(
            kpts.shape[:2])
    # Without a target (inference) the first frame stands in, as in MMPose.
    target = kpts[:1] if lifting_target is None else \
        _to_numpy(lifting_target).astype(np.float32)
    if target.ndim == 2:
        target = target[None]
    if target.ndim != 3 or target.shape[1] != kpts.shape[1]:
        raise ValueError(
            f'{name}.encode: lifting_target must be (M, K, C) with K = '
            f'{kpts.shape[1]} like keypoints, got shape {target.shape}')
    if lifting_target_visible is None:
        weight = np.ones(target.shape[:2], np.float32)
        # Far joints get small weights (VideoPose3D's 1/z trajectory loss).
        traj = _inverse_depth(target[..., 2]) if target.shape[-1] >= 3 \
            else weight
    else:
        tvis = _to_numpy(lifting_target_visible).reshape(target.shape[:2])
        weight = (tvis > 0.5).astype(np.float32)
        traj = weight
    return kpts, vis, target, weight, traj.astype(np.float32)


def _root_center(target: np.ndarray, weight: np.ndarray, roots: List[int],
                 remove_root: bool, save_index: bool, encoded: dict
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Subtract the (mean) root joint; optionally drop a single root.

    Writes ``target_root`` (M, C) and, when the root is removed,
    ``target_root_removed`` (and ``target_root_index``) into ``encoded``.
    """
    root = target[:, roots, :].mean(axis=1)
    label = target - root[:, None, :]
    encoded['target_root'] = root.astype(np.float32)
    if remove_root and len(roots) == 1:
        label = np.delete(label, roots[0], axis=1)
        weight = np.delete(weight, roots[0], axis=1)
        # Later steps must not index joints by their original position.
        encoded['target_root_removed'] = True
        if save_index:
            encoded['target_root_index'] = roots[0]
    return label, weight


def _pack_keypoints(labels: np.ndarray, visible: np.ndarray,
                    concat_vis: bool, reshape: bool) -> np.ndarray:
    """(T, K, D) -> (T, K, D[+1]) or, reshaped, (K * D[+1], T)."""
    if concat_vis:
        labels = np.concatenate([labels, visible[..., None]], axis=2)
    if reshape:
        labels = labels.transpose(1, 2, 0).reshape(-1, labels.shape[0])
    return np.ascontiguousarray(labels, dtype=np.float32)


def _restore_root(name: str, keypoints: np.ndarray,
                  target_root: Optional[Any], roots: List[int],
                  remove_root: bool) -> np.ndarray:
    """Add the root back to root-relative ``keypoints`` (N, K, C);
    ``target_root`` is (N, 1, C), (N, C), (1, C) or (C,)."""
    if target_root is None:
        return keypoints
    root = _to_numpy(target_root).astype(np.float32)
    if root.size == 0:
        return keypoints
    n, _, c = keypoints.shape
    if root.size % c or root.size // c not in (1, n):
        raise ValueError(
            f'{name}.decode: target_root must hold one (C,) = ({c},) root '
            f'or one per sample (N = {n}), got shape {root.shape}')
    root = root.reshape(-1, 1, c)
    keypoints = keypoints + root
    if remove_root and len(roots) == 1:
        root = np.broadcast_to(root, (n, 1, c))
        keypoints = np.concatenate(
            [keypoints[:, :roots[0]], root, keypoints[:, roots[0]:]], axis=1)
    return keypoints


def _as_stats(name: str, arg: str, value: Any, joints: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float32).reshape(1, joints, -1)
    except ValueError:
        raise ValueError(f'{name}: {arg} must hold {joints} joints x dims '
                         f'values, got shape {np.shape(value)}') from None
    return arr


@KEYPOINT_CODECS.register_module()
class ImagePoseLifting(BaseKeypointCodec):
    """Encode 2D keypoints (T, K, D) and a 3D target (M, K, C) for a lifter.

    The target is made root-relative (``lifting_target_label``, root kept in
    ``target_root`` (M, C)) and optionally normalised with
    ``target_mean``/``target_std`` (K or K-1, C); the 2D keypoints are
    normalised with ``keypoints_mean``/``keypoints_std`` (K, D) and, with
    ``reshape_keypoints``, flattened to ``keypoint_labels`` (K * D, T).

    Args:
        num_keypoints: K.
        root_index: root joint(s); several roots are averaged.
        remove_root: drop the (single) root from the target.
        save_index: with ``remove_root``, output ``target_root_index``.
        reshape_keypoints: output ``keypoint_labels`` as (K * D, T).
        concat_vis: append the visibility as an extra channel.
        keypoints_mean, keypoints_std, target_mean, target_std: statistics
            (give mean and std together).
        additional_encode_keys: more result keys passed to ``encode``.

    Raises:
        ValueError: bad root index, statistics without their partner, of
            the wrong size or not finite, a std that is not positive,
            inputs of the wrong shape.
    """

    auxiliary_encode_keys = {'lifting_target', 'lifting_target_visible'}
    instance_mapping_table = dict(
        lifting_target='lifting_target',
        lifting_target_visible='lifting_target_visible')
    label_mapping_table = dict(
        trajectory_weights='trajectory_weights',
        lifting_target_label='lifting_target_label',
        lifting_target_weight='lifting_target_weight')

    def __init__(self, num_keypoints: int,
                 root_index: Union[int, List[int]] = 0,
                 remove_root: bool = False, save_index: bool = False,
                 reshape_keypoints: bool = True, concat_vis: bool = False,
                 keypoints_mean: Optional[Any] = None,
                 keypoints_std: Optional[Any] = None,
                 target_mean: Optional[Any] = None,
                 target_std: Optional[Any] = None,
                 additional_encode_keys: Optional[List[str]] = None):
        name = type(self).__name__
        if isinstance(num_keypoints, bool) or not isinstance(
                num_keypoints, (int, np.integer)) or num_keypoints < 1:
            raise ValueError(f'{name}: num_keypoints must be a positive int,'
                             f' got {num_keypoints!r}')
        self.num_keypoints = int(num_keypoints)
        self.root_index = _root_list(name, root_index, self.num_keypoints)
        self.remove_root = remove_root
        self.save_index = save_index
        self.reshape_keypoints = reshape_keypoints
        self.concat_vis = concat_vis
        for a, b in (('keypoints_mean', keypoints_std),
                     ('target_mean', target_std)):
            given = (locals()[a] is not None, b is not None)
            if given[0] != given[1]:
                raise ValueError(f'{name}: give {a} together with its std '
                                 f'({a.replace("mean", "std")}), or neither')
        k_target = self.num_keypoints - 1 if (
            remove_root and len(self.root_index) == 1) else self.num_keypoints
        self.keypoints_mean = None if keypoints_mean is None else _as_stats(
            name, 'keypoints_mean', keypoints_mean, self.num_keypoints)
        self.keypoints_std = None if keypoints_std is None else _as_stats(
            name, 'keypoints_std', keypoints_std, self.num_keypoints)
        self.target_mean = None if target_mean is None else _as_stats(
            name, 'target_mean', target_mean, k_target)
        self.target_std = None if target_std is None else _as_stats(
            name, 'target_std', target_std, k_target)
        for a, b in ((self.keypoints_mean, self.keypoints_std),
                     (self.target_mean, self.target_std)):
            if a is not None and a.shape != b.shape:
                raise ValueError(f'{name}: mean shape {a.shape} differs from '
                                 f'std shape {b.shape}')
        for arg in ('keypoints_mean', 'keypoints_std', 'target_mean',
                    'target_std'):
            value = getattr(self, arg)
            if value is None:
                continue
            bad = ~np.isfinite(value) | ((value <= 0) if arg.endswith('std')
                                         else False)
            if bad.any():
                # A zero std (e.g. of a root joint that stays at the
                # origin) would divide the labels by zero.
                raise ValueError(
                    f'{name}: {arg} must hold finite numbers'
                    f'{" > 0" if arg.endswith("std") else ""}; entry '
                    f'{np.argwhere(bad)[0][1:].tolist()} (joint, dim) is '
                    f'{value[bad][0]}')
        # A per-instance copy: extra keys must not leak into other codecs.
        self.auxiliary_encode_keys = set(type(self).auxiliary_encode_keys)
        if additional_encode_keys:
            self.auxiliary_encode_keys.update(additional_encode_keys)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               lifting_target: Optional[np.ndarray] = None,
               lifting_target_visible: Optional[np.ndarray] = None,
               **kwargs: Any) -> Dict[str, Any]:
        """Encode keypoints (T, K, D) and target (M, K, C) (M = 1 for
        single-target samples).

        Returns ``keypoint_labels`` ((K * D, T) or (T, K, D)),
        ``keypoint_labels_visible`` (T, K), ``lifting_target_label``
        (M, K or K-1, C), ``lifting_target_weight`` (M, K or K-1),
        ``trajectory_weights`` (M, K), ``target_root`` (M, C), plus
        ``target_root_removed``/``target_root_index`` and the statistics
        when used. Without ``lifting_target_visible`` the trajectory
        weights are ``1 / z`` of the target joints (0 where ``z <= 0``),
        else the target weights.
        """
        name = type(self).__name__
        kpts, vis, target, weight, traj = _lifting_inputs(
            name, keypoints, keypoints_visible, lifting_target,
            lifting_target_visible)
        encoded: Dict[str, Any] = {}
        label, weight = _root_center(target, weight, self.root_index,
                                     self.remove_root, self.save_index,
                                     encoded)
        if self.keypoints_mean is not None:
            if self.keypoints_mean.shape[1:] != kpts.shape[1:]:
                raise ValueError(
                    f'{name}.encode: keypoints_mean has shape '
                    f'{self.keypoints_mean.shape[1:]} but keypoints have '
                    f'(K, D) = {kpts.shape[1:]}')
            kpts = (kpts - self.keypoints_mean) / self.keypoints_std
            encoded['keypoints_mean'] = self.keypoints_mean.copy()
            encoded['keypoints_std'] = self.keypoints_std.copy()
        if self.target_mean is not None:
            if self.target_mean.shape[1:] != label.shape[1:]:
                raise ValueError(
                    f'{name}.encode: target_mean has shape '
                    f'{self.target_mean.shape[1:]} but the root-relative '
                    f'target has (K, C) = {label.shape[1:]}')
            label = (label - self.target_mean) / self.target_std
            encoded['target_mean'] = self.target_mean.copy()
            encoded['target_std'] = self.target_std.copy()
        encoded['keypoint_labels'] = _pack_keypoints(
            kpts, vis, self.concat_vis, self.reshape_keypoints)
        encoded['keypoint_labels_visible'] = vis
        encoded['lifting_target_label'] = label.astype(np.float32)
        encoded['lifting_target_weight'] = weight
        encoded['trajectory_weights'] = traj
        return encoded

    def decode(self, encoded: Any, target_root: Optional[Any] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Root-relative (normalised) coordinates (N, K', C) or (K', C) ->
        keypoints (N, K, C) in the target's space, scores ones (N, K).

        ``target_root`` ((N, 1, C), (N, C) or (C,)) is added back and
        re-inserted when the codec removed it; without it the result stays
        root-relative.
        """
        name = type(self).__name__
        kpts = _to_numpy(encoded).astype(np.float32)
        if kpts.ndim == 2:
            kpts = kpts[None]
        if kpts.ndim != 3:
            raise ValueError(f'{name}.decode: encoded must be (N, K, C) or '
                             f'(K, C), got shape {kpts.shape}')
        if self.target_mean is not None:
            if self.target_mean.shape[1:] != kpts.shape[1:]:
                raise ValueError(
                    f'{name}.decode: encoded has (K, C) = {kpts.shape[1:]} '
                    f'but target_mean has {self.target_mean.shape[1:]}')
            kpts = kpts * self.target_std + self.target_mean
        kpts = _restore_root(name, kpts, target_root, self.root_index,
                             self.remove_root)
        return kpts, np.ones(kpts.shape[:-1], dtype=np.float32)
