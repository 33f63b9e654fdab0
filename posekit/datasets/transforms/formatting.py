"""PackPoseInputs: turn the transformed sample into model inputs."""
from typing import List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData, PixelData

from posekit.registry import TRANSFORMS
from posekit.structures import MultilevelPixelData, PoseDataSample

from .required_keys import check_required_keys


def image_to_tensor(img: Union[np.ndarray, Sequence[np.ndarray]]
                    ) -> torch.Tensor:
    """(H, W, C) or (H, W) array -> contiguous (C, H, W) tensor of the same
    dtype; a sequence of images -> a stacked (B, C, H, W) tensor."""
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            img = img[..., None]
        if img.ndim != 3:
            raise ValueError(f'PackPoseInputs: img must be (H, W) or '
                             f'(H, W, C), got shape {img.shape}')
        return torch.from_numpy(np.ascontiguousarray(
            img.transpose(2, 0, 1)))
    if isinstance(img, (list, tuple)) and img:
        return torch.stack([image_to_tensor(i) for i in img])
    raise TypeError(f'PackPoseInputs: img must be a numpy array or a list '
                    f'of them, got {type(img).__name__}')


def keypoints_to_tensor(keypoints: Union[np.ndarray, Sequence[np.ndarray]]
                        ) -> torch.Tensor:
    """Keypoint array (any shape) -> contiguous float32 tensor; a list of
    arrays of one shape -> a stacked tensor."""
    if isinstance(keypoints, (list, tuple)):
        return torch.stack([keypoints_to_tensor(k) for k in keypoints])
    if isinstance(keypoints, torch.Tensor):
        return keypoints.float().contiguous()
    arr = np.asarray(keypoints)
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f'PackPoseInputs: keypoint inputs must be numeric, '
                        f'got dtype {arr.dtype}')
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def _per_instance(value):
    """InstanceData needs a leading instance axis; a scalar (one top-down
    instance's area, say) becomes a length-1 array."""
    if isinstance(value, np.ndarray):
        return value.reshape(1) if value.ndim == 0 else value
    if isinstance(value, (int, float, np.number)):
        return np.array([value])
    return value


