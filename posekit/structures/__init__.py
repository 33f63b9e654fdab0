from .bbox import (bbox_cs2xywh, bbox_cs2xyxy, bbox_xywh2cs, bbox_xywh2xyxy,
                   bbox_xyxy2cs, bbox_xyxy2xywh, fix_aspect_ratio, flip_bbox,
                   get_udp_warp_matrix, get_warp_matrix, transform_points)
from .keypoint import flip_indices_from_pairs, flip_keypoints
from .multilevel_pixel_data import MultilevelPixelData
from .pose_data_sample import OptSampleList, PoseDataSample, SampleList
from .utils import merge_data_samples

__all__ = [
    'PoseDataSample', 'MultilevelPixelData', 'SampleList', 'OptSampleList',
    'merge_data_samples',
    'bbox_cs2xywh', 'bbox_cs2xyxy', 'bbox_xywh2cs', 'bbox_xywh2xyxy',
    'bbox_xyxy2cs', 'bbox_xyxy2xywh', 'fix_aspect_ratio', 'flip_bbox',
    'get_udp_warp_matrix', 'get_warp_matrix', 'transform_points',
    'flip_keypoints', 'flip_indices_from_pairs'
]
