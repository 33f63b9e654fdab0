import math

import numpy as np
import pytest

from posekit.evaluation.functional import (batched_oks_nms, oks_iou, oks_nms,
                                           soft_oks_nms)

# two keypoints with sigma 0.5: the OKS variance (2 * sigma)**2 is 1
SIG2 = np.array([0.5, 0.5])


def _inst(points, score, area=2.0, vis=1.0):
    kpts = np.concatenate([np.asarray(points, float),
                           np.full((len(points), 1), vis)], axis=1)
    return dict(keypoints=kpts, score=score, area=area)


def test_oks_iou_hand_values():
    g = np.array([0., 0., 1., 10., 0., 1.])
    d = np.array([[0., 0., 1., 10., 0., 1.],   # identical
                  [1., 0., 1., 11., 0., 1.],   # both joints 1 px off
                  [1., 0., 1., 10., 0., 1.]])  # one joint 1 px off
    ious = oks_iou(g, d, 2.0, np.array([2.0, 2.0, 2.0]), SIG2)
    # e = d^2 / var / mean_area / 2 = 1 / 1 / 2 / 2 = 0.25 per moved joint
    np.testing.assert_allclose(
        ious, [1.0, math.exp(-0.25), (1 + math.exp(-0.25)) / 2], rtol=1e-6)
    assert ious.dtype == np.float32


def test_oks_iou_vis_thr_counts_only_visible_joints():
    g = np.array([0., 0., 1., 10., 0., 1.])
    d = np.array([[1., 0., 1., 99., 0., 0.1]])  # second joint far but low
    ious = oks_iou(g, d, 2.0, np.array([2.0]), SIG2, vis_thr=0.5)
    np.testing.assert_allclose(ious, [math.exp(-0.25)], rtol=1e-6)
    none_visible = oks_iou(g, d, 2.0, np.array([2.0]), SIG2, vis_thr=2.0)
    assert none_visible[0] == 0.0


def test_oks_iou_sigma_count_mismatch_names_both():
    with pytest.raises(ValueError, match=r'2 joints.*`sigmas` has 17'):
        oks_iou(np.zeros(6), np.zeros((1, 6)), 1.0, np.ones(1))


def test_oks_nms_keeps_higher_of_near_identical():
    low = _inst([[0, 0], [10, 0]], 0.8)
    high = _inst([[0.01, 0], [10, 0]], 0.9)
    keep = oks_nms([low, high], thr=0.9, sigmas=SIG2)
    assert list(keep) == [1]


def test_oks_nms_keeps_both_when_far_apart_best_first():
    a = _inst([[0, 0], [10, 0]], 0.5)
    b = _inst([[100, 100], [110, 100]], 0.7)
    assert list(oks_nms([a, b], thr=0.9, sigmas=SIG2)) == [1, 0]
    assert oks_nms([], thr=0.9) == []


def test_oks_nms_is_greedy():
    # B overlaps A and C; C does not overlap A. A removes B, so C stays.
    a = _inst([[0, 0], [10, 0]], 0.9)
    b = _inst([[0.6, 0], [10.6, 0]], 0.8)
    c = _inst([[1.2, 0], [11.2, 0]], 0.7)
    oks_ab = math.exp(-0.36 / 4)   # 0.6 px apart, e = 0.36 / 1 / 2 / 2
    oks_ac = math.exp(-1.44 / 4)
    assert oks_ac < 0.8 < oks_ab
    assert list(oks_nms([a, b, c], thr=0.8, sigmas=SIG2)) == [0, 2]


def test_soft_oks_nms_decays_scores():
    a = _inst([[0, 0], [10, 0]], 0.9)
    b = _inst([[0, 0], [10, 0]], 0.8)        # OKS 1 with a
    c = _inst([[100, 0], [110, 0]], 0.7)     # OKS ~0 with both
    # b decays to 0.8 * exp(-1 / 0.3) = 0.028 < 0.7, so c comes before b
    assert list(soft_oks_nms([a, b, c], thr=0.3, sigmas=SIG2)) == [0, 2, 1]
    assert list(soft_oks_nms([a, b, c], thr=0.3, max_dets=2,
                             sigmas=SIG2)) == [0, 2]
    # hard NMS would drop b altogether
    assert list(oks_nms([a, b, c], thr=0.3, sigmas=SIG2)) == [0, 2]


def test_oks_nms_missing_key_is_named():
    with pytest.raises(KeyError, match="'area'"):
        oks_nms([dict(keypoints=np.zeros((2, 3)), score=1.0)], 0.9,
                sigmas=SIG2)


def test_batched_matches_per_image():
    rng = np.random.default_rng(0)
    counts = [1, 3, 5, 3, 2]
    image = np.repeat(np.arange(len(counts)) * 7, counts)
    n = len(image)
    base = rng.uniform(0, 50, (n, 17, 2))
    # make pairs of near duplicates inside images
    base[2] = base[1] + 0.5
    base[6] = base[5] + 0.2
    scores = rng.uniform(0, 1, n)
    areas = rng.uniform(500, 3000, n)
    keep = batched_oks_nms(image, base, scores, areas, thr=0.9)
    expected = []
    start = 0
    for c in counts:
        db = [dict(keypoints=np.concatenate([base[i], np.ones((17, 1))], 1),
                   score=scores[i], area=areas[i])
              for i in range(start, start + c)]
        expected += [start + int(i) for i in oks_nms(db, 0.9)]
        start += c
    assert keep.tolist() == expected
    assert 1 not in keep.tolist() or 2 not in keep.tolist()


def test_batched_needs_contiguous_images():
    with pytest.raises(ValueError, match='contiguous'):
        batched_oks_nms(np.array([0, 1, 0]), np.zeros((3, 17, 2)),
                        np.ones(3), np.ones(3), 0.9)
