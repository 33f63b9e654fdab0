import pytest
import torch
from mmengine.structures import InstanceData

from posekit.registry import MODELS
from posekit.structures import MultilevelPixelData, PoseDataSample


def build(**kwargs):
    cfg = dict(type='HigherHRNetHead', in_channels=32, num_keypoints=17)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_default_output_shapes():
    head = build()
    outputs = head((torch.randn(2, 32, 8, 6), ))
    assert [tuple(o.shape) for o in outputs] == [(2, 34, 8, 6),
                                                 (2, 17, 16, 12)]


def test_parameter_count_by_hand():
    head = build()
    final0 = 32 * 34 + 34              # 1x1 conv 32 -> 17 heatmaps + 17 tags
    deconv = (32 + 34) * 32 * 4 * 4    # cat_output: feature + level-0 output
    deconv_bn = 2 * 32
    block = 2 * (32 * 32 * 9) + 2 * (2 * 32)  # two 3x3 convs, two BNs
    final1 = 32 * 17 + 17
    expected = final0 + deconv + deconv_bn + 4 * block + final1
    assert expected == 109779
    assert sum(p.numel() for p in head.parameters()) == expected


def test_state_dict_names_follow_the_official_code():
    keys = set(build().state_dict())
    for key in ('final_layers.0.weight', 'final_layers.1.bias',
                'deconv_layers.0.0.0.weight',
                'deconv_layers.0.0.1.running_var',
                'deconv_layers.0.1.0.conv1.weight',
                'deconv_layers.0.4.0.bn2.weight'):
        assert key in keys
    assert 'deconv_layers.0.5.0.conv1.weight' not in keys
    assert len([k for k in keys if k.endswith('conv1.weight')]) == 4


def test_kernel_sizes_and_cat_output():
    for kernel in (2, 3):
        out = build(kernel_size=(kernel, ))((torch.randn(1, 32, 5, 7), ))
        assert tuple(out[1].shape) == (1, 17, 10, 14)
    with pytest.raises(ValueError, match=r'kernel_size entries must be one '
                       r'of \[2, 3, 4\].*got 5'):
        build(kernel_size=(5, ))
    plain = build(cat_output=(False, ))
    assert tuple(plain.deconv_layers[0][0][0].weight.shape) == (32, 32, 4, 4)
    three = build(final_conv_kernel=3)
    assert tuple(three.final_layers[0].weight.shape) == (34, 32, 3, 3)
    assert tuple(three((torch.randn(1, 32, 4, 4), ))[0].shape) == \
        (1, 34, 4, 4)
    with pytest.raises(ValueError, match='final_conv_kernel must be 1 or 3'):
        build(final_conv_kernel=5)
    with pytest.raises(ValueError, match='num_channels must be a list of '
                       'num_deconvs=2 entries'):
        build(num_deconvs=2)


def test_two_deconv_stages_and_shared_tags():
    head = build(in_channels=8, num_keypoints=3, tag_dim=2,
                 tag_per_keypoint=False, num_deconvs=2, num_channels=(8, 4),
                 kernel_size=(4, 2), num_basic_blocks=1,
                 cat_output=(True, True))
    # stage 1 input: 8 channels + the 3 level-1 heatmaps
    assert head.deconv_layers[0][0][0].in_channels == 8 + 5
    assert head.deconv_layers[1][0][0].in_channels == 8 + 3
    outputs = head((torch.randn(1, 8, 3, 3), ))
    assert [tuple(o.shape) for o in outputs] == [
        (1, 5, 3, 3), (1, 3, 6, 6), (1, 3, 12, 12)]


def tiny_head(**kwargs):
    return build(in_channels=4, num_keypoints=2, num_channels=(4, ),
                 num_basic_blocks=1, **kwargs)


def multilevel_sample(h=3, w=3, with_mask=True):
    torch.manual_seed(1)
    s = PoseDataSample()
    fields = MultilevelPixelData()
    fields.heatmaps = [torch.rand(2, h, w), torch.rand(2, 2 * h, 2 * w)]
    if with_mask:
        mask0 = torch.ones(1, h, w)
        mask0[..., 0] = 0
        fields.heatmap_mask = [mask0, torch.ones(1, 2 * h, 2 * w)]
    s.gt_fields = fields
    labels = InstanceData()
    # level 0: one person (indices 1 and 5 of the 3x3 map); level 1 holds
    # indices valid only at 6x6, which level-0 tags must never be read at
    labels.keypoint_indices = torch.tensor([[[[1, 1], [5, 1]]],
                                            [[[30, 1], [33, 1]]]])
    labels.keypoint_weights = torch.ones(2, 1, 2)
    s.gt_instance_labels = labels
    return s


