from .transforms import (bbox_cs2xywh, bbox_cs2xyxy, bbox_xywh2cs,
                         bbox_xywh2xyxy, bbox_xyxy2cs, bbox_xyxy2xywh,
                         fix_aspect_ratio, flip_bbox, get_udp_warp_matrix,
                         get_warp_matrix, transform_points)

__all__ = [
    'bbox_cs2xywh', 'bbox_cs2xyxy', 'bbox_xywh2cs', 'bbox_xywh2xyxy',
    'bbox_xyxy2cs', 'bbox_xyxy2xywh', 'fix_aspect_ratio', 'flip_bbox',
    'get_udp_warp_matrix', 'get_warp_matrix', 'transform_points'
]
