"""Helpers shared by keypoint codecs: target generation, arg-max and
sub-pixel refinement, bottom-up peak picking and tag grouping."""
from .ae_grouping import (fill_missing_keypoints, group_keypoints_by_tags,
                          mean_tags)
from .gaussian_heatmap import (generate_gaussian_heatmaps,
                               generate_udp_gaussian_heatmaps,
                               generate_unbiased_gaussian_heatmaps)
from .heatmap_nms import batch_heatmap_nms, batch_topk_candidates
from .offset_heatmap import generate_offset_heatmap
from .post_processing import (blur_cells, blur_reflect, blur_with_rescale,
                              gaussian_blur, get_heatmap_maximum)
from .refinement import (refine_keypoints, refine_keypoints_dark,
                         refine_keypoints_dark_udp)
from .simcc import (gaussian_blur1d, get_simcc_maximum, get_simcc_normalized,
                    refine_simcc_dark, simcc_blur_kernel_size)

__all__ = [
    'generate_gaussian_heatmaps', 'generate_udp_gaussian_heatmaps',
    'generate_unbiased_gaussian_heatmaps', 'generate_offset_heatmap',
    'get_heatmap_maximum', 'gaussian_blur', 'blur_with_rescale',
    'blur_reflect', 'blur_cells', 'refine_keypoints', 'refine_keypoints_dark',
    'refine_keypoints_dark_udp', 'get_simcc_maximum', 'get_simcc_normalized',
    'gaussian_blur1d', 'refine_simcc_dark', 'simcc_blur_kernel_size',
    'batch_heatmap_nms', 'batch_topk_candidates', 'group_keypoints_by_tags',
    'fill_missing_keypoints', 'mean_tags'
]
