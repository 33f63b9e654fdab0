"""Data transforms: one concept per module, all registered in TRANSFORMS."""
from .bbox_center_scale import GetBBoxCenterScale
from .bbox_transform import RandomBBoxTransform
from .bottomup_affine import BottomupRandomAffine
from .bottomup_resize import BottomupResize
from .flip import RandomFlip
from .formatting import PackPoseInputs
from .generate_target import GenerateTarget
from .half_body import RandomHalfBody
from .heatmap_mask import BottomupGetHeatmapMask
from .loading import LoadImage
from .pose3d_transforms import RandomFlipAroundRoot
from .required_keys import MissingKeyError, check_required_keys
from .topdown_affine import TopdownAffine

__all__ = [
    'LoadImage', 'GetBBoxCenterScale', 'RandomFlip', 'RandomHalfBody',
    'RandomBBoxTransform', 'TopdownAffine', 'GenerateTarget',
    'PackPoseInputs', 'MissingKeyError', 'check_required_keys',
    'RandomFlipAroundRoot', 'BottomupRandomAffine', 'BottomupResize',
    'BottomupGetHeatmapMask'
]