@TRANSFORMS.register_module()
class PackPoseInputs(BaseTransform):
    """Pack the results into ``{'inputs': tensor, 'data_samples':
    PoseDataSample}``.

    - ``inputs``: ``img`` (H, W, C) -> (C, H, W) tensor of the same dtype
      (uint8 BGR from LoadImage), contiguous. A list of images (a
      multi-scale pyramid from ``BottomupResize(aug_scales=...)``, or any
      list of differently sized images) gives a list of (C, H_s, W_s)
      tensors, base scale first; a list of same-sized images without
      ``aug_scales`` is stacked. Pose-lifting samples have no
      ``img``: ``keypoint_labels`` (from a lifting codec, e.g. (K * D, T))
      become a float32 tensor, else ``keypoints`` when ``lifting_target``
      is present. Their ``lifting_target``/``lifting_target_visible`` and
      ``lifting_target_label``/``lifting_target_weight``/
      ``trajectory_weights`` are routed by the codec's mapping tables.
    - ``gt_instances`` (numpy, as the metrics read them): keys of
      ``instance_mapping_table``, e.g. ``bbox`` -> ``bboxes``,
      ``bbox_center`` -> ``bbox_centers``, ``area`` -> ``areas``; with
      ``pack_transformed`` also ``transformed_keypoints``.
    - ``gt_instance_labels`` (tensors): keys of ``label_mapping_table``,
      e.g. ``keypoint_weights``, ``keypoint_indices``; a list of labels
      (several encoders, or levels of GenerateTarget(multilevel=True)) is
      stacked on a new first axis, e.g. (L, N, K).
    - ``gt_fields``: keys of ``field_mapping_table``, e.g. ``heatmaps``,
      plus ``heatmap_mask`` (made by BottomupGetHeatmapMask, so packed
      even when a codec's table replaces the default). A PixelData of
      tensors ((h, w) maps get a channel axis); when the fields are lists
      (one map per level) a :class:`MultilevelPixelData`.
    - metainfo: the ``meta_keys`` present in the results (absent ones are
      skipped).
    A mapping table stored in the results by GenerateTarget (from the
    codec) replaces the class default of the same name, as in MMPose.

    Raises:
        MissingKeyError: neither ``img``, nor ``keypoint_labels``, nor
            ``keypoints`` with ``lifting_target`` is present.
        ValueError: some per-pixel fields are lists (multi-level) and
            others are not; multi-level fields whose levels disagree (see
            :class:`MultilevelPixelData`).
    """

    instance_mapping_table = dict(
        bbox='bboxes',
        bbox_score='bbox_scores',
        keypoints='keypoints',
        keypoints_cam='keypoints_cam',
        keypoints_visible='keypoints_visible',
        bbox_center='bbox_centers',
        bbox_scale='bbox_scales',
        area='areas',
        head_size='head_size',
    )
    field_mapping_table = dict(
        heatmaps='heatmaps',
        instance_heatmaps='instance_heatmaps',
        heatmap_mask='heatmap_mask',
        heatmap_weights='heatmap_weights',
        displacements='displacements',
        displacement_weights='displacement_weights',
    )
    # Per-pixel keys written by transforms rather than codecs: packed into
    # gt_fields even when a codec's field table replaces the default.
    transform_field_keys = ('heatmap_mask', )
    label_mapping_table = dict(
        keypoint_labels='keypoint_labels',
        keypoint_indices='keypoint_indices',
        keypoint_weights='keypoint_weights',
        keypoints_visible_weights='keypoints_visible_weights',
    )

    def __init__(self,
                 meta_keys: Sequence[str] = (
                     'id', 'img_id', 'img_path', 'category_id',
                     'crowd_index', 'ori_shape', 'img_shape', 'input_size',
                     'input_center', 'input_scale', 'flip',
                     'flip_direction', 'flip_indices', 'raw_ann_info',
                     'dataset_name', 'aug_scales'),
                 pack_transformed: bool = False) -> None:
        if isinstance(meta_keys, str) or not all(
                isinstance(k, str) for k in meta_keys):
            raise TypeError(f'PackPoseInputs: meta_keys must be a sequence '
                            f'of str, got {meta_keys!r}')
        self.meta_keys = tuple(meta_keys)
        self.pack_transformed = pack_transformed

    def _table(self, results: dict, name: str) -> Mapping[str, str]:
        table = results.get(name)
        return table if table else getattr(self, name)

    def _instances(self, results: dict) -> InstanceData:
        out = InstanceData()
        for key, packed in self._table(results,
                                       'instance_mapping_table').items():
            if results.get(key) is not None:
                out.set_field(_per_instance(results[key]), packed)
        if self.pack_transformed and \
                results.get('transformed_keypoints') is not None:
            out.set_field(results['transformed_keypoints'],
                          'transformed_keypoints')
        return out

    def _labels(self, results: dict) -> InstanceData:
        out = InstanceData()
        for key, packed in self._table(results,
                                       'label_mapping_table').items():
            value = results.get(key)
            if value is None:
                continue
            if isinstance(value, list):
                # One entry per encoder; they share a shape.
                value = np.stack(value)
            out.set_field(_per_instance(value), packed)
        return out.to_tensor()

    def _fields(self, results: dict
                ) -> Optional[Union[PixelData, MultilevelPixelData]]:
        table = dict(self._table(results, 'field_mapping_table'))
        # Masks come from transforms, not codecs, so a codec's table (which
        # replaces the default) does not name them; pack them anyway.
        for key in self.transform_field_keys:
            table.setdefault(key, self.field_mapping_table.get(key, key))
        values = {packed: results[key] for key, packed in table.items()
                  if results.get(key) is not None}
        if not values:
            return None
        multi = sorted(k for k, v in values.items()
                       if isinstance(v, (list, tuple)))
        if not multi:
            out = PixelData()
            for packed, value in values.items():
                # A (h, w) map gets its channel axis here (PixelData would
                # warn on every sample).
                out.set_field(value[None] if value.ndim == 2 else value,
                              packed)
            return out.to_tensor()
        if len(multi) != len(values):
            single = sorted(set(values) - set(multi))
            raise ValueError(
                f'PackPoseInputs: fields {multi} are lists (multi-level '
                f'targets) but {single} are not; with GenerateTarget('
                'multilevel=True) every per-pixel field must have one map '
                'per level')
        return MultilevelPixelData(**values).to_tensor()

    def transform(self, results: dict) -> Optional[dict]:
        inputs = self._inputs(results)
        sample = PoseDataSample()
        sample.gt_instances = self._instances(results)
        sample.gt_instance_labels = self._labels(results)
        fields = self._fields(results)
        if fields is not None:
            sample.gt_fields = fields
        # set_metainfo would deep-copy every value (raw_ann_info with its
        # polygons, flip_indices...): a sixth of a bottom-up sample's time.
        # The results dict belongs to this sample alone (the dataset hands
        # out a fresh copy), so its values are stored as they are.
        for key in self.meta_keys:
            if key in results:
                sample.set_field(results[key], key, field_type='metainfo')
        return dict(inputs=inputs, data_samples=sample)

    def _inputs(self, results: dict
                ) -> Union[torch.Tensor, List[torch.Tensor]]:
        """The image tensor (a list of them for a multi-scale pyramid), or
        for pose lifting the (encoded) keypoints as a float32 tensor."""
        img = results.get('img')
        if img is not None:
            if isinstance(img, (list, tuple)) and img and (
                    results.get('aug_scales')
                    or len({np.shape(i) for i in img}) > 1):
                # One tensor per scale: they cannot be stacked, and the
                # data preprocessor batches each scale on its own.
                return [image_to_tensor(i) for i in img]
            return image_to_tensor(img)
        lifting = results.get('keypoint_labels')
        if lifting is None and results.get('lifting_target') is not None:
            lifting = results.get('keypoints')
        if lifting is None:
            # Names 'img', the input of every image pipeline.
            check_required_keys(results, ['img'], self)
        return keypoints_to_tensor(lifting)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'pack_transformed={self.pack_transformed})')


__all__: Sequence[str] = ['PackPoseInputs', 'image_to_tensor',
                          'keypoints_to_tensor']
