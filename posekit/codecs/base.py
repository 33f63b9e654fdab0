"""The base class of keypoint codecs and the input checks they share."""
from abc import ABCMeta, abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.utils import is_method_overridden


def _to_numpy(value: Any) -> np.ndarray:
    """A tensor (any device or dtype) or array-like as a numpy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        # numpy has no bfloat16 (mixed-precision outputs)
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    return np.asarray(value)


class BaseKeypointCodec(metaclass=ABCMeta):
    """Turns keypoints into training targets (:meth:`encode`) and model
    outputs back into keypoints (:meth:`decode`).

    Subclasses implement ``encode`` and ``decode``. Both work in the model's
    input space: keypoints are ``(N, K, 2)`` pixels of the cropped input
    image, visibility ``(N, K)``.

    The class attributes tell ``GenerateTarget``/``PackPoseInputs`` where
    each encoded item goes (encoded key -> packed name):
    ``field_mapping_table`` -> ``gt_fields`` (per-pixel maps),
    ``instance_mapping_table`` -> ``gt_instances``,
    ``label_mapping_table`` -> ``gt_instance_labels``.
    ``auxiliary_encode_keys`` names extra keys of the transform results that
    ``encode`` takes as keyword arguments (e.g. ``bbox``).
    """

    auxiliary_encode_keys: set = set()

    field_mapping_table: Dict[str, str] = dict()
    instance_mapping_table: Dict[str, str] = dict()
    label_mapping_table: Dict[str, str] = dict()

    @abstractmethod
    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints ``(N, K, D)`` in input pixels, with visibility
        ``(N, K)`` (all visible when None), into a dict of targets."""

    @abstractmethod
    def decode(self, encoded: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Decode one sample's model output into keypoints ``(N, K, D)`` in
        input pixels and scores ``(N, K)``."""

    def batch_decode(self, batch_encoded: Any
                     ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch by calling :meth:`decode` on each sample.

        Args:
            batch_encoded: an array or tensor whose first axis is the batch
                (B, ...), or a tuple/list of such arrays that ``decode``
                takes as separate arguments (e.g. SimCC's x and y vectors).
                Tensors are detached and moved to the CPU.

        Returns:
            Two lists of length B: keypoints ``(N, K, D)`` and scores
            ``(N, K)`` of each sample.

        Raises:
            ValueError: the parts of a tuple have different batch sizes.
        """
        if isinstance(batch_encoded, (tuple, list)):
            parts = [_to_numpy(p) for p in batch_encoded]
            sizes = [len(p) for p in parts]
            if len(set(sizes)) > 1:
                raise ValueError(
                    f'{type(self).__name__}.batch_decode: the parts of the '
                    f'batch have different batch sizes {sizes}; each part '
                    'must have the batch on its first axis')
            results = [self.decode(*sample) for sample in zip(*parts)]
        else:
            batch = _to_numpy(batch_encoded)
            results = [self.decode(sample) for sample in batch]
        keypoints = [r[0] for r in results]
        scores = [r[1] for r in results]
        return keypoints, scores

    @property
    def support_batch_decoding(self) -> bool:
        """True when the subclass provides its own (vectorised)
        :meth:`batch_decode` instead of the per-sample loop."""
        return is_method_overridden('batch_decode', BaseKeypointCodec,
                                    self.__class__)

    # ---- argument checks shared by subclasses ----
    def _check_size(self, name: str, value: Any, minimum: int = 1
                    ) -> Tuple[int, int]:
        """``value`` as a ``(w, h)`` tuple of ints >= ``minimum``.

        Raises:
            ValueError: not two integers, or one below ``minimum``.
        """
        try:
            size = tuple(value)
            ok = len(size) == 2 and all(
                float(v) == int(v) and int(v) >= minimum for v in size)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ValueError(
                f'{type(self).__name__}: {name} must be (w, h), two integers'
                f' >= {minimum}, got {value!r}')
        return int(size[0]), int(size[1])

    def _check_blur_kernel(self, value: Any) -> int:
        """The DARK blur kernel size: a positive odd integer."""
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1 or value % 2 == 0:
            raise ValueError(
                f'{type(self).__name__}: blur_kernel_size must be a positive'
                f' odd integer (e.g. 11 for sigma 2, 17 for sigma 3), got '
                f'{value!r}')
        return int(value)

    def _check_positive(self, name: str, value: Any) -> float:
        """A positive finite number."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float('nan')
        if isinstance(value, bool) or not np.isfinite(number) or number <= 0:
            raise ValueError(f'{type(self).__name__}: {name} must be a '
                             f'positive number, got {value!r}')
        return number

    def _check_keypoints(self, keypoints: Any,
                         keypoints_visible: Optional[Any],
                         dims: Sequence[int] = (2, )
                         ) -> Tuple[np.ndarray, np.ndarray]:
        """Validate encode inputs.

        Returns:
            keypoints as a float array ``(N, K, D)`` (float32 unless it
            was already float64) and visibility as float32 ``(N, K)``
            (ones when ``keypoints_visible`` is None).

        Raises:
            TypeError: keypoints are not numeric.
            ValueError: keypoints are not ``(N, K, D)`` with D in ``dims``,
                or the visibility is not ``(N, K)``.
        """
        name = type(self).__name__
        kpts = _to_numpy(keypoints)
        if not (np.issubdtype(kpts.dtype, np.number)
                or kpts.dtype == np.bool_):
            raise TypeError(f'{name}.encode: keypoints must be numeric, got'
                            f' dtype {kpts.dtype}')
        if kpts.ndim != 3 or kpts.shape[-1] not in dims:
            want = ' or '.join(f'(N, K, {d})' for d in dims)
            raise ValueError(f'{name}.encode: keypoints must have shape '
                             f'{want}, got {tuple(kpts.shape)}')
        if kpts.dtype != np.float64:
            kpts = kpts.astype(np.float32, copy=False)
        if keypoints_visible is None:
            visible = np.ones(kpts.shape[:2], dtype=np.float32)
        else:
            visible = _to_numpy(keypoints_visible).astype(np.float32,
                                                          copy=False)
            if visible.shape != kpts.shape[:2]:
                raise ValueError(
                    f'{name}.encode: keypoints_visible must have shape '
                    f'(N, K) = {tuple(kpts.shape[:2])} to match keypoints '
                    f'{tuple(kpts.shape)}, got {tuple(visible.shape)}')
        return kpts, visible

    def _check_heatmaps(self, heatmaps: Any, channels: Optional[int],
                        heatmap_size: Tuple[int, int]) -> np.ndarray:
        """Validate a decode input: one sample's heatmaps ``(C, h, w)`` with
        ``(w, h) == heatmap_size`` (and C == ``channels`` when given).

        Returns the heatmaps as float32 (the input itself when it already
        is; decoders never write into it). Raises TypeError for non-numeric
        input, ValueError for a wrong shape.
        """
        name = type(self).__name__
        maps = _to_numpy(heatmaps)
        if not np.issubdtype(maps.dtype, np.number):
            raise TypeError(f'{name}.decode: heatmaps must be numeric, got '
                            f'dtype {maps.dtype}')
        w, h = heatmap_size
        if maps.ndim != 3 or maps.shape[1:] != (h, w) or (
                channels is not None and maps.shape[0] != channels):
            c = 'C' if channels is None else str(channels)
            hint = (' (decode takes one sample; use batch_decode for a '
                    'batch)' if maps.ndim == 4 else '')
            raise ValueError(
                f'{name}.decode: heatmaps must have shape ({c}, h, w) = '
                f'({c}, {h}, {w}) for heatmap_size (w, h) = {heatmap_size},'
                f' got {tuple(maps.shape)}{hint}')
        return np.asarray(maps, dtype=np.float32)


__all__ = ['BaseKeypointCodec']
