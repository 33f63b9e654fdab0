"""Merging per-instance data samples back into per-image samples."""
from typing import List

from mmengine.structures import InstanceData

from .pose_data_sample import PoseDataSample


def merge_data_samples(samples: List[PoseDataSample]) -> PoseDataSample:
    """Merge top-down samples of one image (one instance each) into one.

    Metainfo comes from the first sample; ``gt_instances`` and
    ``pred_instances`` are concatenated in order.
    """
    if not samples:
        raise ValueError('merge_data_samples needs at least one sample')
    merged = PoseDataSample(metainfo=samples[0].metainfo)
    for field in ('gt_instances', 'pred_instances'):
        parts = [s.get(field) for s in samples if s.get(field) is not None]
        if parts:
            merged.set_field(InstanceData.cat(parts), field)
    return merged


