"""Temporal convolutional network of VideoPose3D (Pavllo et al., CVPR 2019):
2D keypoint sequences ``(B, K * C, T)`` -> temporal features."""
import copy
from typing import Sequence, Tuple

from mmcv.cnn import ConvModule, build_conv_layer
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptMultiConfig
from .base_backbone import BaseBackbone


class BasicTemporalBlock(nn.Module):
    """Dilated (or strided) temporal conv + 1x1 conv, each with BN, ReLU and
    dropout, plus a residual path cropped to the output frames.

    With ``use_stride_conv`` the kernel strides by its own width instead of
    dilating: for a window of exactly the receptive field this computes
    the same single output frame with the same weights, skipping frames
    nobody uses.

    Args:
        in_channels / out_channels / mid_channels: channel counts.
        kernel_size: temporal kernel width (odd).
        dilation: spacing of the dilated kernel (ignored with strides).
        dropout: dropout rate after each conv.
        causal: shift the kernel so output frame t sees only frames <= t.
        residual: add the cropped input to the output.
        use_stride_conv: strided instead of dilated convolution.
        conv_cfg / norm_cfg: mmcv layer configs.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 mid_channels: int = 1024, kernel_size: int = 3,
                 dilation: int = 3, dropout: float = 0.25,
                 causal: bool = False, residual: bool = True,
                 use_stride_conv: bool = False,
                 conv_cfg: ConfigType = dict(type='Conv1d'),
                 norm_cfg: ConfigType = dict(type='BN1d')):
        super().__init__()
        conv_cfg = copy.deepcopy(conv_cfg)
        norm_cfg = copy.deepcopy(norm_cfg)
        self.kernel_size = kernel_size
        self.residual = residual
        self.use_stride_conv = use_stride_conv
        self.causal = causal
        # frames lost on each side of a dilated kernel
        self.pad = (kernel_size - 1) * dilation // 2
        if use_stride_conv:
            self.stride, self.dilation = kernel_size, 1
            self.causal_shift = kernel_size // 2 if causal else 0
        else:
            self.stride, self.dilation = 1, dilation
            self.causal_shift = kernel_size // 2 * dilation if causal else 0
        self.conv1 = nn.Sequential(
            ConvModule(in_channels, mid_channels, kernel_size=kernel_size,
                       stride=self.stride, dilation=self.dilation,
                       bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg),
            nn.Dropout(dropout))
        self.conv2 = nn.Sequential(
            ConvModule(mid_channels, out_channels, kernel_size=1,
                       bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg),
            nn.Dropout(dropout))
        self.short_cut = build_conv_layer(
            conv_cfg, in_channels, out_channels, 1) \
            if residual and in_channels != out_channels else None

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, T)`` -> ``(B, out_channels, T')``.

        Raises:
            ValueError: ``T`` is too short for the kernel.
        """
        frames = x.shape[2]
        need = (self.kernel_size if self.use_stride_conv
                else 2 * self.pad + 1)
        if frames < need:
            raise ValueError(f'TCN block with kernel {self.kernel_size} '
                             f'needs at least {need} frames, got {frames}; '
                             'the input sequence is shorter than the '
                             'receptive field')
        out = self.conv2(self.conv1(x))
        if not self.residual:
            return out
        if self.use_stride_conv:
            start = self.causal_shift + self.kernel_size // 2
            res = x[:, :, start::self.kernel_size][:, :, :out.shape[2]]
        else:
            start = self.pad + self.causal_shift
            res = x[:, :, start:start + out.shape[2]]
        if self.short_cut is not None:
            res = self.short_cut(res)
        return out + res


