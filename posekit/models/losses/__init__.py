"""Losses."""
from .ae_loss import AssociativeEmbeddingLoss
from .alignment_loss import AlignmentLoss
from .classification_loss import BCELoss, JSDiscretLoss, KLDiscretLoss
from .heatmap_loss import KeypointMSELoss, KeypointOHKMMSELoss
from .loss_wrappers import MultipleLossWrapper
from .pose3d_loss import BoneLoss, MPJPELoss
from .realnvp import RealNVP
from .regression_loss import L1Loss, MSELoss, RLELoss, SmoothL1Loss

__all__ = ['AssociativeEmbeddingLoss', 'AlignmentLoss', 'KeypointMSELoss',
           'KeypointOHKMMSELoss', 'RLELoss', 'SmoothL1Loss', 'L1Loss', 'MSELoss', 'BCELoss',
           'JSDiscretLoss', 'KLDiscretLoss', 'MultipleLossWrapper', 'RealNVP',
           'MPJPELoss', 'BoneLoss']
