"""FeatureMapProcessor: pick, concatenate and rescale backbone feature maps
so that a head built for one map can read any backbone output."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from posekit.registry import MODELS


@MODELS.register_module()
class FeatureMapProcessor(nn.Module):
    """Select, concatenate, activate and rescale feature maps.

    Applied in this order to a sequence of ``(B, C_i, H_i, W_i)`` maps:
    keep those at ``select_index``; with ``concat``, resize them (bilinear)
    to the first kept map's size and concatenate along channels into one
    map; optionally ReLU; optionally resize by ``scale_factor``. Returns a
    list of maps. A single tensor input skips selection and concatenation
    and comes back as a tensor.

    Args:
        select_index: index or indices (negative allowed) of the maps to
            keep; None keeps all.
        concat: concatenate the kept maps into one.
        scale_factor: resize factor (> 0) of every output map.
        apply_relu: apply ReLU to the maps.
        align_corners: ``align_corners`` of the bilinear resizing.

    Raises:
        ValueError: ``scale_factor`` is not positive.
        TypeError: ``select_index`` is not None, an int or ints.
    """

    def __init__(self, select_index: Optional[Union[int, Tuple[int, ...]]]
                 = None, concat: bool = False, scale_factor: float = 1.0,
                 apply_relu: bool = False, align_corners: bool = False):
        super().__init__()
        if isinstance(select_index, int):
            select_index = (select_index, )
        if select_index is not None:
            if not all(isinstance(i, int) for i in select_index):
                raise TypeError('FeatureMapProcessor select_index must be '
                                'None, an int or a sequence of ints, got '
                                f'{select_index!r}')
            select_index = tuple(select_index)
        if not scale_factor > 0:
            raise ValueError('FeatureMapProcessor scale_factor must be '
                             f'positive, got {scale_factor}')
        self.select_index = select_index
        self.concat = concat
        self.scale_factor = scale_factor
        self.apply_relu = apply_relu
        self.align_corners = align_corners

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]
                ) -> Union[Tensor, List[Tensor]]:
        """Processed maps (a list; a tensor for a tensor input).

        Raises:
            IndexError: ``select_index`` names a map that is not there.
        """
        if isinstance(inputs, Tensor):
            return self._activate_and_rescale([inputs])[0]
        feats = list(inputs)
        if self.select_index is not None:
            bad = [i for i in self.select_index
                   if not -len(feats) <= i < len(feats)]
            if bad:
                raise IndexError(
                    f'FeatureMapProcessor select_index {self.select_index} '
                    f'names maps {bad}, but only {len(feats)} came in '
                    f'(valid: {-len(feats)}..{len(feats) - 1})')
            feats = [feats[i] for i in self.select_index]
        if self.concat:
            size = feats[0].shape[-2:]
            feats = [torch.cat([self._resize(f, size=size) for f in feats],
                               dim=1)]
        return self._activate_and_rescale(feats)

    def _activate_and_rescale(self, feats: List[Tensor]) -> List[Tensor]:
        if self.apply_relu:
            feats = [F.relu(f) for f in feats]
        if self.scale_factor != 1.0:
            feats = [self._resize(f, scale_factor=self.scale_factor)
                     for f in feats]
        return feats

    def _resize(self, x: Tensor, **kwargs) -> Tensor:
        # resizing to the size a map already has is the identity
        if kwargs.get('size') is not None and \
                tuple(kwargs['size']) == tuple(x.shape[-2:]):
            return x
        return F.interpolate(x, mode='bilinear',
                             align_corners=self.align_corners, **kwargs)