@MODELS.register_module()
class TCN(BaseBackbone):
    """VideoPose3D temporal convolutional network.

    An expand conv (kernel ``kernel_sizes[0]``) lifts ``in_channels`` (=
    K * C of the flattened 2D keypoints) to ``stem_channels``; then
    ``num_blocks`` :class:`BasicTemporalBlock` s whose dilations grow by
    the product of the previous kernels. The receptive field is
    ``prod(kernel_sizes)`` frames: a window of that length gives one output
    frame (3,3,3 -> 27; 3,3,3,3,3 -> 243; 1,1,1 -> single-frame lifting).

    Args:
        in_channels: channels of the input sequence (K * C).
        stem_channels: feature channels. Defaults to 1024.
        num_blocks: number of temporal blocks (= len(kernel_sizes) - 1).
        kernel_sizes: odd kernel widths of the expand conv and each block.
        dropout: dropout rate.
        causal: causal convolutions (output frame sees only the past).
        residual: residual connections in the blocks.
        use_stride_conv: strided convolutions for windows of exactly the
            receptive field (weights are interchangeable with dilated).
        conv_cfg / norm_cfg: mmcv layer configs.
        init_cfg: mmengine initialisation config; defaults to Kaiming
            (fan-in) convs and constant-1 batch norms.

    Raises:
        ValueError: ``num_blocks != len(kernel_sizes) - 1`` or an even
            kernel size.

    Output: a tuple of ``num_blocks`` features ``(B, stem_channels,
    T_i)``, one per block.
    """

    def __init__(self, in_channels: int, stem_channels: int = 1024,
                 num_blocks: int = 2,
                 kernel_sizes: Sequence[int] = (3, 3, 3),
                 dropout: float = 0.25, causal: bool = False,
                 residual: bool = True, use_stride_conv: bool = False,
                 conv_cfg: ConfigType = dict(type='Conv1d'),
                 norm_cfg: ConfigType = dict(type='BN1d'),
                 init_cfg: OptMultiConfig = None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', mode='fan_in', nonlinearity='relu',
                     layer=['Conv1d']),
                dict(type='Constant', val=1, layer=['_BatchNorm']),
            ]
        super().__init__(init_cfg=init_cfg)
        kernel_sizes = tuple(kernel_sizes)
        if num_blocks != len(kernel_sizes) - 1:
            raise ValueError(f'TCN: num_blocks ({num_blocks}) must equal '
                             f'len(kernel_sizes) - 1 (kernel_sizes='
                             f'{kernel_sizes})')
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f'TCN: kernel_sizes must be odd, got '
                             f'{kernel_sizes}')
        self.in_channels = in_channels
        self.stem_channels = stem_channels
        self.num_blocks = num_blocks
        self.kernel_sizes = kernel_sizes
        self.causal = causal
        self.use_stride_conv = use_stride_conv
        self.expand_conv = ConvModule(
            in_channels, stem_channels, kernel_size=kernel_sizes[0],
            stride=kernel_sizes[0] if use_stride_conv else 1, bias=False,
            conv_cfg=copy.deepcopy(conv_cfg),
            norm_cfg=copy.deepcopy(norm_cfg))
        self.tcn_blocks = nn.ModuleList()
        dilation = kernel_sizes[0]
        for k in kernel_sizes[1:]:
            self.tcn_blocks.append(BasicTemporalBlock(
                stem_channels, stem_channels, mid_channels=stem_channels,
                kernel_size=k, dilation=dilation, dropout=dropout,
                causal=causal, residual=residual,
                use_stride_conv=use_stride_conv, conv_cfg=conv_cfg,
                norm_cfg=norm_cfg))
            dilation *= k

    @property
    def receptive_field(self) -> int:
        """Input frames that one output frame depends on."""
        field = 1
        for k in self.kernel_sizes:
            field *= k
        return field

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """``(B, in_channels, T)`` -> one ``(B, stem_channels, T_i)`` per
        block.

        Raises:
            ValueError: ``x`` is not ``(B, in_channels, T)``.
        """
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f'TCN expects (B, {self.in_channels}, T) '
                             f'inputs (in_channels = K * C), got '
                             f'{tuple(x.shape)}')
        x = self.expand_conv(x)
        outs = []
        for block in self.tcn_blocks:
            x = block(x)
            outs.append(x)
        return tuple(outs)
