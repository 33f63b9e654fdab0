"""HRNet backbone (Sun et al., "Deep High-Resolution Representation
Learning for Human Pose Estimation", 2019).

A stride-4 stem, a residual stage at 1/4 (``layer1``), then stages 2-4
that keep a high-resolution branch and add one lower-resolution branch
each (``transition1..3``), exchanging information between branches in
every :class:`HRModule`. Module names and config arguments are MMPose's,
so its configs and checkpoints (e.g. ``hrnet_w32-36af842e.pth``) work as
they are.
"""
import copy
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from .base_backbone import BaseBackbone
from .hrnet_module import HRModule
from .resnet import (BasicBlock, Bottleneck, ResLayer, get_expansion,
                     is_pretrained, zero_init_residual_norms)

_STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks',
               'num_channels')
_STEM_CHANNELS = 64


def _check_extra(extra: dict, blocks: dict) -> None:
    """Validate HRNet's ``extra`` dict, naming the offending key.

    Raises:
        TypeError: ``extra`` or a stage is not a dict.
        KeyError: a stage or a stage key is missing.
        ValueError: unknown block, or per-branch lists of the wrong length.
    """
    if not isinstance(extra, dict):
        raise TypeError(f'HRNet extra must be a dict with stage1..stage4, '
                        f'got {type(extra).__name__}')
    for s in range(1, 5):
        name = f'stage{s}'
        if name not in extra:
            raise KeyError(f'HRNet extra.{name} is missing; extra needs '
                           'stage1..stage4 dicts')
        stage = extra[name]
        if not isinstance(stage, dict):
            raise TypeError(f'HRNet extra.{name} must be a dict, got '
                            f'{type(stage).__name__}')
        missing = [k for k in _STAGE_KEYS if k not in stage]
        if missing:
            raise KeyError(f'HRNet extra.{name} lacks {missing}; each stage '
                           f'needs {list(_STAGE_KEYS)}')
        if stage['block'] not in blocks:
            raise ValueError(f"HRNet extra.{name}.block must be one of "
                             f"{sorted(blocks)}, got {stage['block']!r}")
        n = stage['num_branches']
        if s == 1:
            # stage 1 is a single residual branch; only entry 0 is used
            if not stage['num_blocks'] or not stage['num_channels']:
                raise ValueError('HRNet extra.stage1 needs num_blocks and '
                                 'num_channels with one entry each')
            prev = 1
            continue
        if not isinstance(n, int) or n < prev:
            raise ValueError(f'HRNet extra.{name}.num_branches must be an '
                             f'int >= {prev} (a transition only adds '
                             f'branches), got {n!r}')
        prev = n
        for key in ('num_blocks', 'num_channels'):
            if len(stage[key]) != n:
                raise ValueError(f'HRNet extra.{name}.{key} '
                                 f'{tuple(stage[key])} needs num_branches='
                                 f'{n} entries')


