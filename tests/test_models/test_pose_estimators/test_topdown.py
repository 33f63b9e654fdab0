from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from posekit.models.pose_estimators.topdown import input_to_image_coords
from posekit.registry import MODELS
from posekit.structures import PoseDataSample

K = 17


def tiny_model(**kwargs):
    cfg = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8),
        head=dict(type='HeatmapHead', in_channels=64, out_channels=K,
                  deconv_out_channels=(16, 16, 16),
                  decoder=dict(type='_TestArgmaxCodec', input_size=(64, 64),
                               heatmap_size=(16, 16))))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def train_batch(n=2):
    rng = np.random.default_rng(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.from_numpy(
            rng.integers(0, 256, (3, 64, 64), dtype=np.uint8)))
        s = PoseDataSample(metainfo=dict(
            input_size=(64, 64), input_center=np.array([50., 60.]),
            input_scale=np.array([80., 80.]), flip_indices=list(range(K))))
        s.gt_fields = PixelData(heatmaps=torch.rand(K, 16, 16))
        s.gt_instance_labels = InstanceData(
            keypoint_weights=torch.ones(1, K))
        s.gt_instances = InstanceData(bboxes=np.array([[10., 20., 90., 100.]]),
                                      bbox_scores=np.array([1.]))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_loss_mode_returns_loss_and_accuracy():
    model = tiny_model()
    data = model.data_preprocessor(train_batch(), training=True)
    assert data['inputs'].dtype == torch.float32
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert losses['loss_kpt'].ndim == 0 and losses['loss_kpt'].item() > 0
    assert losses['loss_kpt'].requires_grad
    assert 0. <= losses['acc_pose'].item() <= 1.


def test_tensor_and_predict_modes_shapes():
    model = tiny_model().eval()
    data = model.data_preprocessor(train_batch(), training=False)
    with torch.no_grad():
        out = model(data['inputs'], mode='tensor')
        assert tuple(out.shape) == (2, K, 16, 16)
        samples = model(**data, mode='predict')
    pred = samples[0].pred_instances
    assert pred.keypoints.shape == (1, K, 2)
    assert pred.keypoint_scores.shape == (1, K)
    np.testing.assert_array_equal(pred.bboxes, [[10., 20., 90., 100.]])
    np.testing.assert_array_equal(pred.bbox_scores, [1.])
    # every keypoint lands inside the crop box (centre 50, 60; size 80)
    assert np.all(pred.keypoints >= [10, 20]) and \
        np.all(pred.keypoints <= [90, 100])


def test_input_to_image_coords_numbers():
    kpts = np.array([[[0., 0.], [32., 16.], [64., 64.]]])
    out = input_to_image_coords(kpts, (64, 64), np.array([100., 50.]),
                                np.array([128., 32.]))
    # x: x / 64 * 128 + 100 - 64; y: y / 64 * 32 + 50 - 16
    np.testing.assert_allclose(out, [[[36, 34], [100, 42], [164, 66]]])


def identity_model(channels, **kwargs):
    cfg = dict(type='TopdownPoseEstimator',
               backbone=dict(type='_TestIdentityBackbone'),
               head=dict(type='HeatmapHead', in_channels=channels,
                         out_channels=channels, deconv_out_channels=None,
                         final_layer=None,
                         decoder=dict(type='_TestArgmaxCodec',
                                      input_size=(8, 8),
                                      heatmap_size=(8, 8))))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_predict_maps_known_peaks_to_the_original_image():
    model = identity_model(3, test_cfg=dict(output_heatmaps=True))
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0, 3, 2] = 0.9   # (x=2, y=3)
    x[0, 1, 0, 7] = 0.8   # (x=7, y=0)
    x[0, 2, 7, 0] = 0.7   # (x=0, y=7)
    s = PoseDataSample(metainfo=dict(input_size=(8, 8),
                                     input_center=np.array([100., 50.]),
                                     input_scale=np.array([16., 32.])))
    s.gt_instances = InstanceData(bboxes=np.array([[92., 34., 108., 66.]]),
                                  bbox_scores=np.array([0.6]))
    (out, ) = model(x, [s], mode='predict')
    # x_img = x / 8 * 16 + 100 - 8, y_img = y / 8 * 32 + 50 - 16
    np.testing.assert_allclose(out.pred_instances.keypoints,
                               [[[96, 46], [106, 34], [92, 62]]])
    np.testing.assert_allclose(out.pred_instances.keypoint_scores,
                               [[0.9, 0.8, 0.7]], rtol=1e-6)
    np.testing.assert_allclose(out.pred_instances.keypoints_visible,
                               [[0.9, 0.8, 0.7]], rtol=1e-6)
    np.testing.assert_array_equal(out.pred_instances.bbox_scores, [0.6])
    assert torch.equal(out.pred_fields.heatmaps, x[0])


def test_predict_needs_input_metainfo():
    model = identity_model(3)
    with pytest.raises(KeyError, match='input_center'):
        model(torch.zeros(1, 3, 8, 8),
              [PoseDataSample(metainfo=dict(input_size=(8, 8)))],
              mode='predict')


def side_model(**test_cfg):
    return MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='_TestIdentityBackbone'),
        head=dict(type='_TestSideHead',
                  decoder=dict(type='_TestArgmaxCodec', input_size=(8, 4),
                               heatmap_size=(8, 4))),
        test_cfg=dict(flip_test=True, flip_mode='heatmap',
                      output_heatmaps=True, **test_cfg)))


