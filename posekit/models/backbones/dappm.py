"""Deep Aggregation Pyramid Pooling Module (DAPPM, from DDRNet) as used by
SCTNet: context pooled at four scales, merged hierarchically, compressed
and added to a shortcut.

Module names (``scale0``..``scale4``, ``process1``..``process4``,
``compression``, ``shortcut``) are the published model's.
"""
from typing import List

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from posekit.utils.typing import ConfigType


def _bn_relu_conv(norm_cfg: ConfigType, in_channels: int, out_channels: int,
                  kernel_size: int) -> List[nn.Module]:
    return [build_norm_layer(norm_cfg, in_channels)[1], nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, kernel_size,
                      padding=kernel_size // 2)]


def _batch_norm_sees_one_value(norm: nn.Module, batch_size: int) -> bool:
    """True when ``norm`` would normalise a 1x1 map over one sample only
    (training mode, and not synchronised over several processes)."""
    if batch_size > 1 or not norm.training:
        return False
    if isinstance(norm, nn.SyncBatchNorm) and dist.is_available() and \
            dist.is_initialized() and dist.get_world_size() > 1:
        return False
    return isinstance(norm, nn.modules.batchnorm._BatchNorm)


class DAPPM(nn.Module):
    """``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    ``y0 = scale0(x)``; ``y_k = process_k(up(scale_k(x)) + y_{k-1})`` for
    k = 1..4, where scale1..4 average-pool x (5/2, 9/4, 17/8 kernel/stride,
    then global) before [BN, ReLU, 1x1 conv]; the output is
    ``compression(cat(y0..y4)) + shortcut(x)``. Upsampling is bilinear
    with ``align_corners=False``.

    Args:
        in_channels: channels of x.
        inter_channels: channels of each pyramid level (``spp_channels``).
        out_channels: output channels.
        norm_cfg: config of the norm layers.

    Raises (forward):
        ValueError: training with a batch of one sample, which the batch
            norm after the global pooling cannot normalise.
    """

    def __init__(self, in_channels: int, inter_channels: int,
                 out_channels: int, norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        pools = [nn.AvgPool2d(5, stride=2, padding=2),
                 nn.AvgPool2d(9, stride=4, padding=4),
                 nn.AvgPool2d(17, stride=8, padding=8),
                 nn.AdaptiveAvgPool2d((1, 1))]
        self.scale0 = nn.Sequential(
            *_bn_relu_conv(norm_cfg, in_channels, inter_channels, 1))
        for k, pool in enumerate(pools, start=1):
            self.add_module(f'scale{k}', nn.Sequential(
                pool, *_bn_relu_conv(norm_cfg, in_channels, inter_channels,
                                     1)))
            self.add_module(f'process{k}', nn.Sequential(
                *_bn_relu_conv(norm_cfg, inter_channels, inter_channels, 3)))
        self.compression = nn.Sequential(
            *_bn_relu_conv(norm_cfg, inter_channels * 5, out_channels, 1))
        self.shortcut = nn.Sequential(
            *_bn_relu_conv(norm_cfg, in_channels, out_channels, 1))

    def _check_batch(self, x: Tensor) -> None:
        # scale4 pools to 1x1, so its BN would see one value per channel
        if _batch_norm_sees_one_value(self.scale4[1], x.shape[0]):
            raise ValueError(
                'SCTNet cannot train on a batch of 1: its DAPPM (spp.scale4) '
                'pools the feature map to 1x1 before a BatchNorm, which then '
                'sees a single value per channel. Use a batch of at least 2 '
                '(train_dataloader.batch_size), or keep the batch norms '
                'frozen with model.backbone.norm_eval=True, or train on '
                "several GPUs with norm_cfg=dict(type='SyncBN') so the "
                'statistics span the whole batch')

    def forward(self, x: Tensor) -> Tensor:
        self._check_batch(x)
        size = x.shape[2:]
        levels = [self.scale0(x)]
        for k in range(1, 5):
            pooled = getattr(self, f'scale{k}')(x)
            up = F.interpolate(pooled, size=size, mode='bilinear',
                               align_corners=False)
            levels.append(getattr(self, f'process{k}')(up + levels[-1]))
        return self.compression(torch.cat(levels, dim=1)) + \
            self.shortcut(x)
