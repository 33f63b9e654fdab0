import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posekit.codecs.utils import (batch_heatmap_nms, batch_topk_candidates,
                                  fill_missing_keypoints,
                                  group_keypoints_by_tags, mean_tags)
from posekit.codecs.utils.ae_grouping import _Groups


def _locs(k, m):
    """Candidate cells that name themselves: keypoint k, row m at
    (10 k + m, m)."""
    return np.stack(np.broadcast_arrays(
        10 * np.arange(k)[:, None] + np.arange(m), np.arange(m)), -1)


# ---- peaks and candidates ----
def test_nms_keeps_local_maxima_and_ties():
    maps = torch.zeros(1, 1, 5, 6)
    maps[0, 0, 0, 0] = 0.5          # border peak
    maps[0, 0, 1, 1] = 0.4          # within 2 cells of 0.5: suppressed
    maps[0, 0, 3, 4] = 0.9          # two equal peaks side by side
    maps[0, 0, 3, 5] = 0.9
    maps[0, 0, 4, 2] = 0.2          # 2 cells left of 0.9: suppressed
    out = batch_heatmap_nms(maps, 5)
    assert torch.nonzero(out[0, 0]).tolist() == [[0, 0], [3, 4], [3, 5]]
    assert out[0, 0, 3, 4] == 0.9
    # a 3 x 3 window no longer reaches from (4, 2) to the 0.9s
    assert torch.nonzero(batch_heatmap_nms(maps, 3)[0, 0]).tolist() == [
        [0, 0], [3, 4], [3, 5], [4, 2]]


@pytest.mark.parametrize('kernel', [1, 3, 5, 7])
def test_nms_equals_max_pool_reference(kernel):
    maps = torch.rand(2, 3, 9, 13).round(decimals=1)  # many ties
    pooled = F.max_pool2d(maps, kernel, stride=1, padding=kernel // 2)
    expected = torch.where(maps == pooled, maps, torch.zeros(()))
    assert torch.equal(batch_heatmap_nms(maps, kernel), expected)


def test_nms_rejects_even_kernel():
    with pytest.raises(ValueError, match='kernel_size must be a positive'
                       ' odd integer, got 4'):
        batch_heatmap_nms(torch.zeros(1, 1, 4, 4), 4)


def test_topk_candidates_per_keypoint_and_shared_tags():
    peaks = torch.tensor([[[[0.1, 0.7, 0.0], [0.0, 0.3, 0.0]],
                           [[0.0, 0.0, 0.2], [0.8, 0.0, 0.0]]]])
    tags = torch.arange(4 * 6, dtype=torch.float32).reshape(1, 4, 2, 3)
    vals, picked, locs = batch_topk_candidates(peaks, tags, 2)
    np.testing.assert_allclose(vals, [[[0.7, 0.3], [0.8, 0.2]]])
    assert locs.tolist() == [[[[1, 0], [1, 1]], [[0, 1], [2, 0]]]]
    # keypoint 0 reads channels 0 and 2, keypoint 1 channels 1 and 3
    assert picked.shape == (1, 2, 2, 2)
    assert picked[0, 0].tolist() == [[1, 13], [4, 16]]
    assert picked[0, 1].tolist() == [[9, 21], [8, 20]]
    shared = torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)
    _, picked, _ = batch_topk_candidates(peaks, shared, 2)
    assert picked[0, :, :, 0].tolist() == [[1, 4], [3, 2]]
    # topk larger than the map: every cell
    assert batch_topk_candidates(peaks, tags, 30)[0].shape == (1, 2, 6)


# ---- tag means ----
@pytest.mark.parametrize('dim', [1, 2])
def test_mean_tags_rounds_like_numpy_mean(dim):
    rng = np.random.default_rng(dim)
    counts = rng.integers(1, 21, 400)
    table = (rng.normal(size=(400, 20, dim)) * rng.uniform(
        0.1, 100, (400, 1, 1))).astype(np.float32)
    expected = np.stack([np.mean(list(t[:c]), axis=0)
                         for t, c in zip(table, counts)])
    np.testing.assert_array_equal(mean_tags(table, counts), expected)


