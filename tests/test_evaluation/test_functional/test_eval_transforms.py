import numpy as np
import pytest

from posekit.evaluation.functional import (transform_ann, transform_pred,
                                           transform_sigmas)

# source joint 2 -> target 0, source 0 -> target 2; target 1 unfilled
MAPPING = [(2, 0), (0, 2)]


def test_transform_sigmas_list_and_array():
    assert transform_sigmas([.1, .2, .3], 3, MAPPING) == [.3, 1.0, .1]
    out = transform_sigmas(np.array([.1, .2, .3]), 4, MAPPING)
    np.testing.assert_allclose(out, [.3, 1., .1, 1.])


def test_transform_ann_reindexes_flat_triplets():
    ann = dict(keypoints=[1, 1, 2, 5, 5, 2, 9, 9, 1], num_keypoints=3)
    out = transform_ann(ann, 3, MAPPING)
    assert out is ann
    assert ann['keypoints'] == [9, 9, 1, 0, 0, 0, 1, 1, 2]
    assert ann['num_keypoints'] == 3


def test_transform_pred_reindexes_arrays():
    pred = dict(keypoints=np.arange(12.).reshape(2, 3, 2),
                keypoint_scores=np.array([[.1, .2, .3], [.4, .5, .6]]))
    transform_pred(pred, 4, MAPPING)
    assert pred['keypoints'].shape == (2, 4, 2)
    np.testing.assert_allclose(pred['keypoints'][0],
                               [[4, 5], [0, 0], [0, 1], [0, 0]])
    np.testing.assert_allclose(pred['keypoint_scores'][1], [.6, 0, .4, 0])


def test_bad_mapping_is_named():
    with pytest.raises(ValueError, match=r'\(\(0, 1\), 2\)'):
        transform_sigmas([.1, .2], 3, [((0, 1), 2)])
    with pytest.raises(ValueError, match=r'\[0, 2\)'):
        transform_sigmas([.1, .2], 2, [(0, 5)])
