import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from posekit.registry import KEYPOINT_CODECS, MODELS
from posekit.structures import PoseDataSample


@KEYPOINT_CODECS.register_module(name='_TestPeakCodec', force=True)
class PeakCodec:
    """One person per image at the heatmap maxima (map pixels), instance
    score 0.5; remembers the last maps it decoded."""

    last = None

    def decode(self, heatmaps, tags):
        raise AssertionError('batch_decode must be preferred')

    def batch_decode(self, heatmaps, tags):
        PeakCodec.last = (heatmaps.detach().clone(), tags.detach().clone())
        b, k, h, w = heatmaps.shape
        flat = heatmaps.reshape(b, k, -1).numpy()
        ys, xs = np.unravel_index(flat.argmax(-1), (h, w))
        kpts = np.stack([xs, ys], -1).astype(np.float32)
        return ([kpts[i][None] for i in range(b)],
                [flat[i].max(-1)[None] for i in range(b)],
                [np.array([0.5], np.float32)] * b)


def estimator(test_cfg=None, decoder=dict(type='_TestPeakCodec'), **kw):
    """Identity backbone + a layer-less AE head (K = 2, one tag each): the
    input channels are the heatmaps and tags."""
    return MODELS.build(dict(
        type='BottomupPoseEstimator',
        backbone=dict(type='_TestIdentityBackbone'),
        head=dict(type='AssociativeEmbeddingHead', in_channels=4,
                  num_keypoints=2, deconv_out_channels=None,
                  final_layer=None, decoder=decoder),
        test_cfg=test_cfg, **kw))


def meta_sample(**extra):
    # input (w, h) = (8, 6) covers the image box centred at (20, 30) of
    # size (16, 12): image = input * 2 + (12, 24)
    meta = dict(input_size=(8, 6), input_center=np.array([20., 30.]),
                input_scale=np.array([16., 12.]), flip_indices=[1, 0])
    meta.update(extra)
    return PoseDataSample(metainfo=meta)


def peaked_input():
    x = torch.zeros(1, 4, 6, 8)
    x[0, 0, 1, 2] = 1.   # keypoint 0 at input (2, 1)
    x[0, 1, 4, 7] = 0.8  # keypoint 1 at input (7, 4)
    return x


def test_predict_maps_to_image_pixels_with_boxes():
    model = estimator()
    out = model(peaked_input(), [meta_sample()], mode='predict')
    pred = out[0].pred_instances
    assert pred.keypoints.tolist() == [[[16., 26.], [26., 32.]]]
    assert pred.keypoint_scores[0].tolist() == pytest.approx([1.0, 0.8])
    assert pred.keypoints_visible[0].tolist() == pytest.approx([1.0, 0.8])
    assert pred.bboxes.tolist() == [[16., 26., 26., 32.]]
    assert pred.bbox_scores.tolist() == [0.5]


def test_flip_test_feeds_the_mirrored_input():
    model = estimator(test_cfg=dict(flip_test=True))
    x = peaked_input()
    model(x, [meta_sample()], mode='predict')
    heatmaps, tags = PeakCodec.last
    # the mirrored input maps back onto itself with keypoints swapped
    expected = (x[:, :2] + x[:, [1, 0]]) * 0.5
    assert torch.allclose(heatmaps, expected)
    assert tuple(tags.shape) == (1, 4, 6, 8)


def test_multiscale_inputs_are_merged_at_the_base_scale():
    model = estimator(test_cfg=dict(multiscale_test=True))
    base = torch.full((1, 4, 3, 4), 1.)
    large = torch.full((1, 4, 6, 8), 2.)
    model([base, large], [meta_sample()], mode='predict')
    heatmaps, _ = PeakCodec.last
    assert tuple(heatmaps.shape) == (1, 2, 3, 4)
    assert torch.allclose(heatmaps, torch.full_like(heatmaps, 1.5))
    with pytest.raises(ValueError, match='needs BottomupResize'):
        model(base, [meta_sample()], mode='predict')
    single = estimator()
    with pytest.raises(ValueError, match='multiscale_test is not set'):
        single([base, large], [meta_sample()], mode='predict')
    # 'tensor' mode runs the base scale
    heatmaps, tags = single([base, large], mode='tensor')
    assert tuple(heatmaps.shape) == (1, 2, 3, 4)