@pytest.mark.parametrize('dim', [1, 2])
def test_running_group_means_round_like_numpy_mean(dim):
    rng = np.random.default_rng(10 + dim)
    groups = _Groups(8, 20, dim)
    groups.size = 8
    lists = [[] for _ in range(8)]
    for step in range(20):
        chosen = np.flatnonzero(rng.uniform(size=8) < 0.8)
        tags = rng.normal(0, 30, (len(chosen), dim)).astype(np.float32)
        if step == 12:  # lists restarted part-way, as on a key clash
            groups._restart(chosen, tags)
            for g, t in zip(chosen, tags):
                lists[g] = [t]
        else:
            groups._append(chosen, tags)
            for g, t in zip(chosen, tags):
                lists[g].append(t)
    expected = np.stack([np.mean(lst, axis=0) for lst in lists])
    np.testing.assert_array_equal(groups.means(), expected)


# ---- grouping ----
def test_grouping_hand_example():
    # order 1, 0, 2. Keypoint 1 starts persons with tags 0, 5, 10.
    # Keypoint 0: tag 5.2 joins tag 5, 0.3 joins 0 (the 0.05 candidate is
    # below val_thr). Keypoint 2: 9.4 joins 10, -20 starts a fourth person.
    # Costs (100 x rounded distance) of keypoint 2: 9.4 -> 900, 400, 100;
    # -20 -> 2000, 2500, 3000: the cheapest one-to-one matching (2100)
    # gives 9.4 person 2 and -20 person 0, too far away to join it.
    vals = np.array([[0.9, 0.8, 0.05], [0.95, 0.7, 0.3], [0.6, 0.5, 0.0]],
                    np.float32)
    tags = np.array([[5.2, 0.3, 20], [0, 5, 10], [9.4, -20, 0]],
                    np.float32)[..., None]
    out = group_keypoints_by_tags(vals, tags, _locs(3, 3), [1, 0, 2],
                                  val_thr=0.1, tag_thr=1.0)
    assert out.dtype == np.float32 and out.shape == (4, 3, 3)
    expected = np.zeros((4, 3, 3), np.float32)
    expected[0] = [[1, 1, 0.8], [10, 0, 0.95], [0, 0, 0]]
    expected[1] = [[0, 0, 0.9], [11, 1, 0.7], [0, 0, 0]]
    expected[2] = [[0, 0, 0], [12, 2, 0.3], [20, 0, 0.6]]
    expected[3] = [[0, 0, 0], [0, 0, 0], [21, 1, 0.5]]
    np.testing.assert_array_equal(out, expected)
    limited = group_keypoints_by_tags(vals, tags, _locs(3, 3), [1, 0, 2],
                                      0.1, 1.0, max_groups=2)
    np.testing.assert_array_equal(limited, expected[:2])
    # With 30 instead of -20 the cheapest matching is 9.4 -> person 1 (400)
    # and 30 -> person 2 (2000), not 9.4 -> 2 (100) and 30 -> 1 (2500):
    # the sum of rounded distances lets the far candidate push 9.4 out,
    # and both start persons (as in the published algorithm).
    tags[2, 1] = 30
    out = group_keypoints_by_tags(vals, tags, _locs(3, 3), [1, 0, 2],
                                  val_thr=0.1, tag_thr=1.0)
    assert out.shape == (5, 3, 3)
    assert out[3:, 2].tolist() == [[20, 0, pytest.approx(0.6)],
                                   [21, 1, pytest.approx(0.5)]]


def test_grouping_tag_threshold_is_exclusive_and_uses_the_mean():
    # Person tag after keypoints 0 and 1: mean(0, 0.5) = 0.25. Keypoint 2
    # at 1.25 is 1.0 away: not below tag_thr 1 -> a new person.
    vals = np.full((3, 1), 0.9, np.float32)
    tags = np.array([[[0.0]], [[0.5]], [[1.25]]], np.float32)
    out = group_keypoints_by_tags(vals, tags, _locs(3, 1), [0, 1, 2],
                                  0.1, 1.0)
    assert out.shape == (2, 3, 3)
    assert out[:, :, 2].tolist() == [[pytest.approx(0.9)] * 2 + [0],
                                     [0, 0, pytest.approx(0.9)]]
    assert len(group_keypoints_by_tags(vals, tags, _locs(3, 1),
                                       [0, 1, 2], 0.1, 1.01)) == 1


