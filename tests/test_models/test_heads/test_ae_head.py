import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from posekit.registry import MODELS
from posekit.structures import PoseDataSample


class RecordingDecoder:
    """Stand-in for the AssociativeEmbedding codec: records what it is
    given and returns one person per sample at the heatmap maxima."""

    def __init__(self):
        self.calls = []

    def decode(self, heatmaps, tags):
        raise AssertionError('batch_decode must be preferred')

    def batch_decode(self, heatmaps, tags):
        self.calls.append((heatmaps.detach().clone(), tags.detach().clone()))
        b, k, h, w = heatmaps.shape
        flat = heatmaps.reshape(b, k, -1).numpy()
        ys, xs = np.unravel_index(flat.argmax(-1), (h, w))
        kpts = [np.stack([xs[i], ys[i]], -1)[None].astype(np.float32)
                for i in range(b)]
        scores = [flat[i].max(-1)[None] for i in range(b)]
        return kpts, scores, [s.mean(-1) for s in scores]


def passthrough_head(num_keypoints=2, tag_dim=1, tag_per_keypoint=True,
                     decoder=None):
    """A head without layers: its features are its outputs."""
    tags = num_keypoints * tag_dim if tag_per_keypoint else tag_dim
    return MODELS.build(dict(
        type='AssociativeEmbeddingHead',
        in_channels=num_keypoints + tags, num_keypoints=num_keypoints,
        tag_dim=tag_dim, tag_per_keypoint=tag_per_keypoint,
        deconv_out_channels=None, final_layer=None, decoder=decoder))


def sample(heatmaps, indices, mask=None, **meta):
    s = PoseDataSample(metainfo=meta)
    fields = PixelData(heatmaps=heatmaps)
    if mask is not None:
        fields.heatmap_mask = mask
    s.gt_fields = fields
    labels = InstanceData()
    labels.keypoint_indices = indices
    labels.keypoint_weights = (indices[..., 1] > 0).float()
    s.gt_instance_labels = labels
    return s


def test_output_channels_and_forward_split():
    head = MODELS.build(dict(type='AssociativeEmbeddingHead', in_channels=8,
                             num_keypoints=3, tag_dim=2,
                             deconv_out_channels=(8, ),
                             deconv_kernel_sizes=(4, )))
    assert head.final_layer.out_channels == 3 * (1 + 2)
    heatmaps, tags = head((torch.randn(2, 8, 5, 6), ))
    assert tuple(heatmaps.shape) == (2, 3, 10, 12)
    assert tuple(tags.shape) == (2, 6, 10, 12)
    shared = MODELS.build(dict(type='AssociativeEmbeddingHead',
                               in_channels=8, num_keypoints=3, tag_dim=2,
                               tag_per_keypoint=False,
                               deconv_out_channels=None))
    assert shared.final_layer.out_channels == 3 + 2
    assert tuple(shared((torch.randn(1, 8, 4, 4), ))[1].shape) == \
        (1, 2, 4, 4)


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_keypoints must be a positive'):
        MODELS.build(dict(type='AssociativeEmbeddingHead', in_channels=4,
                          num_keypoints=0))
    with pytest.raises(ValueError, match='tag_dim must be a positive'):
        MODELS.build(dict(type='AssociativeEmbeddingHead', in_channels=4,
                          num_keypoints=2, tag_dim=0))


def test_loss_values_with_mask():
    head = passthrough_head()
    feats = torch.zeros(1, 4, 2, 2)
    feats[0, 0, 0, 0] = 1.      # heatmap 0
    feats[0, 2] = torch.tensor([[1., 2.], [3., 4.]])  # tags of kpt 0
    feats[0, 3] = torch.tensor([[5., 6.], [7., 8.]])  # tags of kpt 1
    gt = torch.zeros(2, 2, 2)
    gt[1, 1, 1] = 2.            # heatmap 1 target
    mask = torch.ones(1, 2, 2)
    mask[0, 0, 0] = 0.          # hides the error of heatmap 0
    indices = torch.tensor([[[0, 1], [0, 1]], [[3, 1], [2, 0]]])
    losses = head.loss((feats, ), [sample(gt, indices, mask)])
    assert sorted(losses) == ['loss_kpt', 'loss_pull', 'loss_push']
    # only the (1, 1) pixel of heatmap 1 is wrong: 2^2 / 8 elements
    assert losses['loss_kpt'].item() == pytest.approx(4 / 8)
    # tags as in the loss test: pull (4 + 0) / 2, push 0.5 * exp(-1)
    assert losses['loss_pull'].item() == pytest.approx(2.)
    assert losses['loss_push'].item() == pytest.approx(0.5 * np.exp(-1))
    unmasked = head.loss((feats, ), [sample(gt, indices)])
    assert unmasked['loss_kpt'].item() == pytest.approx(5 / 8)


