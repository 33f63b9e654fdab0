"""UDPHeatmap: heatmaps with Unbiased Data Processing (Huang et al.)."""
from typing import Any, Optional, Tuple

import numpy as np

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .utils.gaussian_heatmap import generate_udp_gaussian_heatmaps
from .utils.offset_heatmap import generate_offset_heatmap
from .utils.post_processing import blur_reflect, get_heatmap_maximum
from .utils.refinement import refine_keypoints_dark_udp

_HEATMAP_TYPES = ('gaussian', 'combined')


@KEYPOINT_CODECS.register_module()
class UDPHeatmap(BaseKeypointCodec):
    """Keypoints as heatmaps with UDP's unbiased coordinate mapping
    ("The Devil is in the Details", Huang et al. 2020).

    UDP measures sizes in pixel intervals: encoding maps input pixels to
    heatmap cells with ``p_hm = p_in / s``, ``s = (input_size - 1) /
    (heatmap_size - 1)``, so the first and last pixel centres of the input
    land on the first and last cells.

    Decoding returns ``p_hm * input_size / (heatmap_size - 1)``, i.e.
    ``p_in * input_size / (input_size - 1)``, not ``p_in``: posekit's (and
    MMPose's) estimators map input pixels to the image with ``x / input_size
    * input_scale``, and this factor turns that into UDP's exact ``x /
    (input_size - 1) * input_scale``. Compare decoded keypoints with
    ``keypoints * input_size / (input_size - 1)``.

    Encoded (``heatmap_type``):
        - ``'gaussian'``: ``heatmaps`` float32 ``(K, H, W)``, a Gaussian of
          ``sigma`` centred on the exact sub-pixel ``p_hm``, cut at +-3
          sigma around the nearest cell (maximum over instances);
          ``keypoint_weights`` ``(N, K)`` as in :class:`MSRAHeatmap`.
        - ``'combined'``: ``heatmaps`` ``(3K, H, W)``, per keypoint a label
          map (1 within ``r = radius_factor * max(W, H)`` cells) and x/y
          offset maps ``(p - cell) / r``; ``keypoint_weights`` the
          visibility.

    Decoding: ``'gaussian'``: the arg-max cell refined by DARK-UDP's Newton
    step (:func:`refine_keypoints_dark_udp`, blur ``blur_kernel_size``).
    ``'combined'``: each label map is blurred with a ``2 * blur_kernel_size
    + 1`` Gaussian (mirrored border), its arg-max cell (score: the blurred
    value) is moved by the offsets read there times ``r``.

    Args:
        input_size: ``(w, h)`` of the model input.
        heatmap_size: ``(W, H)``, each at least 2.
        heatmap_type: ``'gaussian'`` or ``'combined'``. Defaults to
            ``'gaussian'``.
        sigma: Gaussian standard deviation in cells. Defaults to 2.
        radius_factor: label radius over ``max(W, H)`` for ``'combined'``.
            Defaults to 0.0546875.
        blur_kernel_size: odd blur size for decoding. Defaults to 11.

    Raises:
        ValueError: an unknown ``heatmap_type``, a bad size, a non-positive
            ``sigma``/``radius_factor`` or an even ``blur_kernel_size``.
    """

    label_mapping_table = dict(keypoint_weights='keypoint_weights')
    field_mapping_table = dict(heatmaps='heatmaps')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 heatmap_type: str = 'gaussian',
                 sigma: float = 2.,
                 radius_factor: float = 0.0546875,
                 blur_kernel_size: int = 11) -> None:
        super().__init__()
        if heatmap_type not in _HEATMAP_TYPES:
            raise ValueError(
                f'UDPHeatmap: heatmap_type must be one of {_HEATMAP_TYPES},'
                f' got {heatmap_type!r}')
        self.heatmap_type = heatmap_type
        self.input_size = self._check_size('input_size', input_size, 2)
        self.heatmap_size = self._check_size('heatmap_size', heatmap_size, 2)
        self.sigma = self._check_positive('sigma', sigma)
        self.radius_factor = self._check_positive('radius_factor',
                                                  radius_factor)
        self.blur_kernel_size = self._check_blur_kernel(blur_kernel_size)
        self.scale_factor = ((np.array(self.input_size) - 1) /
                             (np.array(self.heatmap_size) - 1)).astype(
                                 np.float32)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints ``(N, K, 2)`` in input pixels with visibility
        ``(N, K)`` (all visible when None) into ``heatmaps`` (``(K, H, W)``,
        or ``(3K, H, W)`` for ``'combined'``) and ``keypoint_weights``
        ``(N, K)``.

        Raises:
            ValueError: keypoints are not ``(N, K, 2)`` or the visibility
                is not ``(N, K)``.
        """
        keypoints, visible = self._check_keypoints(keypoints,
                                                   keypoints_visible)
        scaled = keypoints / self.scale_factor
        if self.heatmap_type == 'gaussian':
            heatmaps, weights = generate_udp_gaussian_heatmaps(
                self.heatmap_size, scaled, visible, self.sigma)
        else:
            heatmaps, weights = generate_offset_heatmap(
                self.heatmap_size, scaled, visible, self.radius_factor)
        return dict(heatmaps=heatmaps, keypoint_weights=weights)

    def decode(self, encoded: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one sample's heatmaps (``(K, H, W)``, or ``(3K, H, W)``
        for ``'combined'``; array or tensor) into keypoints float32
        ``(1, K, 2)`` (see the class note on their scale) and scores float32
        ``(1, K)``.

        Raises:
            ValueError: wrong heatmap shape (including a channel count that
                is not a multiple of 3 for ``'combined'``).
        """
        heatmaps = self._check_heatmaps(encoded, None, self.heatmap_size)
        if self.heatmap_type == 'gaussian':
            locs, scores = get_heatmap_maximum(heatmaps)
            keypoints = refine_keypoints_dark_udp(locs[None], heatmaps,
                                                  self.blur_kernel_size)[0]
        else:
            keypoints, scores = self._decode_combined(heatmaps)
        w, h = self.heatmap_size
        keypoints = keypoints / np.array([w - 1, h - 1]) * self.input_size
        return (keypoints[None].astype(np.float32),
                scores[None].astype(np.float32, copy=False))

    def _decode_combined(self, heatmaps: np.ndarray
                         ) -> Tuple[np.ndarray, np.ndarray]:
        """Arg-max of the blurred label maps plus the offsets there, in
        heatmap cells ``(K, 2)``, and the scores ``(K,)``."""
        channels, h, w = heatmaps.shape
        if channels % 3:
            raise ValueError(
                f'UDPHeatmap.decode: heatmap_type="combined" needs 3 maps '
                f'per keypoint, got {channels} channels')
        k = channels // 3
        labels = blur_reflect(heatmaps[0::3], 2 * self.blur_kernel_size + 1)
        locs, scores = get_heatmap_maximum(labels)
        radius = self.radius_factor * max(w, h)
        # Flat index of each arg-max cell in its channel's offset map; a
        # location of -1 reads where the reference's flat index points
        # (numpy wraps negative indices the same way).
        index = (locs[:, 0] + locs[:, 1] * w + w * h * np.arange(k)).astype(
            np.int64)
        off_x = heatmaps[1::3].reshape(-1)[index] * radius
        off_y = heatmaps[2::3].reshape(-1)[index] * radius
        return locs + np.stack([off_x, off_y], axis=-1), scores


__all__ = ['UDPHeatmap']
