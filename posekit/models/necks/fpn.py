"""Feature Pyramid Network neck (Lin et al., 2017)."""
from typing import List, Sequence, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import xavier_init
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType

_EXTRA_SOURCES = ('on_input', 'on_lateral', 'on_output')


@MODELS.register_module()
class FPN(nn.Module):
    """FPN: lateral 1x1 convs bring backbone levels ``start_level`` ..
    ``end_level`` to ``out_channels``, a top-down pass adds each upsampled
    coarser level to the finer one, and a 3x3 conv smooths each sum.
    Extra coarser outputs (``num_outs`` beyond the used levels) come from
    stride-2 max pooling, or from stride-2 3x3 convs with
    ``add_extra_convs``.

    Args:
        in_channels: channels of every backbone output (one per level).
        out_channels: channels of every output.
        num_outs: number of outputs.
        start_level: first backbone level used.
        end_level: last backbone level used (inclusive); -1 for the last.
        add_extra_convs: False (max pooling), True (= 'on_input') or where
            the first extra conv reads from: 'on_input' (the last used
            backbone level), 'on_lateral' (its lateral) or 'on_output'
            (the last output).
        relu_before_extra_convs: ReLU before the second and later extra
            convs.
        no_norm_on_lateral: no normalisation in the lateral convs.
        conv_cfg / norm_cfg / act_cfg: mmcv layer configs (None: plain
            convs with bias and no activation).
        upsample_cfg: ``F.interpolate`` arguments of the top-down pass;
            without ``scale_factor`` the coarse map is resized to the
            finer one's size.

    Raises:
        TypeError: ``in_channels`` is not a list/tuple of ints.
        ValueError: inconsistent levels, ``num_outs`` or
            ``add_extra_convs``.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int,
                 num_outs: int, start_level: int = 0, end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False,
                 no_norm_on_lateral: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: OptConfigType = None,
                 upsample_cfg: ConfigType = dict(mode='nearest')):
        super().__init__()
        if not isinstance(in_channels, (list, tuple)) or \
                not all(isinstance(c, int) for c in in_channels):
            raise TypeError('FPN in_channels must be a list of ints, one per '
                            f'backbone output, got {in_channels!r}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(upsample_cfg)
        if not 0 <= start_level < self.num_ins:
            raise ValueError(f'FPN start_level must be in 0..'
                             f'{self.num_ins - 1}, got {start_level}')
        if end_level in (-1, self.num_ins - 1):
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(
                    f'FPN num_outs={num_outs} is fewer than the '
                    f'{self.num_ins - start_level} levels used '
                    f'(start_level={start_level}, end_level=-1)')
        else:
            if not start_level <= end_level < self.num_ins:
                raise ValueError(f'FPN end_level must be -1 or in '
                                 f'{start_level}..{self.num_ins - 1}, got '
                                 f'{end_level}')
            if num_outs != end_level - start_level + 1:
                raise ValueError(
                    f'FPN num_outs must be end_level - start_level + 1 = '
                    f'{end_level - start_level + 1} when end_level is not '
                    f'the last level (no extra levels), got {num_outs}')
            self.backbone_end_level = end_level + 1
        self.start_level = start_level
        self.end_level = end_level
        if add_extra_convs is True:
            add_extra_convs = 'on_input'
        if add_extra_convs is not False and \
                add_extra_convs not in _EXTRA_SOURCES:
            raise ValueError(f'FPN add_extra_convs must be a bool or one of '
                             f'{_EXTRA_SOURCES}, got {add_extra_convs!r}')
        self.add_extra_convs = add_extra_convs

        conv = dict(conv_cfg=conv_cfg, act_cfg=act_cfg, inplace=False)
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(
                in_channels[i], out_channels, 1,
                norm_cfg=None if no_norm_on_lateral else norm_cfg, **conv))
            self.fpn_convs.append(ConvModule(
                out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg,
                **conv))
        num_extra = num_outs - self.backbone_end_level + start_level
        if add_extra_convs:
            for i in range(num_extra):
                cin = (in_channels[self.backbone_end_level - 1]
                       if i == 0 and add_extra_convs == 'on_input'
                       else out_channels)
                self.fpn_convs.append(ConvModule(
                    cin, out_channels, 3, stride=2, padding=1,
                    norm_cfg=norm_cfg, **conv))

    def init_weights(self) -> None:
        """Xavier-uniform initialisation of every convolution."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                xavier_init(m, distribution='uniform')

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """``num_outs`` maps of ``out_channels`` channels, finest first,
        from one ``(B, in_channels[i], H_i, W_i)`` map per level.

        Raises:
            ValueError: the number of inputs is not ``len(in_channels)``.
        """
        if len(inputs) != self.num_ins:
            raise ValueError(f'FPN was built for {self.num_ins} inputs '
                             f'(in_channels={self.in_channels}), got '
                             f'{len(inputs)}')
        laterals = [conv(inputs[self.start_level + i])
                    for i, conv in enumerate(self.lateral_convs)]
        # top-down: coarse to fine, each sum feeding the next finer level
        for i in range(len(laterals) - 1, 0, -1):
            if 'scale_factor' in self.upsample_cfg:
                up = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                up = F.interpolate(laterals[i],
                                   size=laterals[i - 1].shape[-2:],
                                   **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + up
        used = len(laterals)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > used:
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                source = {
                    'on_input': inputs[self.backbone_end_level - 1],
                    'on_lateral': laterals[-1],
                    'on_output': outs[-1],
                }[self.add_extra_convs]
                outs.append(self.fpn_convs[used](source))
                for i in range(used + 1, self.num_outs):
                    x = outs[-1]
                    if self.relu_before_extra_convs:
                        x = F.relu(x)
                    outs.append(self.fpn_convs[i](x))
        return outs
