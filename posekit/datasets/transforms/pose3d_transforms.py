"""RandomFlipAroundRoot: mirror 2D inputs and 3D targets of pose lifting."""
from copy import deepcopy
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from posekit.registry import TRANSFORMS
from .required_keys import check_required_keys

__all__ = ['RandomFlipAroundRoot', 'flip_keypoints_custom_center']

_CENTER_MODES = ('static', 'root')


def flip_keypoints_custom_center(keypoints: np.ndarray,
                                 keypoints_visible: np.ndarray,
                                 flip_indices: Sequence[int],
                                 center_mode: str = 'static',
                                 center_x: float = 0.5,
                                 center_index: Union[int, List[int]] = 0
                                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Swap left/right joints and mirror x about a vertical line.

    Args:
        keypoints: (..., K, D) coordinates; visibility (..., K).
        flip_indices: K ints, the partner of each joint.
        center_mode: 'static' (line at ``center_x``) or 'root' (at the mean
            x of joint(s) ``center_index``, per pose).

    Raises:
        ValueError: unknown center_mode, flip_indices of the wrong length,
            or a center_index out of range.
    """
    kpts = np.asarray(keypoints)
    vis = np.asarray(keypoints_visible)
    k = kpts.shape[-2]
    idx = np.asarray(flip_indices, dtype=np.int64)
    if kpts.ndim < 2 or idx.shape != (k, ):
        raise ValueError(f'flip: flip_indices must hold K = {k} indices for '
                         f'keypoints of shape {kpts.shape}, got '
                         f'{len(idx)}')
    if center_mode == 'static':
        x_c = np.float32(center_x)
    elif center_mode == 'root':
        roots = [center_index] if isinstance(center_index, int) \
            else list(center_index)
        if not roots or max(roots) >= k or min(roots) < -k:
            raise ValueError(f'flip: center_index {center_index!r} is out '
                             f'of range for K = {k} keypoints')
        x_c = kpts[..., roots, 0].mean(axis=-1)[..., None]
    else:
        raise ValueError(f'flip: center_mode must be one of {_CENTER_MODES},'
                         f' got {center_mode!r}')
    flipped = kpts[..., idx, :].copy()
    flipped[..., 0] = 2 * x_c - flipped[..., 0]
    return flipped, vis[..., idx].copy()


@TRANSFORMS.register_module()
class RandomFlipAroundRoot(BaseTransform):
    """With probability ``flip_prob`` mirror the 2D keypoints and the 3D
    lifting target horizontally (left/right joints swapped by
    ``flip_indices``).

    Args:
        keypoints_flip_cfg, target_flip_cfg: ``center_mode`` ('static' |
            'root'), ``center_x`` (default 0.5), ``center_index`` (default
            0) for ``keypoints`` and ``lifting_target``.
        flip_prob: probability of flipping.
        flip_camera: also negate the x principal point ``c[0]`` (and
            tangential distortion ``p[0]``) of ``camera_param``.
        flip_label: flip the encoded ``keypoint_labels`` /
            ``lifting_target_label`` (after GenerateTarget, unreshaped)
            instead of ``keypoints`` / ``lifting_target``.

    Raises:
        MissingKeyError: a key to flip (or ``camera_param`` with
            ``flip_camera``) is missing.
        ValueError: bad flip configs or probability.
    """

    def __init__(self, keypoints_flip_cfg: dict, target_flip_cfg: dict,
                 flip_prob: float = 0.5, flip_camera: bool = False,
                 flip_label: bool = False) -> None:
        for arg, cfg in (('keypoints_flip_cfg', keypoints_flip_cfg),
                         ('target_flip_cfg', target_flip_cfg)):
            if not isinstance(cfg, dict):
                raise ValueError(f'RandomFlipAroundRoot: {arg} must be a '
                                 f'dict, got {cfg!r}')
            bad = set(cfg) - {'center_mode', 'center_x', 'center_index'}
            if bad or cfg.get('center_mode', 'static') not in _CENTER_MODES:
                raise ValueError(
                    f'RandomFlipAroundRoot: {arg}={cfg!r} is invalid; keys '
                    "are center_mode ('static' | 'root'), center_x, "
                    'center_index')
        if not 0 <= flip_prob <= 1:
            raise ValueError('RandomFlipAroundRoot: flip_prob must be in '
                             f'[0, 1], got {flip_prob!r}')
        self.keypoints_flip_cfg = keypoints_flip_cfg
        self.target_flip_cfg = target_flip_cfg
        self.flip_prob = flip_prob
        self.flip_camera = flip_camera
        self.flip_label = flip_label

    @staticmethod
    def _flip(values: Any, visible: Optional[Any], flip_indices: Any,
              cfg: dict) -> Tuple[np.ndarray, np.ndarray]:
        values = np.asarray(values)
        if visible is None:
            visible = np.ones(values.shape[:-1], dtype=np.float32)
        return flip_keypoints_custom_center(
            values, visible, flip_indices,
            center_mode=cfg.get('center_mode', 'static'),
            center_x=cfg.get('center_x', 0.5),
            center_index=cfg.get('center_index', 0))

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.flip_prob:
            return results
        if self.flip_label:
            kpt_key, vis_key = 'keypoint_labels', 'keypoint_labels_visible'
            tgt_key = 'lifting_target_label'
        else:
            kpt_key, vis_key = 'keypoints', 'keypoints_visible'
            tgt_key = 'lifting_target'
        required = [kpt_key, tgt_key] + (['camera_param']
                                         if self.flip_camera else [])
        check_required_keys(results, required, self)
        k = np.shape(results[kpt_key])[-2]
        flip_indices = results.get('flip_indices', list(range(k)))
        results[kpt_key], vis = self._flip(
            results[kpt_key], results.get(vis_key), flip_indices,
            self.keypoints_flip_cfg)
        results[vis_key] = vis
        results[tgt_key], tvis = self._flip(
            results[tgt_key], results.get('lifting_target_visible'),
            flip_indices, self.target_flip_cfg)
        results['lifting_target_visible'] = tvis
        if self.flip_camera:
            cam = deepcopy(results['camera_param'])
            if 'c' not in cam:
                raise KeyError('RandomFlipAroundRoot(flip_camera=True): '
                               "camera_param lacks 'c'; keys present: "
                               f'{sorted(cam)}')
            cam['c'] = np.array(cam['c'], dtype=np.float32)
            cam['c'][0] *= -1
            if 'p' in cam:
                cam['p'] = np.array(cam['p'], dtype=np.float32)
                cam['p'][0] *= -1
            results['camera_param'] = cam
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keypoints_flip_cfg='
                f'{self.keypoints_flip_cfg}, target_flip_cfg='
                f'{self.target_flip_cfg}, flip_prob={self.flip_prob}, '
                f'flip_camera={self.flip_camera}, '
                f'flip_label={self.flip_label})')
