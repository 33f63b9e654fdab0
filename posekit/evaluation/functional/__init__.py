"""Array-level evaluation helpers: OKS, NMS, keypoint accuracy, COCO eval."""
from .keypoint_cocoeval import KeypointCOCOeval
from .keypoint_eval import (keypoint_auc, keypoint_epe, keypoint_nme,
                            keypoint_pck_accuracy)
from .mpjpe import keypoint_mpjpe, procrustes_align
from .nms import (batched_oks_nms, batched_soft_oks_nms, oks_iou, oks_nms,
                  soft_oks_nms)
from .transforms import transform_ann, transform_pred, transform_sigmas

__all__ = [
    'KeypointCOCOeval', 'keypoint_auc', 'keypoint_epe', 'keypoint_nme',
    'keypoint_pck_accuracy', 'keypoint_mpjpe', 'procrustes_align', 'batched_oks_nms', 'batched_soft_oks_nms',
    'oks_iou', 'oks_nms', 'soft_oks_nms', 'transform_ann', 'transform_pred',
    'transform_sigmas'
]
