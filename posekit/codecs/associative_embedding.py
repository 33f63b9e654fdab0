"""AssociativeEmbedding: bottom-up heatmaps plus grouping tags (Newell et
al. 2017), the codec of AE and HigherHRNet models."""
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from posekit.registry import KEYPOINT_CODECS
from .base import BaseKeypointCodec
from .utils.ae_candidates import (find_peaks, topk_from_peaks,
                                  topk_of_peak_map)
from .utils.ae_grouping import fill_missing_keypoints, group_keypoints_by_tags
from .utils.gaussian_heatmap import (generate_gaussian_heatmaps,
                                     generate_udp_gaussian_heatmaps)
from .utils.heatmap_nms import batch_heatmap_nms, batch_topk_candidates
from .utils.refinement import refine_keypoints, refine_keypoints_dark_udp

DecodeResult = Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]


@KEYPOINT_CODECS.register_module()
class AssociativeEmbedding(BaseKeypointCodec):
    """All persons of an image as Gaussian heatmaps (for training) and,
    at test time, keypoints grouped into persons by predicted tags.

    Encoded (keypoints in input pixels, scaled to heatmap cells by
    ``heatmap_size / input_size``, or UDP's ``(heatmap_size - 1) /
    (input_size - 1)``):
        - ``heatmaps`` float32 ``(K, H, W)``: a Gaussian of ``sigma`` per
          visible keypoint (MSRA targets, or UDP's sub-pixel ones), the
          maximum over persons;
        - ``keypoint_indices`` int64 ``(N, K, 2)``: ``[y * W + x, valid]``
          for the cell ``(x, y) = int(p + 0.5)``; valid is 1 when the
          visibility is > 0.5 and the cell is on the map. Invalid entries
          hold index 0 (always a legal gather index);
        - ``keypoint_weights`` float32 ``(N, K)``: the visibility, 0 when
          the keypoint's +-3 sigma window misses the map (as MSRAHeatmap).

    Decoding (:meth:`batch_decode`): peaks are cells equal to the maximum of
    their ``decode_nms_kernel`` window; the ``decode_topk`` best of each
    keypoint scoring above ``decode_keypoint_thr`` are grouped by tag
    (:func:`group_keypoints_by_tags`, in ``decode_keypoint_order``), at most
    ``decode_max_instances`` persons are kept; found keypoints move a
    quarter cell toward the larger neighbour (DARK-UDP with
    ``decode_gaussian_kernel`` when ``use_udp``) plus
    ``decode_center_shift``; missing ones are filled from the tag maps
    (:func:`fill_missing_keypoints`); all are scaled to input pixels by
    the codec's fixed stride ``input_size / heatmap_size`` (UDP:
    ``(input_size - 1) / (heatmap_size - 1)``, as in MMPose's bottom-up
    codec, so decoded keypoints are plain input pixels, unlike
    :class:`UDPHeatmap`'s top-down convention), whatever the size of the
    maps decoded.

    Args:
        input_size: ``(w, h)`` of the model input.
        heatmap_size: ``(W, H)`` of the heatmaps.
        sigma: Gaussian sigma in cells; None gives ``sqrt(W * H) / 64``.
        use_udp: UDP scaling, targets and refinement. Defaults to False.
        decode_keypoint_order: grouping order of the K keypoints; empty
            means 0..K-1.
        decode_nms_kernel: odd peak window. Defaults to 5.
        decode_gaussian_kernel: odd DARK-UDP blur size. Defaults to 3.
        decode_keypoint_thr: lowest candidate score (exclusive).
            Defaults to 0.1.
        decode_tag_thr: largest tag distance (exclusive) for joining a
            person. Defaults to 1.0.
        decode_topk: candidates per keypoint. Defaults to 30.
        decode_center_shift: added to found keypoints, in cells.
            Defaults to 0.
        decode_max_instances: most persons per image; None: no limit.

    Raises:
        ValueError: a bad size, sigma, kernel, order, count or threshold.
    """

    field_mapping_table = dict(heatmaps='heatmaps')
    label_mapping_table = dict(keypoint_indices='keypoint_indices',
                               keypoint_weights='keypoint_weights')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 sigma: Optional[float] = None,
                 use_udp: bool = False,
                 decode_keypoint_order: Sequence[int] = (),
                 decode_nms_kernel: int = 5,
                 decode_gaussian_kernel: int = 3,
                 decode_keypoint_thr: float = 0.1,
                 decode_tag_thr: float = 1.0,
                 decode_topk: int = 30,
                 decode_center_shift: float = 0.0,
                 decode_max_instances: Optional[int] = None) -> None:
        super().__init__()
        self.use_udp = bool(use_udp)
        least = 2 if self.use_udp else 1
        self.input_size = self._check_size('input_size', input_size, least)
        self.heatmap_size = self._check_size('heatmap_size', heatmap_size,
                                             least)
        if sigma is None:
            sigma = float(np.sqrt(self.heatmap_size[0] *
                                  self.heatmap_size[1]) / 64)
        self.sigma = self._check_positive('sigma', sigma)
        self.decode_keypoint_order = self._check_order(decode_keypoint_order)
        self.decode_nms_kernel = self._check_odd('decode_nms_kernel',
                                                 decode_nms_kernel)
        self.decode_gaussian_kernel = self._check_odd(
            'decode_gaussian_kernel', decode_gaussian_kernel)
        self.decode_keypoint_thr = self._check_number('decode_keypoint_thr',
                                                      decode_keypoint_thr)
        self.decode_tag_thr = self._check_positive('decode_tag_thr',
                                                   decode_tag_thr)
        self.decode_topk = self._check_count('decode_topk', decode_topk)
        self.decode_center_shift = self._check_number('decode_center_shift',
                                                      decode_center_shift)
        self.decode_max_instances = None if decode_max_instances is None \
            else self._check_count('decode_max_instances',
                                   decode_max_instances)
        self.scale_factor = self._scale_to_input(self.heatmap_size)

    # ---- argument checks ----
    def _check_odd(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1 or value % 2 == 0:
            raise ValueError(f'AssociativeEmbedding: {name} must be a '
                             f'positive odd integer, got {value!r}')
        return int(value)

    def _check_count(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1:
            raise ValueError(f'AssociativeEmbedding: {name} must be a '
                             f'positive integer, got {value!r}')
        return int(value)

    def _check_number(self, name: str, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float('nan')
        if isinstance(value, bool) or not np.isfinite(number):
            raise ValueError(f'AssociativeEmbedding: {name} must be a '
                             f'finite number, got {value!r}')
        return number

    def _check_order(self, order: Sequence[int]) -> List[int]:
        try:
            values = [int(i) for i in order]
            ok = all(float(a) == b for a, b in zip(order, values))
        except (TypeError, ValueError):
            ok = False
        if not ok or sorted(values) != list(range(len(values))):
            raise ValueError(
                f'AssociativeEmbedding: decode_keypoint_order must be empty '
                f'or a permutation of 0..K-1 (each keypoint index once), '
                f'got {order!r}')
        return values

    def _scale_to_input(self, map_size: Tuple[int, int]) -> np.ndarray:
        """Input pixels per cell for maps of ``map_size`` ``(W, H)``."""
        if self.use_udp:
            return ((np.array(self.input_size) - 1) /
                    (np.array(map_size) - 1)).astype(np.float32)
        return (np.array(self.input_size) / map_size).astype(np.float32)

    # ---- encoding ----
    def encode(self, keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode persons' keypoints ``(N, K, 2)`` in input pixels with
        visibility ``(N, K)`` (all visible when None); N may be 0.

        Returns:
            dict with ``heatmaps`` ``(K, H, W)``, ``keypoint_indices``
            ``(N, K, 2)`` and ``keypoint_weights`` ``(N, K)`` (see the
            class note).

        Raises:
            ValueError: keypoints are not ``(N, K, 2)`` or the visibility
                is not ``(N, K)``.
        """
        keypoints, visible = self._check_keypoints(keypoints,
                                                   keypoints_visible)
        cells = keypoints / self.scale_factor
        generate = (generate_udp_gaussian_heatmaps if self.use_udp else
                    generate_gaussian_heatmaps)
        heatmaps, weights = generate(self.heatmap_size, cells, visible,
                                     self.sigma)
        return dict(heatmaps=heatmaps,
                    keypoint_indices=self._keypoint_indices(cells, visible),
                    keypoint_weights=weights)

    def _keypoint_indices(self, cells: np.ndarray,
                          visible: np.ndarray) -> np.ndarray:
        """``[flat index, valid]`` int64 ``(N, K, 2)`` of the cells nearest
        keypoints ``(N, K, 2)`` given in heatmap cells."""
        w, h = self.heatmap_size
        finite = np.isfinite(cells).all(-1)
        # int() truncates toward zero: -0.4 + 0.5 -> 0 is on the map.
        xy = (np.where(finite[..., None], cells, -1.0) + 0.5).astype(
            np.int64)
        valid = ((visible > 0.5) & finite & (xy[..., 0] >= 0) &
                 (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h))
        index = np.where(valid, xy[..., 1] * w + xy[..., 0], 0)
        return np.stack([index, valid.astype(np.int64)], -1)

    # ---- decoding ----
    def _check_outputs(self, heatmaps: Any, tags: Any) -> Tuple[Tensor,
                                                                Tensor]:
        """Both batches as float tensors after checking their shapes."""
        maps = [torch.as_tensor(np.asarray(v)) if not isinstance(
            v, Tensor) else v for v in (heatmaps, tags)]
        for name, value in zip(('heatmaps', 'tags'), maps):
            if value.dim() != 4 or not (value.is_floating_point()):
                raise ValueError(
                    f'AssociativeEmbedding.batch_decode: batch_{name} must '
                    f'be a float (B, C, H, W) tensor, got '
                    f'{tuple(value.shape)} {value.dtype}')
        heat, tag = maps
        b, k, h, w = heat.shape
        order = len(self.decode_keypoint_order)
        if order and k != order:
            raise ValueError(
                f'AssociativeEmbedding.batch_decode: batch_heatmaps must have'
                f' K = {order} channels (the length of decode_keypoint_order'
                f'), got {tuple(heat.shape)}')
        if tag.shape[0] != b or tag.shape[2:] != (h, w) or tag.shape[1] < 1:
            raise ValueError(
                f'AssociativeEmbedding.batch_decode: batch_tags must have '
                f'shape (B, K * tag_dim, H, W) = ({b}, {k} * tag_dim, {h}, '
                f'{w}) (or (B, tag_dim, H, W) for tags shared by all '
                f'keypoints) to match batch_heatmaps {tuple(heat.shape)}, '
                f'got {tuple(tag.shape)}')
        if self.use_udp and min(h, w) < 2:
            raise ValueError(
                f'AssociativeEmbedding.batch_decode: UDP needs maps of at '
                f'least 2 x 2 cells, got (H, W) = {(h, w)}')
        return heat.detach().float(), tag.detach().float()

    def batch_decode(self, batch_heatmaps: Tensor,
                     batch_tags: Tensor) -> DecodeResult:
        """Decode a batch into persons.

        Args:
            batch_heatmaps: ``(B, K, H, W)``. Cells are scaled to input
                pixels by the fixed ratio ``input_size / heatmap_size``
                (UDP: ``(input_size - 1) / (heatmap_size - 1)``), not by
                the size of the maps given: a test image resized to keep
                its aspect ratio has maps of another size but the same
                stride. To decode maps restored to the input size, build
                the decoder with ``heatmap_size=input_size`` (as the
                bottom-up configs do with ``restore_heatmap_size``).
            batch_tags: ``(B, L * K, H, W)`` (channel ``l * K + k`` holds
                tag component ``l`` of keypoint ``k``; flip testing stacks
                two such blocks, L = 2), or ``(B, L, H, W)`` with one tag
                for all keypoints, which is assumed whenever the channel
                count is not a multiple of K.

        Returns:
            Three lists of length B: keypoints float32 ``(N, K, 2)`` in
            input pixels, keypoint scores ``(N, K)`` and instance scores
            ``(N,)`` (the mean score of the keypoints found before
            filling).

        Raises:
            ValueError: wrong shapes (see above) or non-finite candidates.
        """
        heatmaps, tags = self._check_outputs(batch_heatmaps, batch_tags)
        b, k, h, w = heatmaps.shape
        order = self.decode_keypoint_order or list(range(k))
        heatmaps_np = heatmaps.cpu().numpy()
        tags_np = tags.cpu().numpy()
        # Sparse peak search where the maps allow it; the dense torch path
        # otherwise and for tied scores (torch.topk fixes their order).
        peaks = find_peaks(heatmaps_np, self.decode_nms_kernel)
        candidates = None if peaks is None else topk_from_peaks(
            heatmaps_np, tags_np, peaks, self.decode_topk,
            self.decode_keypoint_thr)
        if candidates is None:
            if peaks is None:
                nms = batch_heatmap_nms(heatmaps, self.decode_nms_kernel)
                candidates = tuple(t.cpu().numpy() for t in
                                   batch_topk_candidates(nms, tags,
                                                         self.decode_topk))
            else:
                candidates = topk_of_peak_map(heatmaps_np, peaks, tags_np,
                                              self.decode_topk)
        vals, cand_tags, locs = candidates
        scale = self.scale_factor
        results: DecodeResult = ([], [], [])
        for i in range(b):
            groups = group_keypoints_by_tags(
                vals[i], cand_tags[i], locs[i], order,
                self.decode_keypoint_thr, self.decode_tag_thr,
                self.decode_max_instances)
            keypoints, scores = self._finish(groups, heatmaps_np[i],
                                             tags_np[i])
            results[0].append(keypoints * scale)
            results[1].append(scores)
            results[2].append(groups[..., 2].mean(-1) if len(groups) else
                              np.zeros(0, np.float32))
        return results

    def _finish(self, groups: np.ndarray, heatmaps: np.ndarray,
                tags: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Refine, shift and fill grouped keypoints ``(N, K, 3)``; returns
        keypoints ``(N, K, 2)`` in cells and scores ``(N, K)``."""
        keypoints, scores = groups[..., :2], groups[..., 2]
        if not len(groups):
            return keypoints.copy(), scores.copy()
        if self.use_udp:
            keypoints = refine_keypoints_dark_udp(
                keypoints, heatmaps, self.decode_gaussian_kernel)
        else:
            keypoints = refine_keypoints(keypoints, heatmaps)
        if self.decode_center_shift:
            keypoints += np.float32(self.decode_center_shift) * (
                scores > 0)[..., None]
        return fill_missing_keypoints(keypoints, scores, heatmaps, tags)

    def decode(self, heatmaps: Any, tags: Any
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode one sample: heatmaps ``(K, H, W)`` and tags ``(C, H, W)``
        (see :meth:`batch_decode`). Returns keypoints ``(N, K, 2)`` in input
        pixels, keypoint scores ``(N, K)`` and instance scores ``(N,)``.

        Raises:
            ValueError: the inputs are not 3-D, or as in
                :meth:`batch_decode`.
        """
        maps = [v if isinstance(v, Tensor) else torch.as_tensor(
            np.asarray(v)) for v in (heatmaps, tags)]
        for name, value in zip(('heatmaps', 'tags'), maps):
            if value.dim() != 3:
                raise ValueError(
                    f'AssociativeEmbedding.decode: {name} must have shape '
                    f'(C, H, W) for one sample (use batch_decode for a '
                    f'batch), got {tuple(value.shape)}')
        keypoints, scores, instance_scores = self.batch_decode(
            maps[0][None], maps[1][None])
        return keypoints[0], scores[0], instance_scores[0]


__all__ = ['AssociativeEmbedding']
