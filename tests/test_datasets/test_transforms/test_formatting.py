import json

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.structures import InstanceData, PixelData

from posekit.datasets.transforms import PackPoseInputs
from posekit.registry import DATASETS
from posekit.structures import MultilevelPixelData, PoseDataSample


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
                       heatmap_weights=np.ones((2, 4, 3), np.float32),
                       heatmap_mask=np.ones((4, 3), np.float32),
                       keypoint_weights=[np.ones((1, 2)), np.zeros((1, 2))])
    sample = PackPoseInputs()(results)['data_samples']
    # heatmap_weights is in the default table only; heatmap_mask comes
    # from a transform and is packed whatever the codec's table says
    assert set(sample.gt_fields.keys()) == {'heatmaps', 'heatmap_mask'}
    assert sample.gt_fields.heatmap_mask.shape == (1, 4, 3)
    # a list of labels (one per encoder) is stacked
    assert sample.gt_instance_labels.kw.shape == (2, 1, 2)
    assert 'keypoint_weights' not in sample.gt_instance_labels


def test_bottom_up_single_level_targets(recwarn):
    indices = np.array([[[5, 1], [0, 0]]], np.int64)
    sample = PackPoseInputs()(_results(
        keypoint_indices=indices,
        heatmap_mask=np.ones((4, 3), np.float32)))['data_samples']
    labels = sample.gt_instance_labels
    assert labels.keypoint_indices.dtype == torch.int64
    assert labels.keypoint_indices.tolist() == [[[5, 1], [0, 0]]]
    assert sample.gt_fields.heatmap_mask.shape == (1, 4, 3)
    # the channel axis is added here, so PixelData has nothing to warn
    assert not [w for w in recwarn if 'shape of value' in str(w.message)]


def test_multilevel_targets_become_multilevel_pixel_data():
    n, k = 3, 2
    results = _results(
        heatmaps=[np.zeros((k, 4, 3), np.float32),
                  np.ones((k, 8, 6), np.float32)],
        heatmap_mask=[np.ones((4, 3), np.float32),
                      np.zeros((8, 6), np.float32)],
        keypoint_indices=[np.zeros((n, k, 2), np.int64),
                          np.ones((n, k, 2), np.int64)],
        keypoint_weights=[np.ones((n, k), np.float32)] * 2)
    sample = PackPoseInputs()(results)['data_samples']
    fields = sample.gt_fields
    assert isinstance(fields, MultilevelPixelData) and len(fields) == 2
    assert [tuple(h.shape) for h in fields.heatmaps] == [(2, 4, 3),
                                                         (2, 8, 6)]
    assert [tuple(m.shape) for m in fields.heatmap_mask] == [(1, 4, 3),
                                                             (1, 8, 6)]
    assert isinstance(fields.heatmaps[1], torch.Tensor)
    assert float(fields.heatmaps[1].sum()) == 2 * 8 * 6
    assert fields[0].heatmap_mask.sum() == 12
    labels = sample.gt_instance_labels
    assert labels.keypoint_indices.shape == (2, n, k, 2)
    assert labels.keypoint_indices[1].sum() == n * k * 2
    assert labels.keypoint_weights.shape == (2, n, k)


def test_image_pyramid_becomes_a_list_of_tensors():
    imgs = [np.zeros((16, 12, 3), np.uint8), np.ones((8, 6, 3), np.uint8),
            np.zeros((32, 24, 3), np.uint8)]
    out = PackPoseInputs()(_results(img=imgs, aug_scales=[0.5, 2.]))
    assert isinstance(out['inputs'], list)
    assert [tuple(t.shape) for t in out['inputs']] == [(3, 16, 12),
                                                       (3, 8, 6),
                                                       (3, 32, 24)]
    assert int(out['inputs'][1].sum()) == 3 * 8 * 6
    assert out['data_samples'].metainfo['aug_scales'] == [0.5, 2.]
    # a pyramid of one extra scale of the same size is still a list
    same = PackPoseInputs()(_results(img=imgs[:1] * 2, aug_scales=[1.]))
    assert isinstance(same['inputs'], list) and len(same['inputs']) == 2
    # same-sized images without aug_scales are stacked, as before
    stacked = PackPoseInputs()(_results(img=imgs[:1] * 2))['inputs']
    assert tuple(stacked.shape) == (2, 3, 16, 12)


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
    with pytest.raises(ValueError, match=r"fields \['heatmaps'\] are lists "
                       r"\(multi-level targets\) but \['heatmap_mask'\]"):
        PackPoseInputs()(_results(heatmaps=[np.zeros((2, 4, 3))] * 2,
                                  heatmap_mask=np.ones((4, 3))))
    with pytest.raises(ValueError, match="field 'heatmap_mask' has 1 "
                       "levels but field 'heatmaps' has 2"):
        PackPoseInputs()(_results(heatmaps=[np.zeros((2, 4, 3))] * 2,
                                  heatmap_mask=[np.ones((4, 3))]))
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