@MODELS.register_module()
class HRNet(BaseBackbone):
    """HRNet: ``(B, in_channels, H, W)`` -> a tuple of the last stage's
    branch outputs. With ``extra.stage4.multiscale_output=False`` (the
    default) that is one tensor, the highest-resolution branch
    ``(B, stage4.num_channels[0] * expansion, H / 4, W / 4)``; with True,
    all four branches (``H / 4`` .. ``H / 32``).

    Args:
        extra: ``stage1``..``stage4`` dicts of ``num_modules``,
            ``num_branches`` (1, 2, 3, 4), ``block`` ('BASIC' or
            'BOTTLENECK'), ``num_blocks`` and ``num_channels`` (one per
            branch); ``stage4`` may set ``multiscale_output``. Optional
            ``upsample``: ``dict(mode, align_corners)`` of the exchange's
            upsampling (default nearest).
        in_channels: channels of the input image.
        conv_cfg / norm_cfg: mmcv layer configs.
        norm_eval: keep batch norms in eval mode while training.
        with_cp: gradient checkpointing in the blocks.
        zero_init_residual: zero the last norm of every block at init
            (skipped when loading pretrained weights).
        frozen_stages: freeze (no grad, eval mode) the stem (0), then also
            ``layer1`` + ``transition1`` (1), ``stage2`` + ``transition2``
            (2), ``stage3`` + ``transition3`` (3), ``stage4`` (4); -1
            freezes nothing.
        init_cfg: mmengine initialisation config; defaults to N(0, 0.001)
            convs and unit norms.

    Raises:
        TypeError / KeyError / ValueError: a malformed ``extra`` (the
            message names the key), or ``frozen_stages`` outside -1..4.
    """

    blocks_dict = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}

    def __init__(self, extra: dict, in_channels: int = 3,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 norm_eval: bool = False, with_cp: bool = False,
                 zero_init_residual: bool = False, frozen_stages: int = -1,
                 init_cfg: OptMultiConfig = [
                     dict(type='Normal', std=0.001, layer=['Conv2d']),
                     dict(type='Constant', val=1,
                          layer=['_BatchNorm', 'GroupNorm'])
                 ]):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        _check_extra(extra, self.blocks_dict)
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'HRNet frozen_stages must be in -1..4, got '
                             f'{frozen_stages}')
        self.extra = extra
        self.conv_cfg = conv_cfg
        self.norm_cfg = copy.deepcopy(norm_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.frozen_stages = frozen_stages
        self.upsample_cfg = dict(extra.get(
            'upsample', dict(mode='nearest', align_corners=None)))

        # stem: two stride-2 3x3 convs (1/4)
        self.conv1 = self._conv(in_channels, _STEM_CHANNELS, 3, 2)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg,
                                                  _STEM_CHANNELS, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = self._conv(_STEM_CHANNELS, _STEM_CHANNELS, 3, 2)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg,
                                                  _STEM_CHANNELS, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        # stage 1: a single residual branch
        self.stage1_cfg = extra['stage1']
        block = self.blocks_dict[self.stage1_cfg['block']]
        channels = [self.stage1_cfg['num_channels'][0] *
                    get_expansion(block)]
        self.layer1 = ResLayer(block, self.stage1_cfg['num_blocks'][0],
                               _STEM_CHANNELS, channels[0], with_cp=with_cp,
                               conv_cfg=conv_cfg, norm_cfg=self.norm_cfg)

        # stages 2-4, each preceded by a transition adding one branch
        for s in (2, 3, 4):
            cfg = extra[f'stage{s}']
            setattr(self, f'stage{s}_cfg', cfg)
            block = self.blocks_dict[cfg['block']]
            wanted = [c * get_expansion(block) for c in cfg['num_channels']]
            self.add_module(f'transition{s - 1}',
                            self._make_transition_layer(channels, wanted))
            multiscale = cfg.get('multiscale_output', False) if s == 4 \
                else True
            stage, channels = self._make_stage(cfg, wanted, multiscale)
            self.add_module(f'stage{s}', stage)
        self.out_channels = channels
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _conv(self, cin: int, cout: int, kernel: int,
              stride: int) -> nn.Module:
        return build_conv_layer(self.conv_cfg, cin, cout,
                                kernel_size=kernel, stride=stride,
                                padding=kernel // 2, bias=False)

    def _conv_norm_relu(self, cin: int, cout: int,
                        stride: int) -> nn.Sequential:
        return nn.Sequential(self._conv(cin, cout, 3, stride),
                             build_norm_layer(self.norm_cfg, cout)[1],
                             nn.ReLU(inplace=True))

    def _make_transition_layer(self, pre: Sequence[int],
                               cur: Sequence[int]) -> nn.ModuleList:
        """Entry ``i`` adapts branch ``i`` to ``cur[i]`` channels: None
        when the width is unchanged, a 3x3 conv when it changes, and for a
        new branch a chain of stride-2 3x3 convs from the lowest-resolution
        existing branch (intermediate convs keep its width)."""
        layers: List[Optional[nn.Module]] = []
        for i, cout in enumerate(cur):
            if i < len(pre):
                layers.append(None if cout == pre[i] else
                              self._conv_norm_relu(pre[i], cout, 1))
                continue
            steps = i + 1 - len(pre)
            cin = pre[-1]
            layers.append(nn.Sequential(*[
                self._conv_norm_relu(cin, cout if k == steps - 1 else cin, 2)
                for k in range(steps)]))
        return nn.ModuleList(layers)

    def _make_stage(self, cfg: dict, in_channels: List[int],
                    multiscale_output: bool
                    ) -> Tuple[nn.Sequential, List[int]]:
        """``num_modules`` HRModules; only the last one may drop the
        lower-resolution outputs."""
        modules = []
        block = self.blocks_dict[cfg['block']]
        for m in range(cfg['num_modules']):
            last = m == cfg['num_modules'] - 1
            module = HRModule(
                cfg['num_branches'], block, cfg['num_blocks'], in_channels,
                cfg['num_channels'],
                multiscale_output=multiscale_output or not last,
                with_cp=self.with_cp, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg, upsample_cfg=self.upsample_cfg)
            modules.append(module)
            in_channels = module.out_channels
        if not multiscale_output:
            in_channels = in_channels[:1]
        return nn.Sequential(*modules), in_channels

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen: List[nn.Module] = [self.conv1, self.norm1, self.conv2,
                                   self.norm2]
        for s in range(1, self.frozen_stages + 1):
            frozen.append(self.layer1 if s == 1 else
                          getattr(self, f'stage{s}'))
            if s < 4:
                frozen.append(getattr(self, f'transition{s}'))
        self.freeze(frozen)

    def init_weights(self) -> None:
        """Initialise from ``init_cfg``; then zero the last norm of each
        block unless weights come from a pretrained checkpoint."""
        super().init_weights()
        if self.zero_init_residual and not is_pretrained(self.init_cfg):
            zero_init_residual_norms(self)

    @staticmethod
    def _transit(transition: nn.ModuleList,
                 feats: List[Tensor]) -> List[Tensor]:
        """Inputs of the next stage: existing branches (adapted when their
        width changes) and new branches from the lowest resolution."""
        out = []
        for i, layer in enumerate(transition):
            src = feats[i] if i < len(feats) else feats[-1]
            out.append(src if layer is None else layer(src))
        return out

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Last-stage branch outputs for ``x (B, C, H, W)``; see the class
        docstring for their shapes."""
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        feats = [self.layer1(x)]
        for s in (2, 3, 4):
            feats = self._transit(getattr(self, f'transition{s - 1}'), feats)
            feats = getattr(self, f'stage{s}')(feats)
        return tuple(feats)

    def train(self, mode: bool = True) -> 'HRNet':
        """Set training mode, keeping frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self
