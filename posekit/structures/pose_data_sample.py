"""PoseDataSample: the per-image record that flows from data to metrics."""
from typing import Union

from mmengine.structures import BaseDataElement, InstanceData, PixelData


class PoseDataSample(BaseDataElement):
    """Annotations and predictions of one image (or one top-down crop).

    Fields (all optional):
        gt_instances (InstanceData): ground truth per instance, e.g.
            ``bboxes`` (N, 4) xyxy, ``keypoints`` (N, K, 2),
            ``keypoints_visible`` (N, K), ``bbox_scales`` (N, 2).
        gt_instance_labels (InstanceData): training targets per instance,
            e.g. ``keypoint_weights`` (N, K) as tensors.
        gt_fields (PixelData): dense targets, e.g. ``heatmaps`` (K, H, W).
        pred_instances (InstanceData): predictions, e.g. ``keypoints``
            (N, K, 2) in original-image pixels and ``keypoint_scores``.
        pred_fields (PixelData): dense predictions, e.g. ``heatmaps``.
    Meta information (``img_shape``, ``input_center``, ...) lives in
    ``metainfo``.
    """

    def _field(name: str, kind: type):  # noqa: N805 - property factory

        def getter(self):
            return getattr(self, f'_{name}')

        def setter(self, value):
            self.set_field(value, f'_{name}', dtype=kind)

        def deleter(self):
            del self[f'_{name}']

        return property(getter, setter, deleter)

    gt_instances = _field('gt_instances', InstanceData)
    gt_instance_labels = _field('gt_instance_labels', InstanceData)
    pred_instances = _field('pred_instances', InstanceData)
    gt_fields = _field('gt_fields', (PixelData, BaseDataElement))
    pred_fields = _field('pred_fields', (PixelData, BaseDataElement))
    del _field


SampleList = list
OptSampleList = Union[list, None]