def test_loss_per_level_and_level0_tags():
    head = tiny_head(keypoint_loss_weights=(1.0, 0.5))
    feats = (torch.randn(1, 4, 3, 3), )
    s = multilevel_sample()
    losses = head.loss(feats, [s])
    out0, out1 = head(feats)
    gt0, gt1 = s.gt_fields.heatmaps
    mask0 = s.gt_fields.heatmap_mask[0]
    level0 = ((out0[0, :2] - gt0) ** 2 * mask0).mean()
    level1 = ((out1[0] - gt1) ** 2).mean()
    assert losses['loss_kpt'].item() == pytest.approx(
        (level0 + 0.5 * level1).item(), rel=1e-5)
    t1, t2 = out0[0, 2].flatten()[1], out0[0, 3].flatten()[5]
    assert losses['loss_pull'].item() == pytest.approx(
        ((t1 - t2) / 2).pow(2).item(), rel=1e-5)
    assert losses['loss_push'].item() == 0.


def test_loss_target_errors():
    head = tiny_head()
    feats = (torch.randn(1, 4, 3, 3), )
    single = PoseDataSample()
    single.gt_fields = MultilevelPixelData(heatmaps=[torch.rand(2, 3, 3)])
    with pytest.raises(ValueError, match='heatmaps for 1 levels but '
                       'HigherHRNetHead predicts 2'):
        head.loss(feats, [single])
    from mmengine.structures import PixelData
    flat = multilevel_sample()
    flat.gt_fields = PixelData(heatmaps=torch.rand(2, 3, 3))
    with pytest.raises(ValueError, match=r'GenerateTarget\(multilevel=True'):
        head.loss(feats, [flat])


def test_predict_averages_levels_at_the_higher_resolution():
    head = tiny_head()

    def fixed(feats):
        level0 = torch.zeros(1, 4, 2, 2)
        level0[:, :2] = 2.
        level0[:, 2:] = 5.
        return [level0, torch.full((1, 2, 4, 4), 4.)]

    head.forward = fixed
    heatmaps, tags = head.predict_maps(None)
    assert tuple(heatmaps.shape) == (1, 2, 4, 4)
    assert torch.allclose(heatmaps, torch.full_like(heatmaps, 3.))
    assert tuple(tags.shape) == (1, 2, 4, 4)
    assert torch.allclose(tags, torch.full_like(tags, 5.))


def test_predict_with_flip_decodes_at_the_higher_resolution():
    seen = {}

    class Decoder:
        def decode(self, *args):
            raise AssertionError('batch_decode must be preferred')

        def batch_decode(self, heatmaps, tags):
            seen.update(heatmaps=heatmaps, tags=tags)
            return [torch.zeros(0, 2, 2).numpy()] * len(heatmaps), \
                [torch.zeros(0, 2).numpy()] * len(heatmaps), \
                [torch.zeros(0).numpy()] * len(heatmaps)

    head = tiny_head(decoder=Decoder())
    head.eval()
    x = torch.randn(1, 4, 3, 5)
    meta = PoseDataSample(metainfo=dict(flip_indices=[1, 0]))
    preds = head.predict([(x, ), (x.flip(-1), )], [meta],
                         dict(flip_test=True))
    assert tuple(seen['heatmaps'].shape) == (1, 2, 6, 10)
    assert tuple(seen['tags'].shape) == (1, 4, 6, 10)
    assert preds[0].keypoints.shape == (0, 2, 2)


def test_mmpose0x_alias_translates_arguments():
    head = MODELS.build(dict(
        type='AEHigherResolutionHead', in_channels=32, num_joints=17,
        tag_per_joint=True, extra=dict(final_conv_kernel=1),
        num_deconv_layers=1, num_deconv_filters=[32],
        num_deconv_kernels=[4], num_basic_blocks=4, cat_output=[True],
        with_ae_loss=[True, False],
        loss_keypoint=dict(
            type='MultiLossFactory', num_joints=17, num_stages=2,
            ae_loss_type='exp', with_ae_loss=[True, False],
            push_loss_factor=[0.001, 0.001],
            pull_loss_factor=[0.001, 0.001],
            with_heatmaps_loss=[True, True],
            heatmaps_loss_factor=[1.0, 1.0])))
    assert list(head.state_dict()) == list(build().state_dict())
    assert head.keypoint_loss_weights == [1.0, 1.0]
    # 0.x push: 0.5 * 0.001 * mean exp(-d^2) = 0.001 * push_loss_factor
    assert head.loss_module.tag_loss.loss_weight == 0.001
    assert head.loss_module.tag_loss.push_loss_factor == pytest.approx(0.5)
    with pytest.raises(ValueError, match='tags at the first output only'):
        MODELS.build(dict(type='AEHigherResolutionHead', in_channels=32,
                          num_joints=17, cat_output=[True],
                          with_ae_loss=[True, True]))
