"""One drawable sample from the per-box samples of an image."""
from typing import Sequence, Tuple

from mmengine.structures import PixelData

from posekit.structures import PoseDataSample, merge_data_samples
from .heatmap import paste_heatmaps

__all__ = ['merge_for_drawing']


def merge_for_drawing(samples: Sequence[PoseDataSample],
                      image_shape: Tuple[int, int]) -> PoseDataSample:
    """Merge the samples of one image (one per top-down box, or the single
    bottom-up sample) into one whose ``pred_instances`` hold every
    instance and whose ``pred_fields.heatmaps`` (when the samples have
    heatmaps) is one ``(1, H, W)`` map of the original image of
    ``image_shape`` (H, W): each sample's heatmaps put in its crop region,
    overlaps keeping the maximum.

    Raises:
        ValueError: ``samples`` is empty.
    """
    merged = merge_data_samples(list(samples))
    heat = paste_heatmaps(samples, image_shape)
    if heat is not None:
        merged.pred_fields = PixelData(heatmaps=heat)
    return merged