def side_sample():
    s = PoseDataSample(metainfo=dict(
        input_size=(8, 4), input_center=np.array([4., 2.]),
        input_scale=np.array([8., 4.]), flip_indices=[1, 0]))
    s.gt_instances = InstanceData(bboxes=np.zeros((1, 4)),
                                  bbox_scores=np.ones(1))
    return s


def test_flip_test_on_left_right_symmetric_model():
    # _TestSideHead reads keypoint 0 from the left half of the image and
    # keypoint 1 from the right half, so it is flip-equivariant: mapping the
    # flipped prediction back reproduces the plain one exactly
    model = side_model(shift_heatmap=False)
    x = torch.zeros(1, 1, 4, 8)
    x[0, 0, 2, 1] = 1.0
    x[0, 0, 1, 5] = 0.8
    (out, ) = model(x, [side_sample()], mode='predict')
    backbone = model.backbone
    assert len(backbone.seen) == 2
    assert torch.equal(backbone.seen[1], x.flip(-1))
    expected = torch.zeros(2, 4, 8)
    expected[0, 2, 1] = 1.0
    expected[1, 1, 5] = 0.8
    assert torch.equal(out.pred_fields.heatmaps, expected)
    # identity mapping (scale = size, centre = size / 2)
    np.testing.assert_allclose(out.pred_instances.keypoints,
                               [[[1, 2], [5, 1]]])


def test_flip_test_shift_heatmap_moves_flipped_copy_one_pixel():
    model = side_model(shift_heatmap=True)
    x = torch.zeros(1, 1, 4, 8)
    x[0, 0, 2, 1] = 1.0
    (out, ) = model(x, [side_sample()], mode='predict')
    assert out.pred_fields.heatmaps[0, 2].tolist() == \
        [0, .5, .5, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(out.pred_instances.keypoint_scores[0, 0], 0.5)


def test_auxiliary_head_single_is_prefixed_and_training_only():
    model = tiny_model(auxiliary_head=dict(type='_TestRaisingHead',
                                           value=2.0))
    data = model.data_preprocessor(train_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_kpt', 'acc_pose', 'aux_loss_guide',
                           'aux_acc_guide'}
    assert losses['aux_loss_guide'].item() == pytest.approx(2.0)
    assert 'auxiliary_head.scale' in model.state_dict()
    model.eval()
    with torch.no_grad():  # the raising head would fail these
        model(data['inputs'], mode='tensor')
        model(**data, mode='predict')


def test_auxiliary_head_list_uses_indexed_prefixes():
    model = tiny_model(auxiliary_head=[
        dict(type='_TestRaisingHead', value=1.0),
        dict(type='_TestRaisingHead', value=3.0)])
    data = model.data_preprocessor(train_batch(), training=True)
    losses = model(**data, mode='loss')
    assert losses['aux0_loss_guide'].item() == pytest.approx(1.0)
    assert losses['aux1_loss_guide'].item() == pytest.approx(3.0)
    assert 'aux1_acc_guide' in losses and 'aux_loss_guide' not in losses
    parsed, _ = model.parse_losses(losses)
    assert parsed.item() == pytest.approx(
        losses['loss_kpt'].item() + 4.0, rel=1e-5)
    model.eval()
    with torch.no_grad():
        model(**data, mode='predict')
        model(data['inputs'], mode='tensor')


def test_unknown_mode_is_a_clear_error():
    model = identity_model(3)
    with pytest.raises(ValueError, match="'loss', 'predict', 'tensor'"):
        model(torch.zeros(1, 3, 8, 8), mode='train')
    with pytest.raises(ValueError, match='needs data_samples'):
        model(torch.zeros(1, 3, 8, 8), mode='predict')


def test_unknown_backbone_type_names_key_path():
    with pytest.raises(KeyError) as err:
        MODELS.build(dict(type='TopdownPoseEstimator',
                          backbone=dict(type='ResNett', depth=18),
                          head=dict(type='HeatmapHead', in_channels=512,
                                    out_channels=K)))
    msg = str(err.value)
    assert 'model.backbone.type' in msg
    assert "Did you mean 'ResNet'" in msg


def test_unknown_loss_type_names_nested_key_path():
    with pytest.raises(KeyError, match=r'model\.head\.loss\.type'):
        tiny_model(head=dict(type='HeatmapHead', in_channels=64,
                             out_channels=K, loss=dict(type='KeypointMSE')))


def test_pre_1_0_checkpoint_keys_load_into_head():
    model = identity_model(3)
    target = MODELS.build(dict(
        type='TopdownPoseEstimator', backbone=dict(type='ResNet', depth=18,
                                                   stem_channels=8,
                                                   base_channels=8),
        head=dict(type='HeatmapHead', in_channels=64, out_channels=K,
                  deconv_out_channels=(16, ), deconv_kernel_sizes=(4, ))))
    del model
    state = OrderedDict(
        (k.replace('head.', 'keypoint_head.', 1), torch.full_like(v, 3)
         if v.is_floating_point() else v)
        for k, v in target.state_dict().items())
    assert 'keypoint_head.final_layer.weight' in state
    target.load_state_dict(state, strict=True)
    assert torch.all(target.head.final_layer.weight == 3)
