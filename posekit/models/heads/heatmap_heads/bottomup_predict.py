"""Test-time logic shared by the bottom-up (associative embedding) heads:
flip test, multi-scale merging, resizing to the input size and decoding
heatmaps + tags into grouped persons."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from posekit.utils.typing import ConfigType, InstanceList, Predictions
from ...utils.tta import flip_heatmaps

_TAG_MODES = ('base', 'concat')


def resize_maps(maps: Tensor, size_hw: Tuple[int, int],
                align_corners: bool = False) -> Tensor:
    """Bilinearly resize ``(B, C, H, W)`` maps to ``size_hw = (h, w)`` (the
    input when it already has that size)."""
    if tuple(maps.shape[-2:]) == tuple(size_hw):
        return maps
    return F.interpolate(maps, size=tuple(size_hw), mode='bilinear',
                         align_corners=align_corners)


def restore_size(batch_data_samples: Sequence) -> Tuple[int, int]:
    """``(h, w)`` of the network input shared by the batch: the
    preprocessor's ``batch_input_shape`` (the tensor actually fed, padding
    included), else ``input_size`` ``(w, h)``.

    Raises:
        KeyError: a sample has neither key.
        ValueError: the samples disagree.
    """
    sizes = set()
    for i, sample in enumerate(batch_data_samples or []):
        meta = sample.metainfo
        if 'batch_input_shape' in meta:
            sizes.add(tuple(int(v) for v in meta['batch_input_shape']))
        elif 'input_size' in meta:
            w, h = meta['input_size']
            sizes.add((int(h), int(w)))
        else:
            raise KeyError(f'restore_heatmap_size needs batch_input_shape '
                           f'or input_size in the metainfo of data sample '
                           f'{i}; add input_size to PackPoseInputs\' '
                           'meta_keys')
    if len(sizes) != 1:
        raise ValueError('restore_heatmap_size needs one input size for the '
                         f'whole batch, got (h, w) sizes {sorted(sizes)}')
    return sizes.pop()


class BottomupPredictMixin:
    """``predict`` and ``decode`` for heads whose outputs are keypoint
    heatmaps plus associative-embedding tags.

    The head provides :meth:`predict_maps` (one feature tuple ->
    ``(heatmaps (B, K, h, w), tags (B, T, h, w))``) and the attributes
    ``num_keypoints``, ``tag_dim``, ``tag_per_keypoint`` and ``decoder``
    (a codec with ``batch_decode(heatmaps, tags)`` or ``decode``
    returning keypoints, keypoint scores and instance scores).
    """

    num_keypoints: int
    tag_dim: int
    tag_per_keypoint: bool

    def predict_maps(self, feats: Tuple[Tensor, ...],
                     align_corners: bool = False) -> Tuple[Tensor, Tensor]:
        """``(heatmaps (B, K, h, w), tags (B, T, h, w))`` of one feature
        tuple; ``align_corners`` is for any resizing inside the head."""
        raise NotImplementedError

    def per_keypoint_tags(self, tags: Tensor) -> Tensor:
        """Tags with channel ``l * K + k`` for every keypoint: a tag
        shared by all keypoints (``tag_per_keypoint=False``) is repeated per
        keypoint, so ``(B, L, H, W)`` becomes ``(B, L * K, H, W)``."""
        if self.tag_per_keypoint:
            return tags
        return tags.repeat_interleave(self.num_keypoints, dim=1)

    def flip_tags(self, tags: Tensor, flip_indices: Sequence[int],
                  shift_heatmap: bool = False) -> Tensor:
        """Map tags ``(B, T, H, W)`` predicted on a mirrored input back:
        mirror them and, with a tag per keypoint (channel ``l * K + k``),
        swap left/right keypoints through ``flip_indices``."""
        b, c, h, w = tags.shape
        if not self.tag_per_keypoint:
            return flip_heatmaps(tags, None, shift_heatmap=shift_heatmap)
        k = self.num_keypoints
        flipped = flip_heatmaps(tags.reshape(b * (c // k), k, h, w),
                                flip_indices, shift_heatmap=shift_heatmap)
        return flipped.reshape(b, c, h, w)

    def _scale_maps(self, feats, flip: bool, test_cfg: ConfigType,
                    flip_indices: Optional[Sequence[int]],
                    size_hw: Optional[Tuple[int, int]]
                    ) -> Tuple[Tensor, Tensor]:
        """Heatmaps and tags of one scale (flip-merged), resized to
        ``size_hw`` when given."""
        shift = test_cfg.get('shift_heatmap', False)
        align = test_cfg.get('align_corners', False)
        if not flip:
            heatmaps, tags = self.predict_maps(feats, align)
            if size_hw is not None:
                heatmaps = resize_maps(heatmaps, size_hw, align)
                tags = resize_maps(tags, size_hw, align)
            return heatmaps, tags
        if not (isinstance(feats, list) and len(feats) == 2):
            raise ValueError('flip_test needs the features of each scale as '
                             '[feats, flipped_feats] (a list of two)')
        heatmaps, tags = self.predict_maps(feats[0], align)
        heatmaps_f, tags_f = self.predict_maps(feats[1], align)
        heatmaps_f = flip_heatmaps(heatmaps_f, flip_indices,
                                   shift_heatmap=shift)
        tags_f = self.flip_tags(tags_f, flip_indices, shift)
        size_hw = size_hw or tuple(heatmaps.shape[-2:])
        heatmaps = (resize_maps(heatmaps, size_hw, align) +
                    resize_maps(heatmaps_f, size_hw, align)) * 0.5
        # both tag sets go to the grouping, which then compares tags of
        # twice the dimension (as MMPose does)
        tags = torch.cat([resize_maps(tags, size_hw, align),
                          resize_maps(tags_f, size_hw, align)], dim=1)
        return heatmaps, tags

    def predict(self, feats, batch_data_samples,
                test_cfg: ConfigType = {}) -> Predictions:
        """Grouped persons in input pixels, one InstanceData per sample
        (``keypoints (N, K, 2)``, ``keypoint_scores (N, K)``,
        ``bbox_scores (N,)`` = instance scores).

        ``feats`` is a feature tuple; with ``flip_test`` a list
        ``[feats, feats_of_the_mirrored_input]``; with ``multiscale_test``
        a list over scales (base scale first) of either.

        test_cfg keys: ``flip_test`` (mirrored heatmaps are averaged, tags
        concatenated), ``shift_heatmap``, ``multiscale_test`` (heatmaps of
        every scale resized to the base scale's and averaged),
        ``multiscale_tags`` (``'base'``, the default and MMPose 1.x's: tags
        of the base scale only; ``'concat'``: tags of all scales,
        resized, concatenated as in the official HigherHRNet),
        ``restore_heatmap_size`` (resize everything to the network input
        size, see :func:`restore_size`, before decoding),
        ``align_corners`` (of the resizing),
        ``output_heatmaps`` (also return ``PixelData(heatmaps, tags)``
        per sample).

        Raises:
            ValueError: ``feats`` does not match the flip/multiscale flags,
                or an unknown ``multiscale_tags``.
            KeyError: flip test without ``flip_indices`` in the metainfo.
        """
        flip = test_cfg.get('flip_test', False)
        tag_mode = test_cfg.get('multiscale_tags', 'base')
        if tag_mode not in _TAG_MODES:
            raise ValueError(f'test_cfg.multiscale_tags must be one of '
                             f'{_TAG_MODES}, got {tag_mode!r}')
        if test_cfg.get('multiscale_test', False):
            if not isinstance(feats, list) or not feats:
                raise ValueError('multiscale_test needs a list of features, '
                                 'one entry per scale')
            scales = feats
        else:
            scales = [feats]
        flip_indices = None
        if flip:
            meta = batch_data_samples[0].metainfo if batch_data_samples \
                else {}
            if 'flip_indices' not in meta:
                raise KeyError('flip_test needs flip_indices in the data '
                               "samples' metainfo (add it to PackPoseInputs' "
                               'meta_keys)')
            flip_indices = meta['flip_indices']
        size_hw = restore_size(batch_data_samples) \
            if test_cfg.get('restore_heatmap_size', False) else None

        heatmaps, tags = [], []
        for scale_feats in scales:
            h, t = self._scale_maps(scale_feats, flip, test_cfg,
                                    flip_indices, size_hw)
            # later scales are brought to the base scale's size
            size_hw = tuple(h.shape[-2:])
            heatmaps.append(h)
            tags.append(t)
        align = test_cfg.get('align_corners', False)
        batch_heatmaps = torch.stack(
            [resize_maps(h, size_hw, align) for h in heatmaps]).mean(dim=0)
        if tag_mode == 'concat':
            batch_tags = torch.cat(
                [resize_maps(t, size_hw, align) for t in tags], dim=1)
        else:
            batch_tags = tags[0]
        preds = self.decode((batch_heatmaps, batch_tags))
        if test_cfg.get('output_heatmaps', False):
            fields = [PixelData(heatmaps=h, tags=t) for h, t in zip(
                batch_heatmaps.detach(), batch_tags.detach())]
            return preds, fields
        return preds

    def decode(self, batch_outputs: Tuple[Tensor, Tensor]) -> InstanceList:
        """Group ``(heatmaps (B, K, H, W), tags (B, T, H, W))`` into
        persons with :attr:`decoder`: one ``InstanceData(keypoints (N, K,
        2), keypoint_scores (N, K), bbox_scores (N,))`` per sample, in the
        decoder's input pixels. The decoder always gets tags with one
        (possibly repeated) tag per keypoint, channel ``l * K + k``.

        Raises:
            ValueError: the head has no decoder.
        """
        if self.decoder is None:
            raise ValueError(
                f'{type(self).__name__} has no decoder, so it cannot group '
                'keypoints: add decoder=dict(type=\'AssociativeEmbedding\', '
                '...) to the head config')
        heatmaps, tags = batch_outputs
        tags = self.per_keypoint_tags(tags)
        if hasattr(self.decoder, 'batch_decode'):
            keypoints, scores, instance_scores = self.decoder.batch_decode(
                heatmaps, tags)
        else:
            keypoints, scores, instance_scores = [], [], []
            for h, t in zip(heatmaps.detach().float().cpu().numpy(),
                            tags.detach().float().cpu().numpy()):
                kpts, score, inst = self.decoder.decode(h, t)
                keypoints.append(kpts)
                scores.append(score)
                instance_scores.append(inst)
        preds: List[InstanceData] = []
        for kpts, score, inst in zip(keypoints, scores, instance_scores):
            preds.append(InstanceData(
                keypoints=np.asarray(kpts, dtype=np.float32),
                keypoint_scores=np.asarray(score, dtype=np.float32),
                bbox_scores=np.asarray(inst, dtype=np.float32)))
        return preds
