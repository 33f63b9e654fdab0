"""VideoPoseLifting: 2D keypoint sequences -> inputs/targets of a temporal
lifter (VideoPose3D), normalised by the camera's image size."""
from copy import deepcopy
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec, _to_numpy
from .image_pose_lifting import (_lifting_inputs, _pack_keypoints,
                                 _restore_root, _root_center, _root_list)

__all__ = ['VideoPoseLifting']


@KEYPOINT_CODECS.register_module()
class VideoPoseLifting(BaseKeypointCodec):
    """Encode a window of 2D keypoints (T, K, 2) in image pixels and the 3D
    target (M, K, C) for a temporal lifter.

    2D keypoints map to ``(kpt - (w/2, h/2)) / (w/2)`` with the image size
    ``camera_param['w']``, ``['h']`` (x spans [-1, 1]). With ``zero_center``
    the target becomes root-relative and the root is kept in
    ``target_root`` (M, C).

    Args:
        num_keypoints: K.
        zero_center: make the target root-relative.
        root_index: root joint(s); several roots are averaged.
        remove_root: with ``zero_center``, drop the (single) root.
        save_index: with ``remove_root``, output ``target_root_index``.
        reshape_keypoints: output ``keypoint_labels`` as (K * D, T).
        concat_vis: append the visibility as an extra channel.
        normalize_camera: also map the focal length ``f`` and principal
            point ``c`` into the normalised image space (output
            ``camera_param``).

    Raises:
        ValueError: bad root index or input shapes; a ``camera_param``
            ``w``/``h`` that is not positive.
        KeyError: ``camera_param`` lacks ``w``/``h`` (or ``f``/``c`` with
            ``normalize_camera``).
    """

    auxiliary_encode_keys = {'lifting_target', 'lifting_target_visible',
                             'camera_param'}
    instance_mapping_table = dict(
        lifting_target='lifting_target',
        lifting_target_visible='lifting_target_visible')
    label_mapping_table = dict(
        trajectory_weights='trajectory_weights',
        lifting_target_label='lifting_target_label',
        lifting_target_weight='lifting_target_weight')

    def __init__(self, num_keypoints: int, zero_center: bool = True,
                 root_index: Union[int, List[int]] = 0,
                 remove_root: bool = False, save_index: bool = False,
                 reshape_keypoints: bool = True, concat_vis: bool = False,
                 normalize_camera: bool = False):
        name = type(self).__name__
        if isinstance(num_keypoints, bool) or not isinstance(
                num_keypoints, (int, np.integer)) or num_keypoints < 1:
            raise ValueError(f'{name}: num_keypoints must be a positive int,'
                             f' got {num_keypoints!r}')
        self.num_keypoints = int(num_keypoints)
        self.zero_center = zero_center
        self.root_index = _root_list(name, root_index, self.num_keypoints)
        self.remove_root = remove_root
        self.save_index = save_index
        self.reshape_keypoints = reshape_keypoints
        self.concat_vis = concat_vis
        self.normalize_camera = normalize_camera

    def _camera(self, camera_param: Optional[dict], keys: Tuple[str, ...]
                ) -> dict:
        cam = {} if camera_param is None else camera_param
        missing = [k for k in keys if k not in cam]
        if missing:
            raise KeyError(
                f'{type(self).__name__}.encode: camera_param lacks '
                f'{missing}; it needs the image size w, h (and f, c with '
                'normalize_camera=True). Set camera_param_file on the '
                f'dataset. Keys present: {sorted(cam)}')
        for key in ('w', 'h'):
            try:
                side = float(cam[key])
            except (TypeError, ValueError):
                side = float('nan')
            if not (np.isfinite(side) and side > 0):
                raise ValueError(
                    f'{type(self).__name__}.encode: camera_param[{key!r}] '
                    f'must be the image {"width" if key == "w" else "height"}'
                    f' in pixels, a positive number, got {cam[key]!r}')
        return deepcopy(cam)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               lifting_target: Optional[np.ndarray] = None,
               lifting_target_visible: Optional[np.ndarray] = None,
               camera_param: Optional[dict] = None) -> Dict[str, Any]:
        """Encode keypoints (T, K, 2) in pixels and target (M, K, C).

        Returns ``keypoint_labels`` ((K * D, T) or (T, K, D)),
        ``keypoints_visible`` (T, K), ``lifting_target_label``
        (M, K or K-1, C), ``lifting_target_weight``, ``trajectory_weights``
        (M, K), and with ``zero_center`` ``target_root`` (M, C) (plus
        ``target_root_removed``/``target_root_index``), with
        ``normalize_camera`` the updated ``camera_param``. Trajectory
        weights as in :meth:`ImagePoseLifting.encode`.

        Raises:
            KeyError: ``camera_param`` lacks a key it needs.
            ValueError: ``camera_param['w']`` or ``['h']`` is not a
                positive finite number; inputs of the wrong shape.
        """
        name = type(self).__name__
        kpts, vis, target, weight, traj = _lifting_inputs(
            name, keypoints, keypoints_visible, lifting_target,
            lifting_target_visible)
        keys = ('w', 'h', 'f', 'c') if self.normalize_camera else ('w', 'h')
        cam = self._camera(camera_param, keys)
        encoded: Dict[str, Any] = {}
        label = target
        if self.zero_center:
            label, weight = _root_center(target, weight, self.root_index,
                                         self.remove_root, self.save_index,
                                         encoded)
        center = np.array([cam['w'], cam['h']], dtype=np.float32) / 2
        scale = np.float32(cam['w']) / 2
        labels = (kpts[..., :2] - center) / scale
        if kpts.shape[-1] > 2:
            labels = np.concatenate([labels, kpts[..., 2:]], axis=-1)
        if self.normalize_camera:
            cam['f'] = np.asarray(cam['f'], np.float32) / scale
            cam['c'] = (np.asarray(cam['c'], np.float32)
                        - center.reshape(np.shape(cam['c']))) / scale
            encoded['camera_param'] = cam
        encoded['keypoint_labels'] = _pack_keypoints(
            labels, vis, self.concat_vis, self.reshape_keypoints)
        encoded['keypoints_visible'] = vis
        encoded['lifting_target_label'] = label.astype(np.float32)
        encoded['lifting_target_weight'] = weight
        encoded['trajectory_weights'] = traj
        return encoded

    def decode(self, encoded: Any, target_root: Optional[Any] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Root-relative coordinates (N, K', C) or (K', C) -> keypoints
        (N, K, C), scores ones (N, K); ``target_root`` ((N, 1, C), (N, C)
        or (C,)) is added back (and re-inserted if removed)."""
        name = type(self).__name__
        kpts = _to_numpy(encoded).astype(np.float32)
        if kpts.ndim == 2:
            kpts = kpts[None]
        if kpts.ndim != 3:
            raise ValueError(f'{name}.decode: encoded must be (N, K, C) or '
                             f'(K, C), got shape {kpts.shape}')
        kpts = _restore_root(name, kpts, target_root, self.root_index,
                             self.remove_root)
        return kpts, np.ones(kpts.shape[:-1], dtype=np.float32)
