"""SimCCLabel: keypoints as 1-D classification targets over x and y bins."""
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec, _to_numpy
from .utils.simcc import (get_simcc_maximum, refine_simcc_dark,
                          simcc_blur_kernel_size)

_SMOOTHING_TYPES = ('gaussian', 'standard')


@KEYPOINT_CODECS.register_module()
class SimCCLabel(BaseKeypointCodec):
    """Keypoints as SimCC labels ("SimCC: a Simple Coordinate Classification
    Perspective for Human Pose Estimation", Li et al. 2022): per keypoint
    one vector over ``Wx = round(w * simcc_split_ratio)`` x bins and one
    over ``Wy = round(h * simcc_split_ratio)`` y bins.

    An input pixel ``p`` falls in bin ``mu = round(p * simcc_split_ratio)``
    (round half to even); decoding divides a bin by the ratio.

    Encoded (all float32):
        - ``keypoint_x_labels`` ``(N, K, Wx)``, ``keypoint_y_labels``
          ``(N, K, Wy)``. ``'gaussian'``: ``exp(-(i - mu)^2 / (2 s^2))`` over
          every bin ``i``, divided by ``s * sqrt(2 pi)`` when ``normalize``
          (``s`` is ``sigma`` of that axis). ``'standard'``: 1 at ``mu``
          (one-hot); with ``label_smooth_weight`` ``e``: ``1 - e`` at ``mu``
          and ``e / (W - 1)`` elsewhere.
        - ``keypoint_weights`` ``(N, K)``: the visibility. A keypoint with
          visibility < 0.5 draws nothing. A visible one that cannot be
          drawn gets weight 0 and draws nothing: with ``'gaussian'`` when
          ``mu - 3 s >= W`` or ``mu + 3 s + 1 < 0`` on either axis, with
          ``'standard'`` when ``mu`` is outside ``[0, W)`` on either axis.

    Decoding (:meth:`decode`): the arg-max bin of each vector; the score is
    the smaller of the two maxima (location -1 where it is <= 0). With
    ``use_dark`` each bin is refined by a 1-D DARK step on the vector
    blurred with :func:`simcc_blur_kernel_size` of that axis' sigma. With
    ``decode_visibility`` the scores become the pair ``(scores,
    visibility)``, the visibility being the smaller maximum of the softmax
    of ``vector * decode_beta * sigma``.

    Args:
        input_size: ``(w, h)`` of the model input.
        smoothing_type: ``'gaussian'`` or ``'standard'``.
        sigma: Gaussian sigma in bins, one number or ``(sigma_x,
            sigma_y)``. Defaults to 6.0.
        simcc_split_ratio: bins per input pixel. Defaults to 2.0.
        label_smooth_weight: ``e`` in [0, 1], only with ``'standard'``.
        normalize: divide Gaussian labels by ``s * sqrt(2 pi)``.
        use_dark: refine decoded bins with 1-D DARK.
        decode_visibility: also decode a visibility score.
        decode_beta: softmax temperature factor of the visibility.

    Raises:
        ValueError: a bad ``smoothing_type``, ``sigma``,
            ``simcc_split_ratio``, ``input_size`` or
            ``label_smooth_weight`` (outside [0, 1], or > 0 with
            ``'gaussian'``), or ``use_dark`` with a sigma below 0.5.
    """

    label_mapping_table = dict(keypoint_x_labels='keypoint_x_labels',
                               keypoint_y_labels='keypoint_y_labels',
                               keypoint_weights='keypoint_weights')

    def __init__(self,
                 input_size: Tuple[int, int],
                 smoothing_type: str = 'gaussian',
                 sigma: Union[float, Tuple[float, float]] = 6.0,
                 simcc_split_ratio: float = 2.0,
                 label_smooth_weight: float = 0.0,
                 normalize: bool = True,
                 use_dark: bool = False,
                 decode_visibility: bool = False,
                 decode_beta: float = 150.0) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = self._check_size('input_size', input_size)
        if smoothing_type not in _SMOOTHING_TYPES:
            raise ValueError(f'{name}: smoothing_type must be one of '
                             f'{_SMOOTHING_TYPES}, got {smoothing_type!r}')
        self.smoothing_type = smoothing_type
        self.sigma = self._check_sigma(sigma)
        self.simcc_split_ratio = self._check_positive('simcc_split_ratio',
                                                      simcc_split_ratio)
        try:
            lsw = float(label_smooth_weight)
        except (TypeError, ValueError):
            lsw = float('nan')
        if not 0.0 <= lsw <= 1.0:
            raise ValueError(f'{name}: label_smooth_weight must be in [0, 1],'
                             f' got {label_smooth_weight!r}')
        if smoothing_type == 'gaussian' and lsw > 0:
            raise ValueError(f'{name}: label_smooth_weight is only used with '
                             "smoothing_type='standard'; got "
                             f'{label_smooth_weight} with \'gaussian\'')
        self.label_smooth_weight = lsw
        self.normalize = bool(normalize)
        self.use_dark = bool(use_dark)
        self.decode_visibility = bool(decode_visibility)
        self.decode_beta = float(decode_beta)
        # (Wx, Wy): the number of bins per axis.
        self.simcc_size = tuple(
            int(np.around(s * self.simcc_split_ratio))
            for s in self.input_size)
        if min(self.simcc_size) < 2:
            raise ValueError(f'{name}: input_size {self.input_size} times '
                             f'simcc_split_ratio {self.simcc_split_ratio} '
                             f'gives {self.simcc_size} bins; each axis needs'
                             ' at least 2')
        if self.use_dark:
            self.blur_kernel_sizes = tuple(
                simcc_blur_kernel_size(s) for s in self.sigma)
        self._tables = [self._label_table(size, s)
                        for size, s in zip(self.simcc_size, self.sigma)]

    def _check_sigma(self, sigma: Any) -> np.ndarray:
        """``sigma`` as a float64 ``(2,)`` array ``(sigma_x, sigma_y)``."""
        values = np.atleast_1d(np.asarray(sigma, dtype=object))
        try:
            arr = np.array([float(v) for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.array([])
        if arr.shape == (1, ):
            arr = np.repeat(arr, 2)
        if arr.shape != (2, ) or not np.all(arr > 0) or not np.all(
                np.isfinite(arr)):
            raise ValueError(f'{type(self).__name__}: sigma must be a '
                             'positive number or a pair (sigma_x, sigma_y), '
                             f'got {sigma!r}')
        return arr

    def _label_table(self, size: int, sigma: float
                     ) -> Tuple[Optional[np.ndarray], int, int, int]:
        """The Gaussian label of every bin ``mu`` that can be drawn, as
        windows of one table (so encoding is a gather, not ``exp``).

        Returns ``(windows, low, high, empty)``: ``windows[high - mu]`` is
        the ``(size,)`` label of bin ``mu`` for ``low <= mu <= high`` and
        ``windows[empty]`` is all zero. ``'standard'`` labels are not
        tabulated (``windows`` is None).
        """
        if self.smoothing_type != 'gaussian':
            return None, 0, 0, 0
        radius = 3 * sigma
        # Drawn when mu - 3s < size and mu + 3s + 1 >= 0.
        low = int(np.ceil(-radius - 1))
        high = int(np.ceil(size + radius)) - 1
        dist = np.arange(-high, size - low, dtype=np.float64)
        labels = np.exp(-dist**2 / (2 * sigma**2)).astype(np.float32)
        if self.normalize:
            # Rounded once to float32 before the division, as the labels of
            # the published implementation are.
            labels = (labels / (sigma * np.sqrt(2 * np.pi))).astype(
                np.float32)
        table = np.concatenate([labels, np.zeros(size, np.float32)])
        windows = sliding_window_view(table, size)
        return windows, low, high, len(labels)

    # ---- encoding ----
    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints ``(N, K, 2)`` in input pixels with visibility
        ``(N, K)`` (all visible when None) into ``keypoint_x_labels``
        ``(N, K, Wx)``, ``keypoint_y_labels`` ``(N, K, Wy)`` and
        ``keypoint_weights`` ``(N, K)``.

        Raises:
            TypeError: non-numeric keypoints. ValueError: keypoints not
                ``(N, K, 2)`` or visibility not ``(N, K)``.
        """
        keypoints, visible = self._check_keypoints(keypoints,
                                                   keypoints_visible)
        # In the keypoints' own precision, then round half to even.
        bins = np.rint(keypoints * keypoints.dtype.type(
            self.simcc_split_ratio))
        size = np.array(self.simcc_size)
        labeled = visible >= 0.5
        if self.smoothing_type == 'gaussian':
            radius = 3 * self.sigma
            out = ((bins - radius >= size) | (bins + radius + 1 < 0)).any(-1)
        else:
            out = ((bins >= size) | (bins < 0)).any(-1)
        # NaN/inf coordinates cannot be placed in a bin: treated as outside.
        out |= ~np.isfinite(bins).all(-1)
        weights = visible.copy()
        weights[labeled & out] = 0
        drawn = labeled & ~out
        # Keypoints not drawn get bin 0 here; only drawn bins are read.
        mu = np.where(drawn[..., None], bins, 0).astype(np.int64)
        if self.smoothing_type == 'gaussian':
            x_labels, y_labels = (self._gaussian(a, mu[..., a], drawn)
                                  for a in (0, 1))
        else:
            x_labels, y_labels = (self._standard(a, mu[..., a], drawn)
                                  for a in (0, 1))
        return dict(keypoint_x_labels=x_labels, keypoint_y_labels=y_labels,
                    keypoint_weights=weights)

    def _gaussian(self, axis: int, mu: np.ndarray, drawn: np.ndarray
                  ) -> np.ndarray:
        windows, _, high, empty = self._tables[axis]
        return windows[np.where(drawn, high - mu, empty)]

    def _standard(self, axis: int, mu: np.ndarray, drawn: np.ndarray
                  ) -> np.ndarray:
        size = self.simcc_size[axis]
        labels = np.zeros(mu.shape + (size, ), dtype=np.float32)
        smooth = self.label_smooth_weight
        if smooth > 0:
            labels[drawn] = smooth / (size - 1)
        labels[drawn, mu[drawn]] = 1.0 - smooth
        return labels

    # ---- decoding ----
    def _check_vectors(self, simcc_x: Any, simcc_y: Any
                       ) -> Tuple[np.ndarray, np.ndarray]:
        """Both vectors as float32 numpy ``(N, K, W)`` with the codec's bin
        counts (a ``(K, W)`` input gets N = 1)."""
        name = type(self).__name__
        parts = []
        for label, value, size in (('simcc_x', simcc_x, self.simcc_size[0]),
                                   ('simcc_y', simcc_y, self.simcc_size[1])):
            arr = _to_numpy(value)
            if not np.issubdtype(arr.dtype, np.number):
                raise TypeError(f'{name}.decode: {label} must be numeric, '
                                f'got dtype {arr.dtype}')
            given = tuple(arr.shape)
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3 or arr.shape[-1] != size:
                raise ValueError(
                    f'{name}.decode: {label} must have shape (K, {size}) or '
                    f'(N, K, {size}) for input_size {self.input_size} and '
                    f'simcc_split_ratio {self.simcc_split_ratio}, got '
                    f'{given}')
            parts.append(np.asarray(arr, dtype=np.float32))
        if parts[0].shape[:2] != parts[1].shape[:2]:
            raise ValueError(f'{name}.decode: simcc_x {parts[0].shape} and '
                             f'simcc_y {parts[1].shape} differ in (N, K)')
        return parts[0], parts[1]

    def decode(self, simcc_x: Any, simcc_y: Any) -> Tuple[np.ndarray, Any]:
        """Decode one sample's vectors ``simcc_x`` ``(K, Wx)`` or ``(N, K,
        Wx)`` and ``simcc_y`` (likewise, arrays or tensors) into keypoints
        float32 ``(N, K, 2)`` in input pixels (N = 1 for 2-D input) and
        scores ``(N, K)``, or ``(scores, visibility)`` with
        ``decode_visibility``.

        Raises:
            TypeError: non-numeric input. ValueError: shapes that are not
                ``(N, K, W)`` with the codec's bin counts.
        """
        x, y = self._check_vectors(simcc_x, simcc_y)
        keypoints, scores = get_simcc_maximum(x, y)
        if self.use_dark:
            for axis, vectors in ((0, x), (1, y)):
                keypoints[..., axis] = refine_simcc_dark(
                    keypoints[..., axis], vectors,
                    self.blur_kernel_sizes[axis])
        keypoints /= np.float32(self.simcc_split_ratio)
        if not self.decode_visibility:
            return keypoints, scores
        _, visibility = get_simcc_maximum(
            x * self.decode_beta * self.sigma[0],
            y * self.decode_beta * self.sigma[1],
            apply_softmax=True)
        return keypoints, (scores, visibility)

    def batch_decode(self, batch_encoded: Sequence[Any]
                     ) -> Tuple[List[np.ndarray], Any]:
        """Decode a batch ``(simcc_x (B, K, Wx), simcc_y (B, K, Wy))`` in
        one vectorised pass.

        Returns lists of B keypoints ``(1, K, 2)`` and B scores ``(1, K)``;
        with ``decode_visibility`` the second item is the pair ``(scores
        list, visibility list)``.

        Raises:
            ValueError: not a pair of 3-D vectors with matching (B, K).
        """
        if not isinstance(batch_encoded, (tuple, list)) or len(
                batch_encoded) != 2:
            raise ValueError(f'{type(self).__name__}.batch_decode takes the '
                             'pair (simcc_x (B, K, Wx), simcc_y (B, K, Wy))')
        x, y = (_to_numpy(v) for v in batch_encoded)
        if x.ndim != 3 or y.ndim != 3:
            raise ValueError(f'{type(self).__name__}.batch_decode: simcc_x '
                             'and simcc_y must be (B, K, W); got '
                             f'{tuple(x.shape)} and {tuple(y.shape)}')
        # The batch stands in for the instance axis, then is split again.
        keypoints, scores = self.decode(x, y)
        if self.decode_visibility:
            scores, visibility = scores
            return list(keypoints[:, None]), (list(scores[:, None]),
                                              list(visibility[:, None]))
        return list(keypoints[:, None]), list(scores[:, None])


__all__ = ['SimCCLabel']
