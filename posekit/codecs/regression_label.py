"""RegressionLabel: keypoints as coordinates normalised by the input size."""
from typing import Any, List, Optional, Tuple

import numpy as np

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec, _to_numpy


@KEYPOINT_CODECS.register_module()
class RegressionLabel(BaseKeypointCodec):
    """Keypoints as regression targets: input pixels divided by the input
    size, so a keypoint inside the input lies in ``[0, 1]``.

    Encoded (float32):
        - ``keypoint_labels`` ``(N, K, 2)``: ``keypoints / (w, h)``.
        - ``keypoint_weights`` ``(N, K)``: 1 for a keypoint with visibility
          > 0.5 inside the input (``0 <= x <= w - 1`` and ``0 <= y <= h -
          1``), else 0.

    Decoding takes normalised coordinates ``(N, K, 2)``, or ``(N, K, 4)``
    with a predicted sigma per axis in the last two channels (RLE), and
    returns ``coords * (w, h)`` with scores 1 (``D == 2``) or ``1 -
    mean(sigma)`` (``D == 4``).

    Args:
        input_size: ``(w, h)`` of the model input.

    Raises:
        ValueError: ``input_size`` is not two positive integers.
    """

    label_mapping_table = dict(keypoint_labels='keypoint_labels',
                               keypoint_weights='keypoint_weights')

    def __init__(self, input_size: Tuple[int, int]) -> None:
        super().__init__()
        self.input_size = self._check_size('input_size', input_size)
        self._size = np.array(self.input_size, dtype=np.float32)

    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints ``(N, K, 2)`` in input pixels with visibility
        ``(N, K)`` (all visible when None) into ``keypoint_labels`` ``(N, K,
        2)`` and ``keypoint_weights`` ``(N, K)``.

        Raises:
            TypeError: non-numeric keypoints. ValueError: keypoints not
                ``(N, K, 2)`` or visibility not ``(N, K)``.
        """
        keypoints, visible = self._check_keypoints(keypoints,
                                                   keypoints_visible)
        inside = ((keypoints >= 0) &
                  (keypoints <= self._size - 1)).all(axis=-1)
        weights = (inside & (visible > 0.5)).astype(np.float32)
        labels = (keypoints / self._size).astype(np.float32, copy=False)
        return dict(keypoint_labels=labels, keypoint_weights=weights)

    def decode(self, encoded: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one sample's normalised coordinates ``(K, D)`` or ``(N,
        K, D)`` (array or tensor; D = 2, or 4 with sigmas) into keypoints
        float32 ``(N, K, 2)`` in input pixels (N = 1 for 2-D input) and
        scores float32 ``(N, K)``.

        Raises:
            TypeError: non-numeric input. ValueError: not 2-D/3-D, or the
                last axis is neither 2 nor 4.
        """
        name = type(self).__name__
        coords = _to_numpy(encoded)
        if not np.issubdtype(coords.dtype, np.number):
            raise TypeError(f'{name}.decode: the encoded coordinates must be'
                            f' numeric, got dtype {coords.dtype}')
        if coords.ndim == 2:
            coords = coords[None]
        if coords.ndim != 3 or coords.shape[-1] not in (2, 4):
            raise ValueError(
                f'{name}.decode: expected normalised coordinates (K, D) or '
                '(N, K, D) with D = 2, or D = 4 (coordinates and sigmas), '
                f'got shape {tuple(_to_numpy(encoded).shape)}')
        coords = coords.astype(np.float32, copy=False)
        keypoints = coords[..., :2] * self._size
        if coords.shape[-1] == 4:
            scores = (1 - coords[..., 2:]).mean(axis=-1)
        else:
            scores = np.ones(coords.shape[:2], dtype=np.float32)
        return keypoints, scores.astype(np.float32, copy=False)

    def batch_decode(self, batch_encoded: Any
                     ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch in one pass: ``(B, K, D)`` (one instance per
        sample) or ``(B, N, K, D)``; returns lists of B keypoints ``(N, K,
        2)`` and B scores ``(N, K)``.

        Raises:
            ValueError: not 3-D/4-D, or D is neither 2 nor 4.
        """
        batch = _to_numpy(batch_encoded)
        if batch.ndim not in (3, 4):
            raise ValueError(f'{type(self).__name__}.batch_decode: expected '
                             '(B, K, D) or (B, N, K, D), got shape '
                             f'{tuple(batch.shape)}')
        lead = batch.shape[:-2] if batch.ndim == 4 else batch.shape[:1] + (
            1, )
        keypoints, scores = self.decode(batch.reshape(
            (-1, ) + batch.shape[-2:]))
        keypoints = keypoints.reshape(lead + keypoints.shape[-2:])
        return list(keypoints), list(scores.reshape(lead + scores.shape[-1:]))


__all__ = ['RegressionLabel']