def test_no_person_gives_empty_arrays():
    class Empty:
        def decode(self, *args):
            raise AssertionError

        def batch_decode(self, heatmaps, tags):
            return ([np.zeros((0, 2, 2), np.float32)],
                    [np.zeros((0, 2), np.float32)],
                    [np.zeros(0, np.float32)])

    model = estimator()
    model.head.decoder = Empty()
    pred = model(peaked_input(), [meta_sample()],
                 mode='predict')[0].pred_instances
    assert pred.keypoints.shape == (0, 2, 2)
    assert pred.bboxes.shape == (0, 4)
    assert pred.bbox_scores.shape == (0, )


def test_predict_errors_and_output_heatmaps():
    model = estimator(test_cfg=dict(output_heatmaps=True))
    sample = PoseDataSample(metainfo=dict(input_size=(8, 6)))
    with pytest.raises(KeyError, match=r"lacks metainfo \['input_center', "
                       r"'input_scale'\]"):
        model(peaked_input(), [sample], mode='predict')
    out = model(peaked_input(), [meta_sample()], mode='predict')
    assert tuple(out[0].pred_fields.heatmaps.shape) == (2, 6, 8)
    assert tuple(out[0].pred_fields.tags.shape) == (2, 6, 8)
    headless = MODELS.build(dict(type='BottomupPoseEstimator',
                                 backbone=dict(type='_TestIdentityBackbone')))
    with pytest.raises(ValueError, match='needs a head'):
        headless(peaked_input(), [meta_sample()], mode='predict')


def training_sample():
    s = PoseDataSample()
    s.gt_fields = PixelData(heatmaps=torch.zeros(2, 6, 8),
                            heatmap_mask=torch.ones(1, 6, 8))
    labels = InstanceData()
    labels.keypoint_indices = torch.tensor([[[10, 1], [39, 1]]])
    labels.keypoint_weights = torch.ones(1, 2)
    s.gt_instance_labels = labels
    return s


def test_loss_with_auxiliary_head():
    model = estimator(auxiliary_head=dict(type='_TestRaisingHead',
                                          value=2.0))
    losses = model(peaked_input(), [training_sample()], mode='loss')
    assert sorted(losses) == ['aux_acc_guide', 'aux_loss_guide',
                              'loss_kpt', 'loss_pull', 'loss_push']
    # heatmap error: 1^2 + 0.8^2 over 2 * 6 * 8 elements
    assert losses['loss_kpt'].item() == pytest.approx(1.64 / 96)
    assert losses['aux_loss_guide'].item() == 2.0


def test_real_codec_groups_two_persons():
    """Integration with the AssociativeEmbedding codec: two persons with
    Gaussian peaks and distinct tags come back in image pixels."""
    codec = dict(type='AssociativeEmbedding', input_size=(16, 16),
                 heatmap_size=(16, 16), decode_keypoint_thr=0.1,
                 decode_tag_thr=1.0)
    model = estimator(decoder=codec)
    ys, xs = np.mgrid[:16, :16]

    def peak(x, y):
        return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / 2.)

    persons = {1.0: [(3, 4), (5, 10)], 4.0: [(12, 3), (11, 12)]}
    x = np.zeros((1, 4, 16, 16), np.float32)
    for tag, kpts in persons.items():
        for k, (px, py) in enumerate(kpts):
            x[0, k] = np.maximum(x[0, k], peak(px, py))
            x[0, 2 + k][peak(px, py) > 0.01] = tag
    sample = PoseDataSample(metainfo=dict(
        input_size=(16, 16), input_center=np.array([16., 16.]),
        input_scale=np.array([32., 32.]), flip_indices=[1, 0]))
    pred = model(torch.from_numpy(x), [sample],
                 mode='predict')[0].pred_instances
    assert pred.keypoints.shape == (2, 2, 2)
    got = sorted(pred.keypoints.reshape(2, 4).tolist())
    # image = input * 2 (scale 32 over 16 pixels, centred at 16)
    assert got == [[6., 8., 10., 20.], [24., 6., 22., 24.]]
    assert pred.bbox_scores.tolist() == pytest.approx([1., 1.])