def test_grouping_euclidean_distance_for_two_dimensional_tags():
    vals = np.full((2, 1), 0.9, np.float32)
    far = np.array([[[0, 0]], [[0.8, 0.8]]], np.float32)   # 1.13 apart
    near = np.array([[[0, 0]], [[0.6, 0.6]]], np.float32)  # 0.85 apart
    assert len(group_keypoints_by_tags(vals, far, _locs(2, 1), [0, 1],
                                       0.1)) == 2
    assert len(group_keypoints_by_tags(vals, near, _locs(2, 1), [0, 1],
                                       0.1)) == 1


def test_grouping_candidates_with_an_existing_key_join_that_person():
    # The published code keys persons by the first tag component: two
    # first candidates with tag 3 make one person holding the later one.
    vals = np.array([[0.9, 0.8], [0.0, 0.0]], np.float32)
    tags = np.full((2, 2, 1), 3.0, np.float32)
    out = group_keypoints_by_tags(vals, tags, _locs(2, 2), [0, 1], 0.1)
    assert out.tolist() == [[[1, 1, pytest.approx(0.8)], [0, 0, 0]]]
    # Later step: both tag-4 candidates want person 1; the one not given it
    # starts a person with key 4, which exists, so it lands in person 1
    # too; the later candidate (row 1) ends up there either way.
    vals = np.array([[0.9, 0.8], [0.9, 0.8]], np.float32)
    tags = np.array([[0, 4], [4, 4]], np.float32)[..., None]
    out = group_keypoints_by_tags(vals, tags, _locs(2, 2), [0, 1], 0.1)
    assert out.shape == (2, 2, 3)
    assert out[0, 1].tolist() == [0, 0, 0]
    assert out[1, 1].tolist() == [11, 1, pytest.approx(0.8)]


def test_grouping_errors():
    vals = np.ones((2, 1), np.float32)
    tags = np.zeros((2, 1, 1), np.float32)
    with pytest.raises(ValueError, match=r'permutation of 0\.\.1'):
        group_keypoints_by_tags(vals, tags, _locs(2, 1), [0, 0], 0.1)
    with pytest.raises(ValueError, match=r'tags \(K, M, L\)'):
        group_keypoints_by_tags(vals, tags[:1], _locs(2, 1), [0, 1], 0.1)
    tags[1] = np.nan
    with pytest.raises(ValueError, match='keypoint 1 has candidates with '
                       'non-finite'):
        group_keypoints_by_tags(vals, tags, _locs(2, 1), [0, 1], 0.1)


# ---- filling ----
def test_fill_missing_keypoint_hand_example():
    # Instance 0 found keypoint 0 at (1.75, 2.0): its tag is read at the
    # truncated cell (1, 2), value 2. Keypoint 1 is missing: cells (3, 0)
    # (tag 2.2) and (4, 3) (tag 1.6) both round to distance 0; the larger
    # heatmap value (0.6 at (4, 3)) wins.
    heatmaps = np.zeros((2, 4, 5), np.float32)
    heatmaps[1, 0, 3], heatmaps[1, 3, 4] = 0.3, 0.6
    tags = np.full((2, 4, 5), 10.0, np.float32)
    tags[0, 2, 1] = 2.0
    tags[1, 0, 3], tags[1, 3, 4] = 2.2, 1.6
    keypoints = np.array([[[1.75, 2.0], [0, 0]]], np.float32)
    scores = np.array([[0.9, 0.0]], np.float32)
    out, out_scores = fill_missing_keypoints(keypoints, scores, heatmaps,
                                             tags)
    assert out.tolist() == [[[1.75, 2.0], [4, 3]]]
    assert out_scores.tolist() == [[pytest.approx(0.9), pytest.approx(0.6)]]
    assert scores[0, 1] == 0  # input untouched
    # One tag map for both keypoints: keypoint 1 now searches map 0, where
    # only (1, 2) holds 2.0 (heatmap 0 there).
    shared, shared_scores = fill_missing_keypoints(keypoints, scores,
                                                   heatmaps, tags[:1])
    assert shared[0, 1].tolist() == [1, 2] and shared_scores[0, 1] == 0
    with pytest.raises(ValueError, match=r'instances \[0\] have no '
                       'keypoint'):
        fill_missing_keypoints(keypoints, np.zeros_like(scores), heatmaps,
                               tags)
