"""SCTNet (Xu et al., "SCTNet: Single-Branch CNN with Transformer Semantic
Information for Real-Time Segmentation", AAAI 2024) as a pose backbone.

A single CNN branch: a ResNet-like stem and three stages of basic blocks
(1/4, 1/8, 1/16), conv-former blocks at 1/16 and 1/32, and a DAPPM
context module whose 1/32 output is upsampled and concatenated to the 1/8
features. Module names are those of the published model (``conv1``,
``layer1``..``layer5``, ``layer3_2``, ``convdown4``, ``spp``), so released
weights load unchanged.
"""
import copy
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import constant_init, kaiming_init
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptMultiConfig
from .base_backbone import BaseBackbone
from .dappm import DAPPM
from .sctnet_cfblock import CFBlock

# variant -> (base_channels, spp_channels)
ARCH_SETTINGS = {'S': (32, 64), 'B': (64, 128)}

# what each output index holds (c = base_channels), in output order
OUTPUT_NAMES = ('x2', 'x3', 'x5', 'x_out')


class SCTBasicBlock(nn.Module):
    """Conv3x3(stride)+BN+ReLU, Conv3x3+BN, plus the identity (or
    ``downsample``), then ReLU unless ``no_relu``. Convs have biases, as
    in the published model."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 no_relu: bool = False,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.no_relu = no_relu

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + identity
        return out if self.no_relu else self.relu(out)


@MODELS.register_module()
class SCTNet(BaseBackbone):
    """SCTNet backbone: ``(B, in_channels, H, W)`` -> a tuple of feature
    maps selected by ``out_indices`` and returned in index order.

    Output indices (c = ``base_channels``):

    ====  =======  ========  =====  ======================================
    idx   name     channels  scale  what
    ====  =======  ========  =====  ======================================
    0     x2       2c        1/8    ``layer2`` output
    1     x3       4c        1/16   ``layer3_2`` (conv-former) output
    2     x5       8c        1/32   ``layer5`` (conv-former) output
    3     x_out    4c        1/8    ``cat(x2, upsample(spp(x5)))``
    ====  =======  ========  =====  ======================================

    ``x_out``, the feature SCTNet's segmentation head reads, is last, so a
    head that reads ``feats[-1]`` (e.g. ``HeatmapHead``) gets it with any
    ``out_indices`` containing 3. The input image is never returned;
    auxiliary heads that need it receive it from the pose estimator.
    (The published model returned ``[x_out, x2, [img, [x_out, x5, x3]]]``.)

    Args:
        arch: ``'S'`` (base_channels 32, spp_channels 64) or ``'B'`` (64,
            128); None to give the channels directly (default: B's).
        base_channels: c, channels of the stem and ``layer1``.
        spp_channels: channels of each DAPPM pyramid level.
        in_channels: channels of the input image.
        layer_nums: basic blocks in ``layer1``..``layer3``.
        num_heads: heads of the conv-former attention.
        drop_rate: dropout inside the conv-former MLPs.
        drop_path_rate: drop-path probability of every conv-former block.
        out_indices: indices (see the table) of the returned features.
        norm_cfg: norm layers' config, ``dict(type='BN')`` or
            ``dict(type='SyncBN')``.
        norm_eval: keep every batch norm in eval mode while training.
        init_cfg: mmengine initialisation config, e.g. ``dict(type=
            'Pretrained', checkpoint=...)``; None for the published
            initialisation (Kaiming convs, unit norms, zero attention
            kernels).

    Raises:
        ValueError: an unknown ``arch``, ``arch`` contradicting explicit
            channels, ``layer_nums`` not three positive ints, or
            ``out_indices`` outside 0..3. In training, a batch of one
            sample (see :class:`DAPPM`).
    """

    def __init__(self, arch: Optional[str] = None,
                 base_channels: Optional[int] = None,
                 spp_channels: Optional[int] = None, in_channels: int = 3,
                 layer_nums: Sequence[int] = (2, 2, 2), num_heads: int = 8,
                 drop_rate: float = 0., drop_path_rate: float = 0.1,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 norm_cfg: ConfigType = dict(type='BN'),
                 norm_eval: bool = False, init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        c, spp = self._resolve_channels(arch, base_channels, spp_channels)
        if len(layer_nums) != 3 or any(int(n) < 1 for n in layer_nums):
            raise ValueError('layer_nums must be three positive block counts '
                             f'for layer1..layer3, got {tuple(layer_nums)}')
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if not out_indices or any(i not in range(4) for i in out_indices):
            raise ValueError(
                f'out_indices {tuple(out_indices)} must be a non-empty '
                f'subset of 0..3 ({dict(enumerate(OUTPUT_NAMES))})')
        self.arch = arch
        self.base_channels = c
        self.spp_channels = spp
        self.out_indices = tuple(sorted(set(out_indices)))
        self.norm_eval = norm_eval
        self.out_channels = tuple(
            (2 * c, 4 * c, 8 * c, 4 * c)[i] for i in self.out_indices)

        def bn(ch: int) -> nn.Module:
            return build_norm_layer(norm_cfg, ch)[1]

        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, stride=2, padding=1), bn(c),
            nn.ReLU(), nn.Conv2d(c, c, 3, stride=2, padding=1), bn(c),
            nn.ReLU())
        self.relu = nn.ReLU()
        self.layer1 = self._make_layer(c, c, layer_nums[0], 1, norm_cfg)
        self.layer2 = self._make_layer(c, 2 * c, layer_nums[1], 2, norm_cfg)
        self.layer3 = self._make_layer(2 * c, 4 * c, layer_nums[2], 2,
                                       norm_cfg)
        block = dict(num_heads=num_heads, drop_rate=drop_rate,
                     drop_path_rate=drop_path_rate, norm_cfg=norm_cfg)
        self.layer3_2 = CFBlock(4 * c, **block)
        self.convdown4 = nn.Sequential(
            nn.Conv2d(4 * c, 8 * c, 3, stride=2, padding=1), bn(8 * c),
            nn.ReLU())
        self.layer4 = CFBlock(8 * c, **block)
        self.layer5 = CFBlock(8 * c, **block)
        self.spp = DAPPM(8 * c, spp, 2 * c, norm_cfg)
        self._init_published()

    @staticmethod
    def _resolve_channels(arch: Optional[str], base_channels: Optional[int],
                          spp_channels: Optional[int]) -> Tuple[int, int]:
        if arch is None:
            default = ARCH_SETTINGS['B']
            return (base_channels or default[0], spp_channels or default[1])
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'SCTNet arch must be one of '
                             f'{sorted(ARCH_SETTINGS)}, got {arch!r}')
        c, spp = ARCH_SETTINGS[arch]
        for name, given, fixed in (('base_channels', base_channels, c),
                                   ('spp_channels', spp_channels, spp)):
            if given is not None and given != fixed:
                raise ValueError(f"SCTNet arch='{arch}' has {name}={fixed} "
                                 f'but {name}={given} was given; give one '
                                 'or the other')
        return c, spp

    @staticmethod
    def _make_layer(in_channels: int, out_channels: int, blocks: int,
                    stride: int, norm_cfg: ConfigType) -> nn.Sequential:
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride),
                build_norm_layer(norm_cfg, out_channels)[1])
        layers = [SCTBasicBlock(in_channels, out_channels, stride,
                                downsample, norm_cfg=norm_cfg)]
        for i in range(1, blocks):
            # the stage's last block leaves its output un-rectified; the
            # next stage applies the ReLU to its input instead
            layers.append(SCTBasicBlock(out_channels, out_channels,
                                        no_relu=i == blocks - 1,
                                        norm_cfg=norm_cfg))
        return nn.Sequential(*layers)

    def _init_published(self) -> None:
        """Kaiming (fan-out) convs with zero bias and unit norms outside
        the conv-former attention, whose kernels start at zero."""
        for part in (self.conv1, self.layer1, self.layer2, self.layer3,
                     self.convdown4, self.spp):
            for m in part.modules():
                if isinstance(m, nn.Conv2d):
                    kaiming_init(m)
                elif isinstance(m, _BatchNorm):
                    constant_init(m, 1, bias=0)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Features of ``x (B, C, H, W)`` at ``out_indices`` (see the class
        docstring); H and W should be multiples of 32."""
        x1 = self.layer1(self.conv1(x))
        x2 = self.layer2(self.relu(x1))
        x3 = self.layer3_2(self.relu(self.layer3(self.relu(x2))))
        x4 = self.layer4(self.relu(self.convdown4(x3)))
        x5 = self.layer5(self.relu(x4))
        feats = [x2, x3, x5]
        if 3 in self.out_indices:
            context = F.interpolate(self.spp(x5), size=x2.shape[2:],
                                    mode='bilinear', align_corners=False)
            feats.append(torch.cat([x2, context], dim=1))
        return tuple(feats[i] for i in self.out_indices)
