"""IntegralRegressionLabel: regression targets plus normalised heatmaps,
for integral (DSNT-style) regression heads."""
from typing import Any, List, Optional, Tuple

import numpy as np

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel

# Added to each heatmap's sum so an empty channel divides by a non-zero.
_SUM_EPS = np.float32(1e-24)


@KEYPOINT_CODECS.register_module()
class IntegralRegressionLabel(BaseKeypointCodec):
    """Keypoints as normalised coordinates and as heatmaps (DSNT, Nibali et
    al. 2018; integral regression, Sun et al. 2018).

    Encoded (float32):
        - ``keypoint_labels`` ``(N, K, 2)`` and ``keypoint_weights``
          ``(N, K)``: from :class:`RegressionLabel`.
        - ``heatmaps`` ``(K, H, W)``: from :class:`MSRAHeatmap`; with
          ``normalize`` each channel divided by its sum (plus 1e-24), so a
          drawn channel sums to 1.

    Decoding is that of :class:`RegressionLabel` (the head integrates its
    heatmaps into normalised coordinates itself).

    Args:
        input_size: ``(w, h)`` of the model input.
        heatmap_size: ``(W, H)`` of the heatmaps.
        sigma: Gaussian sigma in heatmap cells.
        unbiased: DARK (unbiased) heatmap encoding. Defaults to False.
        blur_kernel_size: odd DARK blur size. Defaults to 11.
        normalize: make each heatmap sum to 1. Defaults to True.

    Raises:
        ValueError: a bad size, sigma or blur kernel (from the two codecs).
    """

    label_mapping_table = dict(keypoint_labels='keypoint_labels',
                               keypoint_weights='keypoint_weights')
    field_mapping_table = dict(heatmaps='heatmaps')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 sigma: float,
                 unbiased: bool = False,
                 blur_kernel_size: int = 11,
                 normalize: bool = True) -> None:
        super().__init__()
        try:
            self.heatmap_codec = MSRAHeatmap(input_size, heatmap_size, sigma,
                                             unbiased, blur_kernel_size)
            self.keypoint_codec = RegressionLabel(input_size)
        except ValueError as err:
            raise ValueError(f'{type(self).__name__}: {err}') from err
        self.input_size = self.keypoint_codec.input_size
        self.heatmap_size = self.heatmap_codec.heatmap_size
        self.normalize = bool(normalize)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints ``(N, K, 2)`` in input pixels with visibility
        ``(N, K)`` into ``keypoint_labels`` ``(N, K, 2)``, ``heatmaps``
        ``(K, H, W)`` and ``keypoint_weights`` ``(N, K)``.

        Raises:
            TypeError: non-numeric keypoints. ValueError: keypoints not
                ``(N, K, 2)`` or visibility not ``(N, K)``.
        """
        encoded = self.keypoint_codec.encode(keypoints, keypoints_visible)
        heatmaps = self.heatmap_codec.encode(keypoints,
                                             keypoints_visible)['heatmaps']
        if self.normalize:
            sums = heatmaps.sum(axis=(1, 2), keepdims=True) + _SUM_EPS
            heatmaps = heatmaps / sums
        encoded['heatmaps'] = heatmaps
        return encoded

    def decode(self, encoded: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Normalised coordinates ``(K, D)``/``(N, K, D)`` to keypoints
        ``(N, K, 2)`` in input pixels and scores; see
        :meth:`RegressionLabel.decode`."""
        return self.keypoint_codec.decode(encoded)

    def batch_decode(self, batch_encoded: Any
                     ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """See :meth:`RegressionLabel.batch_decode`."""
        return self.keypoint_codec.batch_decode(batch_encoded)


__all__ = ['IntegralRegressionLabel']
