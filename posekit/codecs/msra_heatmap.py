"""MSRAHeatmap: Gaussian heatmaps of Simple Baselines, optionally DARK."""
from typing import Any, Optional, Tuple

import numpy as np

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .utils.gaussian_heatmap import (generate_gaussian_heatmaps,
                                     generate_unbiased_gaussian_heatmaps)
from .utils.post_processing import get_heatmap_maximum
from .utils.refinement import refine_keypoints, refine_keypoints_dark


@KEYPOINT_CODECS.register_module()
class MSRAHeatmap(BaseKeypointCodec):
    """Keypoints as Gaussian heatmaps ("Simple Baselines", Xiao et al.
    2018; with ``unbiased`` the DARK variant, Zhang et al. 2020).

    Input pixels map to heatmap cells by ``p_hm = p_in / s`` with ``s =
    input_size / heatmap_size`` (per axis) and back by ``p_in = p_hm * s``.

    Encoded:
        - ``heatmaps`` float32 ``(K, H, W)``: per keypoint a Gaussian of
          ``sigma`` with peak 1; the maximum over instances. Plain: centred
          on the nearest cell ``int(p_hm + 0.5)`` and cut at +-3 sigma.
          Unbiased: centred on the exact ``p_hm``, over the whole map.
        - ``keypoint_weights`` float32 ``(N, K)``: the visibility, 0 for a
          visible keypoint whose Gaussian lies outside the map.

    Decoding (one sample, ``(K, H, W)``): the arg-max cell of each channel
    (score: its value; location -1 where it is <= 0), refined by a quarter
    cell toward the larger neighbour (plain) or by DARK's Newton step on the
    log of the heatmap blurred with ``blur_kernel_size`` (unbiased), then
    scaled to input pixels.

    Args:
        input_size: ``(w, h)`` of the model input.
        heatmap_size: ``(W, H)`` of the heatmaps.
        sigma: Gaussian standard deviation in heatmap cells.
        unbiased: use DARK encoding and decoding. Defaults to False.
        blur_kernel_size: odd size of DARK's blur; it should fit ``sigma``
            (``sigma ~ 0.3 * ((ks - 1) / 2 - 1) + 0.8``: 11 for 2, 17 for
            3). Defaults to 11.

    Raises:
        ValueError: a size is not two positive integers, ``sigma`` is not
            positive, or ``blur_kernel_size`` is not a positive odd integer.
    """

    label_mapping_table = dict(keypoint_weights='keypoint_weights')
    field_mapping_table = dict(heatmaps='heatmaps')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 sigma: float,
                 unbiased: bool = False,
                 blur_kernel_size: int = 11) -> None:
        super().__init__()
        self.input_size = self._check_size('input_size', input_size)
        self.heatmap_size = self._check_size('heatmap_size', heatmap_size)
        self.sigma = self._check_positive('sigma', sigma)
        self.unbiased = bool(unbiased)
        self.blur_kernel_size = self._check_blur_kernel(blur_kernel_size)
        self.scale_factor = (np.array(self.input_size) /
                             self.heatmap_size).astype(np.float32)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints ``(N, K, 2)`` in input pixels with visibility
        ``(N, K)`` (all visible when None) into ``heatmaps`` ``(K, H, W)``
        and ``keypoint_weights`` ``(N, K)``.

        Raises:
            ValueError: keypoints are not ``(N, K, 2)`` or the visibility
                is not ``(N, K)``.
        """
        keypoints, visible = self._check_keypoints(keypoints,
                                                   keypoints_visible)
        generate = (generate_unbiased_gaussian_heatmaps if self.unbiased
                    else generate_gaussian_heatmaps)
        heatmaps, weights = generate(self.heatmap_size,
                                     keypoints / self.scale_factor, visible,
                                     self.sigma)
        return dict(heatmaps=heatmaps, keypoint_weights=weights)

    def decode(self, encoded: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one sample's heatmaps ``(K, H, W)`` (array or tensor)
        into keypoints float32 ``(1, K, 2)`` in input pixels and scores
        float32 ``(1, K)``.

        Raises:
            ValueError: the heatmaps are not ``(K, H, W)`` with ``(W, H) ==
                heatmap_size``.
        """
        heatmaps = self._check_heatmaps(encoded, None, self.heatmap_size)
        locs, scores = get_heatmap_maximum(heatmaps)
        if self.unbiased:
            keypoints = refine_keypoints_dark(locs[None], heatmaps,
                                              self.blur_kernel_size)
        else:
            keypoints = refine_keypoints(locs[None], heatmaps)
        keypoints = keypoints * self.scale_factor
        return keypoints, scores[None].astype(np.float32, copy=False)


__all__ = ['MSRAHeatmap']
