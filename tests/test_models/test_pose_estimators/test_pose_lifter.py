import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from posekit.models.pose_estimators.pose_lifter import flip_lifting_inputs
from posekit.registry import KEYPOINT_CODECS, MODELS
from posekit.structures import PoseDataSample

K = 4
FLIP = [1, 0, 3, 2]


@KEYPOINT_CODECS.register_module(name='_TestLiftRootCodec', force=True)
class LiftRootCodec:
    """Test double: adds the stored root to the root-relative joints."""

    def decode(self, coords, target_root=None):
        kpts = coords if target_root is None else coords + target_root
        return kpts, np.ones(kpts.shape[:-1], np.float32)


def _model(**kw):
    cfg = dict(
        type='PoseLifter',
        backbone=dict(type='TCN', in_channels=2 * K, stem_channels=16,
                      num_blocks=2, kernel_sizes=(1, 1, 1)),
        head=dict(type='TemporalRegressionHead', in_channels=16,
                  num_joints=K, loss=dict(type='MPJPELoss'),
                  decoder=dict(type='_TestLiftRootCodec')))
    cfg.update(kw)
    return MODELS.build(cfg)


def _samples(n, root=None):
    out = []
    for i in range(n):
        s = PoseDataSample()
        s.gt_instance_labels = InstanceData(
            lifting_target_label=torch.rand(1, K, 3),
            lifting_target_weight=torch.ones(1, K),
            trajectory_weights=torch.ones(1, K))
        meta = dict(flip_indices=FLIP)
        if root is not None:
            meta['target_root'] = np.array([[0., 0., root + i]], np.float32)
        s.set_metainfo(meta)
        out.append(s)
    return out


def test_loss_and_backward():
    model = _model()
    losses = model(torch.rand(3, 2 * K, 1), _samples(3), mode='loss')
    assert set(losses) == {'loss_pose3d', 'mpjpe'}
    losses['loss_pose3d'].backward()
    assert model.backbone.expand_conv.conv.weight.grad is not None


def test_predict_shapes_and_root():
    model = _model().eval()
    x = torch.rand(2, 2 * K, 1)
    with torch.no_grad():
        raw = model(x, mode='tensor')
        out = model(x, _samples(2, root=100.), mode='predict')
    assert raw.shape == (2, K, 3)
    kpts = out[1].pred_instances.keypoints
    assert kpts.shape == (1, K, 3)
    np.testing.assert_allclose(kpts[0, :, 2], raw[1, :, 2].numpy() + 101.,
                               rtol=1e-5)


def test_four_dim_inputs_are_flattened():
    model = _model().eval()
    x = torch.rand(2, K, 2, 1)
    with torch.no_grad():
        assert torch.allclose(model(x, mode='tensor'),
                              model(x.reshape(2, 2 * K, 1), mode='tensor'))


def test_flip_lifting_inputs_values():
    # joint k has (x, y) = (k + 1, 10 * k)
    x = torch.tensor([[1., 0], [2, 10], [3, 20], [4, 30]]).reshape(1, -1, 1)
    flipped = flip_lifting_inputs(x, FLIP).reshape(K, 2)
    assert flipped.tolist() == [[-2., 10], [-1, 0], [-4, 30], [-3, 20]]
    with pytest.raises(ValueError, match='flip_indices'):
        flip_lifting_inputs(torch.rand(1, 9, 1), FLIP)


def test_flip_test_symmetric_input_and_equivariance():
    model = _model(test_cfg=dict(flip_test=True)).eval()
    plain_model = _model().eval()
    plain_model.load_state_dict(model.state_dict())
    # a left/right symmetric pose: mirroring gives the same input
    sym = torch.tensor([[1., 0], [-1, 0], [2, 5], [-2, 5]]).reshape(1, -1, 1)
    assert torch.equal(flip_lifting_inputs(sym, FLIP), sym)
    mirror = np.array([-1., 1., 1.])
    with torch.no_grad():
        p_flip = model(sym, _samples(1), mode='predict')[0]
        p_plain = plain_model(sym, _samples(1), mode='predict')[0]
        plain = p_plain.pred_instances.keypoints[0]
        got = p_flip.pred_instances.keypoints[0]
        # the plain output and its mirror image, averaged: a symmetric pose
        np.testing.assert_allclose(got, 0.5 * (plain + plain[FLIP] * mirror),
                                   atol=1e-5)
        np.testing.assert_allclose(got[FLIP] * mirror, got, atol=1e-5)
        # any pose: flip-test output of the mirrored input is the mirror of
        # the flip-test output
        x = torch.rand(1, 2 * K, 1)
        a = model(x, _samples(1), mode='predict')[0].pred_instances
        b = model(flip_lifting_inputs(x, FLIP), _samples(1),
                  mode='predict')[0].pred_instances
    mirrored = b.keypoints[0][FLIP] * mirror
    np.testing.assert_allclose(a.keypoints[0], mirrored, atol=1e-5)
    # and it differs from the plain prediction for an asymmetric pose
    with torch.no_grad():
        c = plain_model(x, _samples(1), mode='predict')[0].pred_instances
    assert not np.allclose(a.keypoints, c.keypoints, atol=1e-4)


def test_trajectory_model_and_auxiliary_head():
    head = dict(type='TrajectoryRegressionHead', in_channels=16,
                num_joints=K)
    model = _model(traj_head=head, auxiliary_head=dict(
        type='TemporalRegressionHead', in_channels=16, num_joints=K,
        loss=dict(type='MPJPELoss')))
    assert model.share_backbone and model.with_traj
    losses = model(torch.rand(2, 2 * K, 1), _samples(2), mode='loss')
    assert set(losses) == {'loss_pose3d', 'mpjpe', 'loss_traj',
                           'mpjpe_traj', 'aux_loss_pose3d', 'aux_mpjpe'}
    pose, traj = model(torch.rand(2, 2 * K, 1), mode='tensor')
    assert pose.shape == traj.shape == (2, K, 3)
    # an inference model built without the auxiliary head loads strictly
    infer = _model(traj_head=head, test_cfg=dict(drop_auxiliary=True))
    infer.load_state_dict(model.state_dict(), strict=True)
    assert not infer.with_auxiliary_head


def test_output_keypoint_indices_and_errors():
    model = _model(test_cfg=dict(output_keypoint_indices=[0, 2])).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 2 * K, 1), _samples(1), mode='predict')
    assert out[0].pred_instances.keypoints.shape == (1, 2, 3)
    assert model.causal is False
    no_head = _model(head=None)
    with pytest.raises(ValueError, match='model.head'):
        no_head(torch.rand(1, 2 * K, 1), _samples(1), mode='predict')
