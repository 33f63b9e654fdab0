from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from posekit.models.heads import HeatmapHead
from posekit.registry import MODELS
from posekit.structures import PoseDataSample

CODEC = dict(type='_TestArgmaxCodec', input_size=(12, 8),
             heatmap_size=(6, 4))


def identity_head(k, **kwargs):
    """A head whose output is its input feature map (no layers)."""
    return HeatmapHead(in_channels=k, out_channels=k,
                       deconv_out_channels=None, final_layer=None, **kwargs)


def test_output_shape_and_state_dict_names():
    head = HeatmapHead(in_channels=2048, out_channels=17)
    with torch.no_grad():
        out = head((torch.rand(1, 1024, 16, 12), torch.rand(1, 2048, 8, 6)))
    assert tuple(out.shape) == (1, 17, 64, 48)
    keys = set(head.state_dict())
    assert {'deconv_layers.0.weight', 'deconv_layers.1.running_var',
            'deconv_layers.6.weight', 'final_layer.weight',
            'final_layer.bias'} <= keys
    assert tuple(head.deconv_layers[0].weight.shape) == (2048, 256, 4, 4)


def test_conv_layers_and_kernel_sizes():
    head = HeatmapHead(in_channels=8, out_channels=3,
                       deconv_out_channels=(4, 4), deconv_kernel_sizes=(3, 2),
                       conv_out_channels=(5, ), conv_kernel_sizes=(3, ),
                       final_layer=dict(kernel_size=3, padding=1))
    with torch.no_grad():
        out = head((torch.rand(2, 8, 3, 5), ))
    assert tuple(out.shape) == (2, 3, 12, 20)
    assert tuple(head.conv_layers[0].weight.shape) == (5, 4, 3, 3)
    assert tuple(head.final_layer.weight.shape) == (3, 5, 3, 3)
    with pytest.raises(ValueError, match='deconv kernel size'):
        HeatmapHead(8, 3, deconv_out_channels=(4, ), deconv_kernel_sizes=(5, ))
    with pytest.raises(ValueError, match='same length'):
        HeatmapHead(8, 3, conv_out_channels=(4, 4), conv_kernel_sizes=(3, ))


def test_default_init():
    head = HeatmapHead(in_channels=16, out_channels=17,
                       deconv_out_channels=(32, ), deconv_kernel_sizes=(4, ))
    head.init_weights()
    assert head.final_layer.weight.std().item() == pytest.approx(1e-3,
                                                                 rel=0.3)
    assert torch.all(head.final_layer.bias == 0)
    assert torch.all(head.deconv_layers[1].weight == 1)


def _sample(heatmaps, weights, **meta):
    s = PoseDataSample(metainfo=meta)
    s.gt_fields = PixelData(heatmaps=heatmaps)
    s.gt_instance_labels = InstanceData(keypoint_weights=weights)
    return s


def test_loss_values():
    head = identity_head(2)
    target = torch.zeros(2, 4, 6)
    target[0, 1, 1] = 1.
    target[1, 2, 4] = 1.
    pred = target.clone()
    pred[1, 2, 4] = 3.  # same argmax, squared error 4 in one pixel
    samples = [_sample(target, torch.tensor([[1., 1.]]))]
    losses = head.loss((pred[None], ), samples)
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert losses['loss_kpt'].item() == pytest.approx(4 / 48)
    assert losses['acc_pose'].item() == pytest.approx(1.0)
    assert isinstance(losses['acc_pose'], torch.Tensor)
    # move keypoint 1's peak far away: half the keypoints are correct
    pred[1] = 0.
    pred[1, 0, 0] = 1.
    losses = head.loss((pred[None], ), samples)
    assert losses['acc_pose'].item() == pytest.approx(0.5)


def test_loss_names_missing_targets():
    head = identity_head(2)
    s = PoseDataSample()
    s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 2))
    with pytest.raises(KeyError, match='gt_fields.heatmaps'):
        head.loss((torch.zeros(1, 2, 4, 6), ), [s])


