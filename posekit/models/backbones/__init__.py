"""Backbones."""
from .base_backbone import BaseBackbone
from .hrnet import HRNet
from .resnet import ResNet, ResNetV1d
from .sctnet import SCTNet
from .tcn import TCN

__all__ = ['BaseBackbone', 'HRNet', 'ResNet', 'ResNetV1d',
           'SCTNet', 'TCN']
