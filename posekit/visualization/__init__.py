from .drawing import color_table, draw_boxes, draw_discs, draw_segments
from .heatmap import (collapse_heatmaps, heatmap_to_image, overlay_heatmap,
                      paste_heatmaps)
from .image_utils import check_image, read_rgb_image, write_image
from .local_visualizer import PoseLocalVisualizer
from .merge import merge_for_drawing

__all__ = ['PoseLocalVisualizer', 'check_image', 'read_rgb_image',
           'write_image',
           'color_table', 'draw_boxes', 'draw_discs', 'draw_segments',
           'collapse_heatmaps', 'heatmap_to_image', 'overlay_heatmap',
           'paste_heatmaps', 'merge_for_drawing']
