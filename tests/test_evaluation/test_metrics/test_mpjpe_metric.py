"""keypoint_mpjpe and the MPJPE metric."""
import numpy as np
import pytest

from posekit.evaluation.functional.mpjpe import keypoint_mpjpe
from posekit.evaluation.metrics.mpjpe_metric import MPJPE


def _rot_z(deg):
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0],
                     [0, 0, 1]])


GT = np.array([[[0., 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]])  # (1, 4, 3)
MASK = np.ones((1, 4), bool)


def test_plain_mpjpe_hand_computed():
    pred = GT + np.array([3., 4., 0.])  # every joint off by 5
    assert keypoint_mpjpe(pred, GT, MASK) == pytest.approx(5.0)
    mask = np.array([[True, False, False, False]])
    pred2 = GT.copy()
    pred2[0, 1] += [0, 0, 7]  # masked out
    assert keypoint_mpjpe(pred2, GT, mask) == pytest.approx(0.0)


def test_procrustes_removes_similarity_transform():
    pred = 2.5 * GT @ _rot_z(40).T + np.array([1., -2., 0.5])
    assert keypoint_mpjpe(pred, GT, MASK) > 1.0
    assert keypoint_mpjpe(pred, GT, MASK, 'procrustes') == pytest.approx(
        0.0, abs=1e-9)
    # A reflection is not a rotation: it must not be undone.
    mirrored = GT * np.array([-1., 1., 1.])
    assert keypoint_mpjpe(mirrored, GT, MASK, 'procrustes') > 0.1


def test_scale_alignment():
    assert keypoint_mpjpe(3 * GT, GT, MASK, 'scale') == pytest.approx(0.0)
    # Mean norm of GT joints: (0 + 1 + 2 + 3) / 4 = 1.5; 3x -> error 2 * 1.5.
    assert keypoint_mpjpe(3 * GT, GT, MASK) == pytest.approx(3.0)
    assert keypoint_mpjpe(3 * GT @ _rot_z(90).T, GT, MASK, 'scale') > 0.5
    with pytest.raises(ValueError, match='alignment'):
        keypoint_mpjpe(GT, GT, MASK, 'affine')


def _sample(pred, gt, path):
    return dict(pred_instances=dict(keypoints=pred[None]),
                gt_instances=dict(lifting_target=gt,
                                  lifting_target_visible=np.ones((1, 4))),
                target_img_path=[path])


def test_metric_overall_and_per_action():
    walk = 'S9/S9_Walking_1.55011271/S9_Walking_1.55011271_000010.jpg'
    sit = 'S11_Sitting.54138969_000002.jpg'
    samples = [_sample(GT + [0, 0, 2.], GT, walk),
               _sample(GT + [0, 0, 4.], GT, walk.replace('_1.', '.')),
               _sample(2 * GT, GT, sit)]
    metric = MPJPE(mode='mpjpe')
    metric.process([], samples)
    res = metric.compute_metrics(metric.results)
    assert res['MPJPE_Walking'] == pytest.approx(3.0)
    assert res['MPJPE_Sitting'] == pytest.approx(1.5)
    assert res['MPJPE'] == pytest.approx((2 + 4 + 1.5) / 3)
    n = MPJPE(mode='n-mpjpe')
    n.process([], samples)
    assert n.compute_metrics(n.results)['N-MPJPE_Sitting'] == \
        pytest.approx(0.0)
    skip = MPJPE(mode='p-mpjpe', skip_list=['S11_Sitting'])
    skip.process([], samples)
    assert set(skip.compute_metrics(skip.results)) == {'P-MPJPE',
                                                       'P-MPJPE_Walking'}


def test_metric_bad_mode():
    with pytest.raises(KeyError, match="got 'mpjpe2'"):
        MPJPE(mode='mpjpe2')
