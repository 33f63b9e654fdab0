"""ResNet backbones (He et al., 2016) and the ResNetV1d variant.

Module names follow torchvision/MMPose (``conv1``, ``bn1``, ``layer1``..,
blocks with ``conv1``/``bn1``/..., ``downsample.0/1``) so their checkpoints
load as they are.
"""
import copy
from typing import Optional, Sequence, Tuple, Type

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmengine.model import constant_init
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from .base_backbone import BaseBackbone


class _Block(nn.Module):
    """Shared plumbing of residual blocks: norm-layer naming, the identity
    branch and optional gradient checkpointing."""

    expansion = 1

    def _add_norm(self, norm_cfg: ConfigType, channels: int,
                  index: int) -> None:
        name, layer = build_norm_layer(norm_cfg, channels, postfix=index)
        setattr(self, f'norm{index}_name', name)
        self.add_module(name, layer)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        def inner(x: Tensor) -> Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self._residual(x)
            # In place, as the residual ends in a norm layer, whose backward
            # does not need its output: one pass over the activation less
            # (about 2% of a ResNet-50 training step on CPU).
            out += identity
            return out

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(inner, x, use_reentrant=False)
        else:
            out = inner(x)
        return self.relu(out)


class BasicBlock(_Block):
    """Two 3x3 convolutions; ``out_channels = mid_channels * expansion``."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int,
                 expansion: int = 1, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None,
                 style: str = 'pytorch', with_cp: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        if out_channels % expansion:
            raise ValueError(f'out_channels {out_channels} is not divisible '
                             f'by expansion {expansion}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expansion = expansion
        self.mid_channels = out_channels // expansion
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv1 = build_conv_layer(
            conv_cfg, in_channels, self.mid_channels, 3, stride=stride,
            padding=dilation, dilation=dilation, bias=False)
        self._add_norm(norm_cfg, self.mid_channels, 1)
        self.conv2 = build_conv_layer(
            conv_cfg, self.mid_channels, out_channels, 3, padding=1,
            bias=False)
        self._add_norm(norm_cfg, out_channels, 2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        return self.norm2(self.conv2(out))


class Bottleneck(_Block):
    """1x1 reduce, 3x3, 1x1 expand; ``mid_channels = out_channels //
    expansion``. With ``style='pytorch'`` the 3x3 conv carries the stride,
    with ``'caffe'`` the first 1x1 conv does."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int,
                 expansion: int = 4, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None,
                 style: str = 'pytorch', with_cp: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got "
                             f'{style!r}')
        if out_channels % expansion:
            raise ValueError(f'out_channels {out_channels} is not divisible '
                             f'by expansion {expansion}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expansion = expansion
        self.mid_channels = mid = out_channels // expansion
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv1_stride, self.conv2_stride = (
            (1, stride) if style == 'pytorch' else (stride, 1))
        self.conv1 = build_conv_layer(conv_cfg, in_channels, mid, 1,
                                      stride=self.conv1_stride, bias=False)
        self._add_norm(norm_cfg, mid, 1)
        self.conv2 = build_conv_layer(
            conv_cfg, mid, mid, 3, stride=self.conv2_stride,
            padding=dilation, dilation=dilation, bias=False)
        self._add_norm(norm_cfg, mid, 2)
        self.conv3 = build_conv_layer(conv_cfg, mid, out_channels, 1,
                                      bias=False)
        self._add_norm(norm_cfg, out_channels, 3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        return self.norm3(self.conv3(out))


def get_expansion(block: Type[nn.Module],
                  expansion: Optional[int] = None) -> int:
    """The channel expansion of ``block``: ``expansion`` when given, else
    the block's ``expansion`` attribute.

    Raises:
        TypeError: ``expansion`` is neither None nor a positive int.
    """
    if expansion is None:
        return block.expansion
    if not isinstance(expansion, int) or expansion < 1:
        raise TypeError(f'expansion must be a positive int or None, got '
                        f'{expansion!r}')
    return expansion


def zero_init_residual_norms(module: nn.Module) -> None:
    """Zero the last norm of every residual block inside ``module``, so
    each block starts as the identity (Goyal et al., 2017)."""
    for m in module.modules():
        if isinstance(m, Bottleneck):
            constant_init(m.norm3, 0)
        elif isinstance(m, BasicBlock):
            constant_init(m.norm2, 0)


def is_pretrained(init_cfg) -> bool:
    """Whether ``init_cfg`` loads weights from a checkpoint."""
    return isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'


class ResLayer(nn.Sequential):
    """A stage of ``num_blocks`` residual blocks; the first one changes the
    width/stride and gets a ``downsample`` branch (``avg_down``: average
    pooling then a stride-1 1x1 conv, else a strided 1x1 conv)."""

    def __init__(self, block: Type[_Block], num_blocks: int,
                 in_channels: int, out_channels: int,
                 expansion: Optional[int] = None, stride: int = 1,
                 avg_down: bool = False, conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'), **kwargs):
        self.block = block
        self.expansion = get_expansion(block, expansion)
        downsample = None
        if stride != 1 or in_channels != out_channels:
            parts = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                parts.append(nn.AvgPool2d(stride, stride, ceil_mode=True,
                                          count_include_pad=False))
            parts.append(build_conv_layer(conv_cfg, in_channels,
                                          out_channels, 1,
                                          stride=conv_stride, bias=False))
            parts.append(build_norm_layer(norm_cfg, out_channels)[1])
            downsample = nn.Sequential(*parts)
        common = dict(out_channels=out_channels, expansion=self.expansion,
                      conv_cfg=conv_cfg, norm_cfg=norm_cfg, **kwargs)
        blocks = [block(in_channels=in_channels, stride=stride,
                        downsample=downsample, **common)]
        blocks += [block(in_channels=out_channels, stride=1, **common)
                   for _ in range(1, num_blocks)]
        super().__init__(*blocks)


@MODELS.register_module()
class ResNet(BaseBackbone):
    """ResNet backbone returning the outputs of the stages in
    ``out_indices`` as a tuple of ``(B, C_i, H / s_i, W / s_i)`` tensors.

    Stage i has ``base_channels * expansion * 2**i`` output channels (for
    depth 50: 256, 512, 1024, 2048) and the stem reduces the input by 4.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: channels of the input image.
        stem_channels: output channels of the stem.
        base_channels: middle channels of the first stage.
        expansion: block expansion; None uses the block's own (1 or 4).
        num_stages: 1 to 4 stages.
        strides / dilations: per stage, of the first block.
        out_indices: stages whose outputs are returned (0-based).
        style: 'pytorch' (stride on the 3x3 conv) or 'caffe'.
        deep_stem: three 3x3 convs instead of the 7x7 stem conv.
        avg_down: average-pool in the downsample branch.
        frozen_stages: freeze (no grad, eval mode) the stem and stages
            1..frozen_stages; -1 freezes nothing.
        conv_cfg / norm_cfg: mmcv layer configs.
        norm_eval: keep batch norms in eval mode while training.
        with_cp: gradient checkpointing in the blocks.
        zero_init_residual: zero the last norm of every block at init
            (skipped when loading pretrained weights).
        init_cfg: mmengine initialisation config.

    Raises:
        ValueError: unsupported ``depth``, bad ``num_stages``,
            ``strides``/``dilations`` lengths, ``out_indices`` or
            ``frozen_stages``.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, in_channels: int = 3,
                 stem_channels: int = 64, base_channels: int = 64,
                 expansion: Optional[int] = None, num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (3, ), style: str = 'pytorch',
                 deep_stem: bool = False, avg_down: bool = False,
                 frozen_stages: int = -1, conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False, with_cp: bool = False,
                 zero_init_residual: bool = True,
                 init_cfg: OptMultiConfig = [
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1,
                          layer=['_BatchNorm', 'GroupNorm'])
                 ]):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        if depth not in self.arch_settings:
            raise ValueError(f'ResNet depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'num_stages must be 1..4, got {num_stages}')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f'strides {tuple(strides)} and dilations '
                             f'{tuple(dilations)} need num_stages='
                             f'{num_stages} entries each')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if not out_indices or any(not 0 <= i < num_stages
                                  for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)} must name '
                             f'stages in 0..{num_stages - 1}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in -1..{num_stages}, '
                             f'got {frozen_stages}')
        self.depth = depth
        self.stem_channels = stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = strides
        self.dilations = dilations
        self.out_indices = tuple(out_indices)
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = copy.deepcopy(norm_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.expansion = get_expansion(self.block, expansion)

        self._make_stem_layer(in_channels, stem_channels)
        self.res_layers = []
        cin, cout = stem_channels, base_channels * self.expansion
        for i, num_blocks in enumerate(self.stage_blocks):
            layer = self.make_res_layer(
                block=self.block, num_blocks=num_blocks, in_channels=cin,
                out_channels=cout, expansion=self.expansion,
                stride=strides[i], dilation=dilations[i], style=style,
                avg_down=avg_down, with_cp=with_cp, conv_cfg=conv_cfg,
                norm_cfg=self.norm_cfg)
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
            cin, cout = cout, cout * 2
        self.feat_dim = cin
        self._freeze_stages()

    def make_res_layer(self, **kwargs) -> nn.Module:
        """Build one stage (subclasses may use other layer types)."""
        return ResLayer(**kwargs)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        if self.deep_stem:
            half = stem_channels // 2
            conv = dict(kernel_size=3, padding=1, conv_cfg=self.conv_cfg,
                        norm_cfg=self.norm_cfg, inplace=True)
            self.stem = nn.Sequential(
                ConvModule(in_channels, half, stride=2, **conv),
                ConvModule(half, half, stride=1, **conv),
                ConvModule(half, stem_channels, stride=1, **conv))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels,
                                          stem_channels, 7, stride=2,
                                          padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(
                self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        frozen += [getattr(self, f'layer{i}')
                   for i in range(1, self.frozen_stages + 1)]
        self.freeze(frozen)

    def init_weights(self) -> None:
        """Initialise from ``init_cfg``; then zero the last norm of each
        block unless weights come from a pretrained checkpoint."""
        super().init_weights()
        if self.zero_init_residual and not is_pretrained(self.init_cfg):
            zero_init_residual_norms(self)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Stage outputs selected by ``out_indices`` for ``x (B, C, H, W)``."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'ResNet':
        """Set training mode, keeping frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet-D (He et al., "Bag of Tricks", 2019): deep 3x3 stem and
    average-pooling downsample branches."""

    def __init__(self, **kwargs):
        for key in ('deep_stem', 'avg_down'):
            if key in kwargs:
                raise TypeError(f'ResNetV1d fixes {key}=True; remove it from '
                                'the config')
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
