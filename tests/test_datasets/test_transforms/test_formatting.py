import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.structures import InstanceData, PixelData

from posekit.datasets.transforms import PackPoseInputs
from posekit.structures import PoseDataSample


def _results(**extra):
    img = np.zeros((16, 12, 3), dtype=np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 20, 30  # B, G, R
    img[3, 5, 0] = 99
    results = dict(
        img=img, id=7, img_id=3, img_path='a.jpg', category_id=1,
        ori_shape=(100, 80), img_shape=(100, 80), input_size=(12, 16),
        input_center=np.array([40., 50.]), input_scale=np.array([30., 40.]),
        flip=False, flip_direction=None, flip_indices=[1, 0],
        bbox=np.array([[1., 2., 3., 4.]], np.float32),
        bbox_score=np.ones(1, np.float32),
        bbox_center=np.array([[2., 3.]], np.float32),
        bbox_scale=np.array([[30., 40.]], np.float32), area=np.float32(12.),
        keypoints=np.zeros((1, 2, 2), np.float32),
        keypoints_visible=np.ones((1, 2), np.float32),
        transformed_keypoints=np.ones((1, 2, 2), np.float32),
        heatmaps=np.zeros((2, 4, 3), np.float32),
        keypoint_weights=np.array([[1., 0.]], np.float32),
        unrelated='x')
    results.update(extra)
    return results


def test_inputs_are_chw_uint8_in_bgr_order():
    out = PackPoseInputs()(_results())
    inputs = out['inputs']
    assert isinstance(inputs, torch.Tensor) and inputs.dtype == torch.uint8
    assert inputs.shape == (3, 16, 12) and inputs.is_contiguous()
    assert inputs[:, 0, 0].tolist() == [10, 20, 30]
    assert inputs[0, 3, 5] == 99


def test_fields_are_routed():
    sample = PackPoseInputs()(_results())['data_samples']
    assert isinstance(sample, PoseDataSample)
    gt = sample.gt_instances
    assert isinstance(gt, InstanceData)
    assert set(gt.keys()) == {'bboxes', 'bbox_scores', 'bbox_centers',
                              'bbox_scales', 'areas', 'keypoints',
                              'keypoints_visible'}
    assert isinstance(gt.bboxes, np.ndarray)
    np.testing.assert_allclose(gt.bbox_centers, [[2, 3]])
    np.testing.assert_allclose(gt.areas, [12])
    labels = sample.gt_instance_labels
    assert isinstance(labels.keypoint_weights, torch.Tensor)
    assert labels.keypoint_weights.tolist() == [[1., 0.]]
    assert isinstance(sample.gt_fields, PixelData)
    assert isinstance(sample.gt_fields.heatmaps, torch.Tensor)
    assert sample.gt_fields.heatmaps.shape == (2, 4, 3)


def test_metainfo_holds_present_meta_keys_only():
    sample = PackPoseInputs()(_results())['data_samples']
    meta = sample.metainfo
    assert set(meta) == {'id', 'img_id', 'img_path', 'category_id',
                         'ori_shape', 'img_shape', 'input_size',
                         'input_center', 'input_scale', 'flip',
                         'flip_direction', 'flip_indices'}
    assert meta['id'] == 7 and meta['input_size'] == (12, 16)
    sample = PackPoseInputs(meta_keys=('img_id', 'unrelated'))(
        _results())['data_samples']
    assert sample.metainfo == dict(img_id=3, unrelated='x')


def test_pack_transformed():
    sample = PackPoseInputs(pack_transformed=True)(_results())[
        'data_samples']
    np.testing.assert_allclose(sample.gt_instances.transformed_keypoints,
                               np.ones((1, 2, 2)))


def test_codec_tables_replace_the_defaults():
    results = _results(field_mapping_table=dict(heatmaps='heatmaps'),
                       label_mapping_table=dict(keypoint_weights='kw'),
                       heatmap_mask=np.ones((4, 3), np.float32),
                       keypoint_weights=[np.ones((1, 2)), np.zeros((1, 2))])
    sample = PackPoseInputs()(results)['data_samples']
    assert set(sample.gt_fields.keys()) == {'heatmaps'}
    # a list of labels (one per encoder) is stacked
    assert sample.gt_instance_labels.kw.shape == (2, 1, 2)
    assert 'keypoint_weights' not in sample.gt_instance_labels


def test_no_targets_no_gt_fields():
    results = _results()
    del results['heatmaps']
    sample = PackPoseInputs()(results)['data_samples']
    assert 'gt_fields' not in sample


def test_errors():
    results = _results()
    del results['img']
    with pytest.raises(KeyError, match="PackPoseInputs needs the key 'img'"):
        PackPoseInputs()(results)
    with pytest.raises(TypeError, match='multi-level'):
        PackPoseInputs()(_results(heatmaps=[np.zeros((2, 4, 3))] * 2))
    with pytest.raises(TypeError, match='meta_keys'):
        PackPoseInputs(meta_keys='img_id')


def test_full_top_down_pipeline_from_config(shared_data):
    pipeline = Compose([
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal'),
        dict(type='RandomHalfBody'),
        dict(type='RandomBBoxTransform'),
        dict(type='TopdownAffine', input_size=(48, 64)),
        dict(type='GenerateTarget',
             encoder=dict(type='TinyHeatmapCodec', input_size=(48, 64),
                          heatmap_size=(12, 16))),
        dict(type='PackPoseInputs'),
    ])
    kpts = np.array([[[300., 200.], [320., 200.], [310., 260.]]], np.float32)
    out = pipeline(dict(
        img_path=str(shared_data / 'coco' / '000000196141.jpg'), id=1,
        img_id=196141, bbox=np.array([[280., 180., 340., 280.]], np.float32),
        bbox_score=np.ones(1, np.float32), keypoints=kpts,
        keypoints_visible=np.ones((1, 3), np.float32), flip_indices=[1, 0, 2],
        upper_body_ids=[0, 1], lower_body_ids=[2]))
    assert out['inputs'].shape == (3, 64, 48)
    sample = out['data_samples']
    assert sample.gt_fields.heatmaps.shape == (3, 16, 12)
    assert sample.gt_instance_labels.keypoint_weights.shape == (1, 3)
    assert sample.metainfo['input_size'] == (48, 64)
    assert sample.metainfo['img_id'] == 196141
    assert isinstance(sample.metainfo['flip'], bool)