def test_loss_with_keypoint_weights_does_not_crash():
    # MMPose 1.x passes (sum N, K) weights here; ours are (B, K) ones
    head = MODELS.build(dict(
        type='AssociativeEmbeddingHead', in_channels=4, num_keypoints=2,
        deconv_out_channels=None, final_layer=None,
        keypoint_loss=dict(type='KeypointMSELoss', use_target_weight=True)))
    indices = torch.tensor([[[0, 1], [1, 1]], [[2, 1], [3, 1]],
                            [[1, 1], [0, 0]]])
    feats = torch.zeros(2, 4, 2, 2)
    gt = torch.ones(2, 2, 2)
    losses = head.loss((feats, ), [sample(gt, indices),
                                   sample(gt, indices[:1])])
    assert losses['loss_kpt'].item() == pytest.approx(1.)


def test_shared_tags_are_compared_per_keypoint():
    head = passthrough_head(tag_dim=2, tag_per_keypoint=False)
    feats = torch.zeros(1, 4, 1, 2)
    feats[0, 2, 0] = torch.tensor([0., 4.])  # tag component 0
    feats[0, 3, 0] = torch.tensor([1., 1.])  # tag component 1
    # one person: kpt 0 at x=0 -> (0, 1), kpt 1 at x=1 -> (4, 1)
    indices = torch.tensor([[[0, 1], [1, 1]]])
    losses = head.loss((feats, ), [sample(torch.zeros(2, 1, 2), indices)])
    # mean (2, 1): (4 + 0 + 4 + 0) / (2 keypoints * 2 dims)
    assert losses['loss_pull'].item() == pytest.approx(2.)


def test_missing_targets_are_named():
    head = passthrough_head()
    feats = torch.zeros(2, 4, 2, 2)
    good = sample(torch.zeros(2, 2, 2), torch.zeros(0, 2, 2).long(),
                  torch.ones(1, 2, 2))
    no_mask = sample(torch.zeros(2, 2, 2), torch.zeros(0, 2, 2).long())
    with pytest.raises(KeyError, match='heatmap_mask is missing in data '
                       'sample 1'):
        head.loss((feats, ), [good, no_mask])
    bare = PoseDataSample()
    bare.gt_fields = PixelData(heatmaps=torch.zeros(2, 2, 2))
    with pytest.raises(KeyError, match='data sample 1 has no gt_instance_'
                       'labels.keypoint_indices'):
        head.loss((feats, ), [good, bare])
    small = sample(torch.zeros(2, 1, 1), torch.zeros(0, 2, 2).long())
    with pytest.raises(ValueError, match="codec's heatmap_size"):
        head.loss((feats[:1], ), [small])


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='AssociativeEmbeddingHead', in_channels=6,
                             num_keypoints=2, deconv_out_channels=None))
    feats = (torch.randn(2, 6, 6, 6), )
    gt = torch.zeros(2, 6, 6)
    gt[0, 1, 1] = gt[0, 4, 4] = gt[1, 1, 4] = gt[1, 4, 1] = 1.
    # two persons, tags at their keypoints' cells
    indices = torch.tensor([[[7, 1], [10, 1]], [[28, 1], [25, 1]]])
    samples = [sample(gt, indices), sample(gt, indices)]
    optim = torch.optim.Adam(head.parameters(), lr=0.05)

    def total():
        return sum(head.loss(feats, samples).values())

    first = total().item()
    for _ in range(30):
        optim.zero_grad()
        loss = total()
        loss.backward()
        optim.step()
    assert total().item() < 0.3 * first


def test_predict_plain_passes_outputs_to_the_decoder():
    decoder = RecordingDecoder()
    head = passthrough_head(decoder=decoder)
    feats = torch.rand(2, 4, 3, 5)
    preds = head.predict((feats, ), [PoseDataSample()] * 2, {})
    heatmaps, tags = decoder.calls[0]
    assert torch.equal(heatmaps, feats[:, :2])
    assert torch.equal(tags, feats[:, 2:])
    assert len(preds) == 2
    assert preds[0].keypoints.shape == (1, 2, 2)
    assert preds[0].bbox_scores.shape == (1, )
    assert preds[1].keypoint_scores[0, 0] == pytest.approx(
        feats[1, 0].max().item())


def test_flip_test_merges_heatmaps_and_concatenates_tags():
    decoder = RecordingDecoder()
    head = passthrough_head(num_keypoints=3, tag_dim=2, decoder=decoder)
    feats = torch.rand(1, 9, 4, 5)
    flipped = torch.rand(1, 9, 4, 5)
    meta = PoseDataSample(metainfo=dict(flip_indices=[1, 0, 2]))
    head.predict([(feats, ), (flipped, )], [meta], dict(flip_test=True))
    heatmaps, tags = decoder.calls[0]
    back = flipped.flip(-1)
    expected = (feats[:, :3] + back[:, [1, 0, 2]]) * 0.5
    assert torch.allclose(heatmaps, expected)
    # tags (l * K + k): both components of each keypoint are swapped
    assert tuple(tags.shape) == (1, 12, 4, 5)
    assert torch.equal(tags[:, :6], feats[:, 3:])
    assert torch.equal(tags[:, 6:], back[:, [4, 3, 5, 7, 6, 8]])


