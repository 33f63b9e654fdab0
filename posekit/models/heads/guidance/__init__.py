"""Training-only guidance heads and their teachers."""
from .mit import MixVisionTransformer, build_mit
from .segformer_head import SegformerHead
from .vit_guidance_head import VitGuidanceHead

__all__ = ['MixVisionTransformer', 'SegformerHead', 'VitGuidanceHead',
           'build_mit']
