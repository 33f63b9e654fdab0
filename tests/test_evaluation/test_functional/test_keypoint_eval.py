import numpy as np
import pytest

from posekit.evaluation.functional import (keypoint_auc, keypoint_epe,
                                           keypoint_nme,
                                           keypoint_pck_accuracy)

# ground truth at the origin; distances by hand:
#   instance 0: 0.5, 5.0, (masked)
#   instance 1: 0.1, 0.0, 1.0
GT = np.zeros((2, 3, 2))
PRED = np.array([[[0.5, 0.], [3., 4.], [7., 7.]],
                 [[0., 0.1], [0., 0.], [1., 0.]]])
MASK = np.array([[True, True, False], [True, True, True]])
NORM = np.full((2, 2), 10.)  # normalised: 0.05, 0.5 | 0.01, 0, 0.1


def test_pck_per_keypoint_and_average():
    acc, avg, cnt = keypoint_pck_accuracy(PRED, GT, MASK, 0.2, NORM)
    np.testing.assert_allclose(acc, [1.0, 0.5, 1.0])
    assert avg == pytest.approx(2.5 / 3)
    assert cnt == 3


def test_pck_threshold_is_strict():
    # 0.05 is not < 0.05
    acc, _, _ = keypoint_pck_accuracy(PRED, GT, MASK, 0.05, NORM)
    np.testing.assert_allclose(acc, [0.5, 0.5, 0.0])


def test_pck_drops_zero_norm_instances_and_empty_keypoints():
    norm = NORM.copy()
    norm[0, 0] = 0  # instance 0 no longer counts
    mask = MASK.copy()
    mask[:, 2] = False  # keypoint 2 never counts
    acc, avg, cnt = keypoint_pck_accuracy(PRED, GT, mask, 0.2, norm)
    np.testing.assert_allclose(acc, [1.0, 1.0, -1.0])
    assert avg == pytest.approx(1.0)
    assert cnt == 2


def test_auc_hand_value():
    # thresholds 0, .25, .5, .75 give average PCK 0, 5/6, 5/6, 1
    auc = keypoint_auc(PRED, GT, MASK, norm_factor=10., num_thrs=4)
    assert auc == pytest.approx(2 / 3)


def test_epe_and_nme():
    assert keypoint_epe(PRED, GT, MASK) == pytest.approx(6.6 / 5)
    assert keypoint_nme(PRED, GT, MASK, NORM) == pytest.approx(0.66 / 5)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r'mask must be \(N, K\)'):
        keypoint_pck_accuracy(PRED, GT, MASK[:, :2], 0.2, NORM)
    with pytest.raises(ValueError, match='pred and gt'):
        keypoint_epe(PRED, GT[:1], MASK)