def test_flip_test_shift_heatmap_moves_one_column_right():
    decoder = RecordingDecoder()
    head = passthrough_head(num_keypoints=1, decoder=decoder)
    feats = torch.zeros(1, 2, 1, 4)
    flipped = torch.tensor([1., 2., 3., 4.]).view(1, 1, 1, 4).repeat(
        1, 2, 1, 1)
    meta = PoseDataSample(metainfo=dict(flip_indices=[0]))
    head.predict([(feats, ), (flipped, )], [meta],
                 dict(flip_test=True, shift_heatmap=True))
    heatmaps, tags = decoder.calls[0]
    # mirrored: [4, 3, 2, 1]; shifted right keeping column 0: [4, 4, 3, 2]
    assert heatmaps[0, 0, 0].tolist() == [2., 2., 1.5, 1.]
    assert tags[0, 1, 0].tolist() == [4., 4., 3., 2.]


def test_flip_test_errors():
    head = passthrough_head(decoder=RecordingDecoder())
    feats = (torch.rand(1, 4, 2, 2), )
    with pytest.raises(KeyError, match='flip_indices'):
        head.predict([feats, feats], [PoseDataSample()],
                     dict(flip_test=True))
    meta = PoseDataSample(metainfo=dict(flip_indices=[1, 0]))
    with pytest.raises(ValueError, match='a list of two'):
        head.predict(feats, [meta], dict(flip_test=True))


def test_restore_heatmap_size_resizes_to_the_input():
    decoder = RecordingDecoder()
    head = passthrough_head(decoder=decoder)
    feats = torch.full((1, 4, 2, 3), 0.5)
    meta = PoseDataSample(metainfo=dict(input_size=(12, 8)))
    head.predict((feats, ), [meta], dict(restore_heatmap_size=True))
    heatmaps, tags = decoder.calls[0]
    assert tuple(heatmaps.shape) == (1, 2, 8, 12)
    assert tuple(tags.shape) == (1, 2, 8, 12)
    assert torch.allclose(heatmaps, torch.full_like(heatmaps, 0.5))
    # the preprocessor's batch_input_shape (h, w) wins over input_size
    meta.set_metainfo(dict(batch_input_shape=(4, 6)))
    head.predict((feats, ), [meta], dict(restore_heatmap_size=True))
    assert tuple(decoder.calls[1][0].shape) == (1, 2, 4, 6)
    other = PoseDataSample(metainfo=dict(input_size=(10, 10)))
    with pytest.raises(ValueError, match='one input size for the whole'):
        head.predict((torch.cat([feats, feats]), ),
                     [PoseDataSample(metainfo=dict(input_size=(12, 8))),
                      other], dict(restore_heatmap_size=True))


def test_multiscale_averages_heatmaps_at_the_base_size():
    decoder = RecordingDecoder()
    head = passthrough_head(decoder=decoder)
    base = torch.full((1, 4, 2, 2), 1.)
    large = torch.full((1, 4, 4, 4), 3.)
    head.predict([(base, ), (large, )], [PoseDataSample()],
                 dict(multiscale_test=True))
    heatmaps, tags = decoder.calls[0]
    assert tuple(heatmaps.shape) == (1, 2, 2, 2)
    assert torch.allclose(heatmaps, torch.full_like(heatmaps, 2.))
    assert torch.equal(tags, base[:, 2:])  # base-scale tags only
    head.predict([(base, ), (large, )], [PoseDataSample()],
                 dict(multiscale_test=True, multiscale_tags='concat'))
    tags = decoder.calls[1][1]
    assert tags.shape[1] == 4
    assert torch.allclose(tags[:, 2:], torch.full((1, 2, 2, 2), 3.))
    with pytest.raises(ValueError, match='multiscale_tags must be one of'):
        head.predict([(base, )], [PoseDataSample()],
                     dict(multiscale_test=True, multiscale_tags='mean'))


def test_shared_tags_reach_the_decoder_per_keypoint():
    decoder = RecordingDecoder()
    head = passthrough_head(num_keypoints=3, tag_dim=1,
                            tag_per_keypoint=False, decoder=decoder)
    feats = torch.rand(1, 4, 2, 2)
    head.predict((feats, ), [PoseDataSample()], {})
    tags = decoder.calls[0][1]
    assert tags.shape[1] == 3
    assert all(torch.equal(tags[:, k], feats[:, 3]) for k in range(3))


def test_output_heatmaps_and_missing_decoder():
    head = passthrough_head(decoder=RecordingDecoder())
    feats = torch.rand(1, 4, 2, 2)
    preds, fields = head.predict((feats, ), [PoseDataSample()],
                                 dict(output_heatmaps=True))
    assert torch.equal(fields[0].heatmaps, feats[0, :2])
    assert torch.equal(fields[0].tags, feats[0, 2:])
    with pytest.raises(ValueError, match="decoder=dict\\(type='Associative"):
        passthrough_head().predict((feats, ), [PoseDataSample()], {})