def test_predict_decodes_with_codec_and_outputs_heatmaps():
    head = identity_head(2, decoder=CODEC)
    feats = torch.zeros(1, 2, 4, 6)
    feats[0, 0, 3, 1] = 0.9
    feats[0, 1, 0, 5] = 0.7
    preds = head.predict((feats, ), [PoseDataSample()])
    assert len(preds) == 1
    # stride 2 from the 6x4 heatmap to the 12x8 input
    np.testing.assert_allclose(preds[0].keypoints, [[[2, 6], [10, 0]]])
    np.testing.assert_allclose(preds[0].keypoint_scores, [[0.9, 0.7]],
                               rtol=1e-6)
    preds, fields = head.predict((feats, ), [PoseDataSample()],
                                 test_cfg=dict(output_heatmaps=True))
    assert torch.equal(fields[0].heatmaps, feats[0])


def test_predict_flip_test_averages_mapped_back_heatmaps():
    head = identity_head(2, decoder=CODEC)
    feats = torch.zeros(1, 2, 4, 6)
    feats[0, 0, 2, 1] = 1.  # left keypoint at x=1
    feats[0, 1, 2, 4] = 1.  # right keypoint at x=4
    # what a flip-equivariant model predicts on the mirrored input
    flipped = feats.flip(-1)[:, [1, 0]]
    meta = dict(flip_indices=[1, 0])
    cfg = dict(flip_test=True, output_heatmaps=True)
    _, fields = head.predict([(feats, ), (flipped, )],
                             [PoseDataSample(metainfo=meta)], test_cfg=cfg)
    assert torch.equal(fields[0].heatmaps, feats[0])
    cfg['shift_heatmap'] = True
    _, fields = head.predict([(feats, ), (flipped, )],
                             [PoseDataSample(metainfo=meta)], test_cfg=cfg)
    row = fields[0].heatmaps[0, 2].tolist()
    assert row == [0, .5, .5, 0, 0, 0]
    with pytest.raises(KeyError, match='flip_indices'):
        head.predict([(feats, ), (flipped, )], [PoseDataSample()],
                     test_cfg=dict(flip_test=True))
    with pytest.raises(ValueError, match='a list of two'):
        head.predict((feats, ), [PoseDataSample(metainfo=meta)],
                     test_cfg=dict(flip_test=True))


def test_predict_without_decoder_says_how_to_fix():
    with pytest.raises(ValueError, match=r'decoder=dict\(type=...\)'):
        identity_head(2).predict((torch.zeros(1, 2, 4, 6), ),
                                 [PoseDataSample()])


def test_batch_decoding_codec_is_used():
    class BatchCodec:
        support_batch_decoding = True

        def decode(self, x):
            raise AssertionError('per-sample decode must not run')

        def batch_decode(self, heatmaps):
            b, k = heatmaps.shape[:2]
            return [np.full((1, k, 2), i) for i in range(b)], \
                [np.ones((1, k)) for _ in range(b)]

    head = identity_head(2)
    head.decoder = BatchCodec()
    preds = head.decode(torch.zeros(3, 2, 4, 6))
    assert [p.keypoints[0, 0, 0] for p in preds] == [0, 1, 2]


def test_unknown_decoder_type_names_key_path():
    with pytest.raises(KeyError) as err:
        MODELS.build(dict(type='HeatmapHead', in_channels=4, out_channels=2,
                          decoder=dict(type='_TestArgmaxCodecc')))
    assert 'decoder.type' in str(err.value)
    assert '_TestArgmaxCodec' in str(err.value)


def test_old_checkpoint_keys_are_renamed():
    head = HeatmapHead(in_channels=4, out_channels=2,
                       deconv_out_channels=None, conv_out_channels=(3, ),
                       conv_kernel_sizes=(1, ))
    new = head.state_dict()
    old = OrderedDict()
    for k, v in new.items():
        old[k.replace('conv_layers.', 'final_layer.').replace(
            'final_layer.weight', 'final_layer.3.weight').replace(
            'final_layer.bias', 'final_layer.3.bias')] = torch.full_like(
                v, 7) if v.is_floating_point() else v
    assert 'final_layer.0.weight' in old and 'final_layer.3.bias' in old
    old._metadata = OrderedDict({'': dict(version=1)})
    head.load_state_dict(old, strict=True)
    assert torch.all(head.conv_layers[0].weight == 7)
    assert torch.all(head.final_layer.bias == 7)
