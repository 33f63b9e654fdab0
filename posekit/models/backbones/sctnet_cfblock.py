"""SCTNet's conv-former block (CFBlock): a convolutional stand-in for a
transformer block, built from an attention-like mixing of two learned
separable kernels and a convolutional MLP.

Module and parameter names (``attn_l.{norm,kv,kv3}``,
``mlp_l.{norm,conv1,conv2}``) are the published model's, so its weights
load unchanged.
"""
import copy

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.drop import DropPath
from mmengine.model.weight_init import kaiming_init
from torch import Tensor, nn

from posekit.utils.typing import ConfigType


class ConvolutionalAttention(nn.Module):
    """Attention computed with two fixed-size learned kernels.

    ``(B, C, H, W) -> (B, C, H, W)``: BN, then for each kernel (``kv``
    7x1 and ``kv3`` 1x7, ``inter_channels x C``, no bias): project to
    ``inter_channels``, normalise each head's channels with a softmax over
    the HxW positions followed by a division by the head's channel sum,
    and project back with the transposed kernel. The two branches are
    summed; there is no output projection.

    Args:
        in_channels: channels C of the input (and output).
        inter_channels: channels of the attention maps (64 published).
        num_heads: heads the attention channels are split into.
        norm_cfg: config of the input norm layer.

    Raises:
        ValueError: ``inter_channels`` is not divisible by ``num_heads``.
    """

    def __init__(self, in_channels: int, inter_channels: int = 64,
                 num_heads: int = 8,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        if inter_channels % num_heads:
            raise ValueError(f'inter_channels ({inter_channels}) must be a '
                             f'multiple of num_heads ({num_heads})')
        self.in_channels = in_channels
        self.inter_channels = inter_channels
        self.num_heads = num_heads
        self.norm = build_norm_layer(norm_cfg, in_channels)[1]
        # zero at start, as in the published model: the block begins as an
        # identity on its residual path
        self.kv = nn.Parameter(torch.zeros(inter_channels, in_channels, 7, 1))
        self.kv3 = nn.Parameter(torch.zeros(inter_channels, in_channels, 1,
                                            7))

    def _normalise(self, x: Tensor) -> Tensor:
        """Softmax over positions, then divide by each head's channel sum
        (``(B, inter, H, W)`` in and out)."""
        b, c, h, w = x.shape
        x = x.reshape(b, self.num_heads, c // self.num_heads, h * w)
        x = F.softmax(x, dim=3)
        x = x / (x.sum(dim=2, keepdim=True) + 1e-6)
        return x.reshape(b, c, h, w)

    def _branch(self, x: Tensor, kernel: Tensor, padding: tuple) -> Tensor:
        attn = self._normalise(F.conv2d(x, kernel, padding=padding))
        return F.conv2d(attn, kernel.transpose(0, 1), padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(x)
        return (self._branch(x, self.kv, (3, 0))
                + self._branch(x, self.kv3, (0, 3)))


class ConvMLP(nn.Module):
    """BN (eps 1e-6), Conv3x3, GELU, Dropout, Conv3x3, Dropout;
    ``(B, C, H, W) -> (B, C, H, W)``."""

    def __init__(self, channels: int, drop_rate: float = 0.,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        norm_cfg = copy.deepcopy(dict(norm_cfg))
        norm_cfg['eps'] = 1e-6
        self.norm = build_norm_layer(norm_cfg, channels)[1]
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.drop = nn.Dropout(drop_rate)
        for conv in (self.conv1, self.conv2):
            kaiming_init(conv)

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(self.act(self.conv1(self.norm(x))))
        return self.drop(self.conv2(x))


class CFBlock(nn.Module):
    """``x + DropPath(attn_l(x))``, then ``x + DropPath(mlp_l(x))``;
    keeps the shape ``(B, C, H, W)``.

    Args:
        channels: C.
        num_heads: attention heads (8 published).
        inter_channels: attention channels (64 published).
        drop_rate: dropout inside the MLP.
        drop_path_rate: probability of dropping each residual branch.
        norm_cfg: config of the norm layers.
    """

    def __init__(self, channels: int, num_heads: int = 8,
                 inter_channels: int = 64, drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        self.attn_l = ConvolutionalAttention(channels, inter_channels,
                                             num_heads, norm_cfg)
        self.mlp_l = ConvMLP(channels, drop_rate, norm_cfg)
        self.drop_path = DropPath(drop_path_rate) \
            if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn_l(x))
        return x + self.drop_path(self.mlp_l(x))