def _bottom_up_dataset(shared_data, affine, flip_prob):
    codec = [dict(type='AssociativeEmbedding', input_size=(256, 256),
                  heatmap_size=size, sigma=2)
             for size in ((64, 64), (128, 128))]
    return DATASETS.build(dict(
        type='CocoDataset', data_root=str(shared_data / 'coco'),
        ann_file='test_coco.json', data_mode='bottomup',
        data_prefix=dict(img=''),
        pipeline=[
            dict(type='LoadImage'),
            dict(type='BottomupRandomAffine', input_size=(256, 256),
                 **affine),
            dict(type='RandomFlip', prob=flip_prob, direction='horizontal'),
            dict(type='GenerateTarget', encoder=codec, multilevel=True),
            dict(type='BottomupGetHeatmapMask'),
            dict(type='PackPoseInputs'),
        ]))


def test_full_bottom_up_pipeline_on_coco(shared_data):
    np.random.seed(0)
    dataset = _bottom_up_dataset(shared_data, {}, 0.5)
    # image 196141: 4 valid people, 1 unlabelled person in invalid_segs
    out = dataset[2]
    assert tuple(out['inputs'].shape) == (3, 256, 256)
    sample = out['data_samples']
    assert sample.metainfo['img_id'] == 196141
    fields = sample.gt_fields
    assert isinstance(fields, MultilevelPixelData) and len(fields) == 2
    assert [tuple(h.shape) for h in fields.heatmaps] == [(17, 64, 64),
                                                         (17, 128, 128)]
    assert [tuple(m.shape) for m in fields.heatmap_mask] == [(1, 64, 64),
                                                             (1, 128, 128)]
    labels = sample.gt_instance_labels
    assert tuple(labels.keypoint_indices.shape) == (2, 4, 17, 2)
    assert labels.keypoint_indices.dtype == torch.int64
    assert tuple(labels.keypoint_weights.shape) == (2, 4, 17)
    gt = sample.gt_instances
    assert gt.keypoints.shape == (4, 17, 2) and gt.bboxes.shape == (4, 4)
    assert gt.areas.shape == (4, )
    assert sample.metainfo['input_size'] == (256, 256)


def test_bottom_up_mask_covers_the_unlabelled_person(shared_data):
    fixed = dict(shift_prob=0., scale_prob=0., rotate_prob=0.)
    sample = _bottom_up_dataset(shared_data, fixed, 0.)[2]['data_samples']
    mask = sample.gt_fields.heatmap_mask[1][0].numpy()
    # the unlabelled person (annotation 508900), drawn with cv2 here
    coco = json.loads((shared_data / 'coco' / 'test_coco.json').read_text())
    seg = next(a['segmentation'][0] for a in coco['annotations']
               if a['id'] == 508900)
    drawn = np.zeros((429, 640), np.uint8)
    cv2.fillPoly(drawn, [np.round(np.reshape(seg, (-1, 2))).astype(
        np.int32)], 1)
    depth = cv2.distanceTransform(drawn, cv2.DIST_L2, 3)
    y, x = np.unravel_index(np.argmax(depth), depth.shape)
    # no randomness: the centred 429x429 square, scaled to 256 then /2
    scale = 256 / 429 / 2
    hx, hy = (x - (320 - 214.5)) * scale, y * scale
    assert mask[int(round(hy)), int(round(hx))] == 0
    # the person is about 286 px^2, i.e. about 25 heatmap cells
    assert 12 < (mask == 0).sum() < 40
    # the middle of a labelled person (annotation 460541) is supervised
    assert mask[int(round(224 * scale)),
                int(round((332 - 105.5) * scale))] == 1
