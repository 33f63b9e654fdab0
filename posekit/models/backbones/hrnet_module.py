"""The multi-resolution module of HRNet (Sun et al., 2019): parallel
residual branches, one per resolution, followed by an exchange ("fuse")
where every output branch sums the resampled features of all branches.

Module names (``branches.<b>.<block>``, ``fuse_layers.<i>.<j>``) are those
of MMPose, so its HRNet checkpoints load as they are.
"""
import copy
from typing import List, Optional, Sequence, Type

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from posekit.utils.typing import ConfigType, OptConfigType
from .resnet import ResLayer, get_expansion


class HRModule(BaseModule):
    """``num_branches`` parallel branches, branch ``b`` at ``1 / 2**b`` of
    the first branch's resolution, then the exchange.

    Args:
        num_branches: number of parallel branches.
        blocks: residual block class of every branch.
        num_blocks: blocks per branch.
        in_channels: input channels per branch.
        num_channels: middle channels per branch; a branch outputs
            ``num_channels[b] * block.expansion`` channels.
        multiscale_output: output every branch; False outputs only the
            highest-resolution one.
        with_cp: gradient checkpointing in the blocks.
        conv_cfg / norm_cfg: mmcv layer configs.
        upsample_cfg: ``mode`` (and ``align_corners``) of the upsampling
            that brings a lower-resolution branch to a higher one.

    Raises:
        ValueError: ``num_blocks``, ``in_channels`` or ``num_channels`` has
            not ``num_branches`` entries.
    """

    def __init__(self, num_branches: int, blocks: Type[nn.Module],
                 num_blocks: Sequence[int], in_channels: Sequence[int],
                 num_channels: Sequence[int], multiscale_output: bool = False,
                 with_cp: bool = False, conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 upsample_cfg: ConfigType = dict(mode='nearest',
                                                 align_corners=None),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('num_blocks', num_blocks),
                            ('in_channels', in_channels),
                            ('num_channels', num_channels)):
            if len(value) != num_branches:
                raise ValueError(f'HRModule: {name} {tuple(value)} needs '
                                 f'num_branches={num_branches} entries')
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = copy.deepcopy(norm_cfg)
        self.upsample_cfg = dict(upsample_cfg)
        expansion = get_expansion(blocks)
        self.in_channels = list(in_channels)
        # what each branch outputs, hence what the exchange works on
        self.out_channels = [c * expansion for c in num_channels]
        self.branches = nn.ModuleList([
            ResLayer(blocks, num_blocks[b], self.in_channels[b],
                     self.out_channels[b], with_cp=with_cp,
                     conv_cfg=conv_cfg, norm_cfg=self.norm_cfg)
            for b in range(num_branches)])
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self) -> Optional[nn.ModuleList]:
        """``fuse_layers[i][j]`` brings branch ``j`` to branch ``i``'s
        resolution and width: 1x1 conv + norm + upsampling for a lower
        resolution (j > i), None for the branch itself, and ``i - j``
        stride-2 3x3 convs for a higher resolution (j < i)."""
        if self.num_branches == 1:
            return None
        chans = self.out_channels
        num_out = self.num_branches if self.multiscale_output else 1
        fuse_layers = []
        for i in range(num_out):
            row: List[Optional[nn.Module]] = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(
                        self._conv(chans[j], chans[i], 1, 1, 0),
                        build_norm_layer(self.norm_cfg, chans[i])[1],
                        nn.Upsample(
                            scale_factor=2**(j - i),
                            mode=self.upsample_cfg.get('mode', 'nearest'),
                            align_corners=self.upsample_cfg.get(
                                'align_corners'))))
                elif j == i:
                    row.append(None)
                else:
                    row.append(self._downsampler(chans[j], chans[i], i - j))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def _conv(self, cin: int, cout: int, kernel: int, stride: int,
              padding: int) -> nn.Module:
        return build_conv_layer(self.conv_cfg, cin, cout,
                                kernel_size=kernel, stride=stride,
                                padding=padding, bias=False)

    def _downsampler(self, cin: int, cout: int, steps: int) -> nn.Sequential:
        """``steps`` stride-2 3x3 convs; the intermediate ones keep ``cin``
        channels and end with ReLU, the last maps to ``cout`` without one
        (the ReLU comes after the sum)."""
        parts = []
        for k in range(steps):
            last = k == steps - 1
            width = cout if last else cin
            layers = [self._conv(cin, width, 3, 2, 1),
                      build_norm_layer(self.norm_cfg, width)[1]]
            if not last:
                layers.append(nn.ReLU(inplace=True))
            parts.append(nn.Sequential(*layers))
        return nn.Sequential(*parts)

    def forward(self, x: List[Tensor]) -> List[Tensor]:
        """Run the branches on ``x`` (one ``(B, C_b, H / 2**b, W / 2**b)``
        tensor per branch) and exchange; returns one tensor per output
        branch.

        Raises:
            ValueError: the number of inputs is not ``num_branches``, or a
                resampled branch does not match its target's size (the
                input height and width must be divisible by
                ``2**(num_branches + 1)``; 32 for the usual four-branch
                stage).
        """
        if len(x) != self.num_branches:
            raise ValueError(f'HRModule with {self.num_branches} branches '
                             f'got {len(x)} inputs')
        x = [branch(xb) for branch, xb in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        outs = []
        for i, row in enumerate(self.fuse_layers):
            total = x[i]
            for j, layer in enumerate(row):
                if layer is None:
                    continue
                y = layer(x[j])
                if y.shape[-2:] != total.shape[-2:]:
                    raise ValueError(
                        f'HRNet cannot fuse branch {j} '
                        f'({tuple(x[j].shape[-2:])}) into branch {i} '
                        f'({tuple(x[i].shape[-2:])}): the input height and '
                        f'width must be divisible by '
                        f'{2**(self.num_branches + 1)} '
                        '(e.g. 256x192, not 64x48)')
                total = total + y
            outs.append(self.relu(total))
        return outs
