import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from posekit.codecs import AssociativeEmbedding
from posekit.registry import KEYPOINT_CODECS

INPUT, HEATMAP = (512, 512), (128, 128)  # 4 input pixels per cell
ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


def _codec(**kwargs):
    cfg = dict(sigma=2.0, decode_keypoint_order=ORDER)
    cfg.update(kwargs)
    return AssociativeEmbedding(INPUT, HEATMAP, **cfg)


def _paint_tags(cells, values, radius, channels=17, shared=False):
    """Tag maps ``(1, C, 128, 128)``: person p's tag ``values[p]`` (a
    vector of L components) on a square of ``radius`` around each of its
    keypoint cells; channel ``l * K + k`` (or ``l`` when ``shared``)."""
    values = np.asarray(values, np.float32).reshape(len(cells), -1)
    dim = values.shape[1]
    tags = np.zeros((dim * (1 if shared else channels), 128, 128),
                    np.float32)
    for person, xy in enumerate(cells):
        for k, (x, y) in enumerate(xy):
            for comp in range(dim):
                c = comp if shared else comp * channels + k
                tags[c, max(y - radius, 0):y + radius + 1,
                     max(x - radius, 0):x + radius + 1] = values[person,
                                                                 comp]
    return torch.from_numpy(tags)[None]


def _separated_persons(rng, num, low=10, high=500):
    """``(num, 17, 2)`` random persons whose keypoints of one type are at
    least 5 cells apart in x or y, so that no painted 7x7 tag square
    reaches another person's peak of that type."""
    kpts = rng.uniform(low, high, (num, 17, 2)).astype(np.float32)
    for k in range(17):
        while True:
            cells = (kpts[:, k] / 4 + 0.5).astype(np.int64)
            gap = np.abs(cells[:, None] - cells[None]).max(-1)
            close = np.triu(gap < 5, 1)
            if not close.any():
                break
            kpts[np.nonzero(close)[1], k] = rng.uniform(low, high, 2)
    return kpts


def _decode_persons(codec, kpts, values, radius=3, shared=False):
    heatmaps = torch.from_numpy(codec.encode(kpts)['heatmaps'])[None]
    cells = (kpts / 4 + 0.5).astype(np.int64)
    tags = _paint_tags(cells, values, radius, shared=shared)
    return codec.batch_decode(heatmaps, tags)


def _match_errors(pred, true):
    """Per-keypoint errors ``(N, K)`` in input pixels after pairing each
    true person with a predicted one (Hungarian on mean distance)."""
    dist = np.linalg.norm(pred[:, None] - true[None], axis=-1)  # (P, T, K)
    rows, cols = linear_sum_assignment(dist.mean(-1))
    return dist[rows, cols]


def test_built_from_config_with_mmpose_arguments():
    codec = KEYPOINT_CODECS.build(dict(
        type='AssociativeEmbedding', input_size=(512, 512),
        heatmap_size=(128, 128), decode_keypoint_order=ORDER,
        decode_max_instances=30, decode_topk=20, decode_tag_thr=0.5))
    assert codec.sigma == 2.0  # sqrt(128 * 128) / 64
    assert codec.decode_keypoint_order == ORDER
    assert (codec.decode_max_instances, codec.decode_topk,
            codec.decode_tag_thr, codec.decode_nms_kernel) == (30, 20, 0.5, 5)
    np.testing.assert_array_equal(codec.scale_factor, [4, 4])
    assert codec.field_mapping_table == dict(heatmaps='heatmaps')
    assert codec.label_mapping_table == dict(
        keypoint_indices='keypoint_indices',
        keypoint_weights='keypoint_weights')
    assert AssociativeEmbedding((256, 144), (64, 36)).sigma == 0.75  # 48/64
    udp = AssociativeEmbedding((512, 512), (128, 128), use_udp=True)
    np.testing.assert_allclose(udp.scale_factor, [511 / 127] * 2, rtol=1e-6)


def test_encode_hand_computed_values():
    # (41, 82) -> cell (10.25, 20.5) -> nearest cell int(p + 0.5) = (10, 21)
    # (-4, 50) -> (-1, 12.5) + 0.5 -> x truncated to 0: on the map, (0, 13)
    # (-6, 50) -> x = -1.5 + 0.5 = -1: off the map, but its Gaussian window
    #             reaches in, so weight 1 and no index
    # (-200, 50): window outside -> weight 0; (60, 60) invisible -> 0
    # (100, 100) with visibility 0.5: drawn, weight 0.5, not > 0.5: invalid
    kpts = np.array([[[41, 82], [-4, 50], [-6, 50], [-200, 50], [60, 60],
                      [100, 100]]], np.float32)
    vis = np.array([[1, 1, 1, 1, 0, 0.5]], np.float32)
    enc = _codec(decode_keypoint_order=[]).encode(kpts, vis)
    assert enc['heatmaps'].shape == (6, 128, 128)
    assert enc['heatmaps'].dtype == np.float32
    assert enc['heatmaps'][0, 21, 10] == 1.0
    assert enc['heatmaps'][0, 21, 11] == pytest.approx(np.exp(-1 / 8))
    assert np.unravel_index(enc['heatmaps'][0].argmax(),
                            (128, 128)) == (21, 10)
    assert enc['keypoint_indices'].dtype == np.int64
    assert enc['keypoint_indices'].tolist() == [[
        [21 * 128 + 10, 1], [13 * 128 + 0, 1], [0, 0], [0, 0], [0, 0],
        [0, 0]]]
    assert enc['keypoint_weights'].tolist() == [[1, 1, 1, 0, 0, 0.5]]
    assert not enc['heatmaps'][4].any() and not enc['heatmaps'][3].any()
    assert enc['heatmaps'][5, 25, 25] == 1.0


def test_encode_merges_persons_by_max_and_handles_no_person():
    kpts = np.array([[[40, 80]], [[48, 80]]], np.float32)  # cells 10, 12
    enc = _codec(decode_keypoint_order=[]).encode(kpts)
    maps = enc['heatmaps']
    assert maps[0, 20, 10] == 1.0 and maps[0, 20, 12] == 1.0
    assert maps[0, 20, 11] == pytest.approx(np.exp(-1 / 8))
    assert enc['keypoint_indices'][:, 0, 0].tolist() == [2570, 2572]
    empty = _codec().encode(np.zeros((0, 17, 2), np.float32))
    assert empty['heatmaps'].shape == (17, 128, 128)
    assert not empty['heatmaps'].any()
    assert empty['keypoint_indices'].shape == (0, 17, 2)
    assert empty['keypoint_weights'].shape == (0, 17)


def test_encode_udp_centres_the_gaussian_on_the_subpixel_position():
    codec = AssociativeEmbedding(INPUT, HEATMAP, use_udp=True)
    # input x = 10.3 * 511 / 127 -> cell 10.3; y on cell 40 exactly
    kpts = np.array([[[10.3 * 511 / 127, 40 * 511 / 127]]], np.float32)
    enc = codec.encode(kpts)
    assert enc['heatmaps'][0, 40, 10] == pytest.approx(
        np.exp(-0.3**2 / 8), rel=1e-5)
    assert enc['heatmaps'][0, 40, 11] == pytest.approx(
        np.exp(-0.7**2 / 8), rel=1e-5)
    assert enc['keypoint_indices'].tolist() == [[[40 * 128 + 10, 1]]]


def test_round_trip_recovers_six_persons_within_one_cell():
    rng = np.random.default_rng(0)
    kpts = _separated_persons(rng, 6)
    keypoints, scores, instance_scores = _decode_persons(
        _codec(decode_max_instances=30), kpts, 2.0 * np.arange(6))
    assert len(keypoints) == len(scores) == len(instance_scores) == 1
    assert keypoints[0].shape == (6, 17, 2)
    assert keypoints[0].dtype == np.float32
    errors = _match_errors(keypoints[0], kpts)
    assert errors.max() <= 4.0  # one heatmap cell
    # every keypoint found on its peak (score 1), none filled
    np.testing.assert_array_equal(scores[0], 1.0)
    np.testing.assert_array_equal(instance_scores[0], 1.0)


def test_round_trip_with_overlapping_interleaved_persons():
    # Person B is person A moved by 3 cells (12 px) right, so every
    # keypoint of B lies between A's; C shares A's x but interleaves in y.
    # Peaks 3 cells apart survive the 5x5 NMS; tags are painted on a 3x3
    # square (radius 1), so they do not overlap either.
    rng = np.random.default_rng(1)
    base = np.stack([rng.uniform(40, 200, 17),
                     np.arange(17) * 24 + 40.0], -1)
    kpts = np.stack([base, base + (12, 0), base + (0, 12)]).astype(
        np.float32)
    keypoints, scores, _ = _decode_persons(_codec(), kpts, [0, 2, 4],
                                           radius=1)
    assert keypoints[0].shape == (3, 17, 2)
    assert _match_errors(keypoints[0], kpts).max() <= 4.0


def test_tag_dim_two():
    # Component 0 (0, 0.01, 0.02) cannot tell the persons apart; component
    # 1 (0, 3, 6) can. Channels: 17 for component 0, then 17 for 1.
    rng = np.random.default_rng(2)
    kpts = _separated_persons(rng, 3)
    values = [[0.0, 0.0], [0.01, 3.0], [0.02, 6.0]]
    keypoints, scores, _ = _decode_persons(_codec(), kpts, values)
    assert keypoints[0].shape == (3, 17, 2)
    assert _match_errors(keypoints[0], kpts).max() <= 4.0
    np.testing.assert_array_equal(scores[0], 1.0)


def test_one_tag_map_shared_by_all_keypoints():
    # Persons in separate quarters of the image, so that the shared map can
    # hold each person's tag around all of its keypoints.
    rng = np.random.default_rng(3)
    corners = np.array([[0, 0], [256, 0], [0, 256], [256, 256]])
    kpts = (corners[:, None] + rng.uniform(20, 230, (4, 17, 2))).astype(
        np.float32)
    keypoints, _, _ = _decode_persons(_codec(), kpts, [0, 2, 4, 6],
                                      shared=True)
    assert keypoints[0].shape == (4, 17, 2)
    assert _match_errors(keypoints[0], kpts).max() <= 4.0


def test_empty_heatmaps_give_no_person():
    keypoints, scores, instance_scores = _codec().batch_decode(
        torch.zeros(2, 17, 128, 128), torch.zeros(2, 17, 128, 128))
    assert [k.shape for k in keypoints] == [(0, 17, 2)] * 2
    assert [s.shape for s in scores] == [(0, 17)] * 2
    assert [s.shape for s in instance_scores] == [(0, )] * 2


def test_missing_keypoint_is_filled_from_the_tag_map():
    # Person 1's keypoint 5 peaks at only 0.05 (below decode_keypoint_thr):
    # it is filled at the cell of its own tag with the highest heatmap.
    kpts = np.array([[[100, 100]] * 17, [[300, 300]] * 17], np.float32)
    kpts[:, :, 0] += np.arange(17) * 8
    codec = _codec()
    heatmaps = codec.encode(kpts)['heatmaps']
    cells = (kpts / 4 + 0.5).astype(np.int64)
    x, y = cells[1, 5]
    heatmaps[5, y - 6:y + 7, x - 6:x + 7] *= 0.05
    tags = _paint_tags(cells, [0.0, 3.0], 3)
    keypoints, scores, instance_scores = codec.batch_decode(
        torch.from_numpy(heatmaps)[None], tags)
    person = np.argmin(np.abs(keypoints[0][:, 0, 1] - 300))
    assert keypoints[0][person, 5].tolist() == [x * 4.0, y * 4.0]
    assert scores[0][person, 5] == pytest.approx(0.05)
    # the instance score is the mean before filling: 16 ones and a 0
    assert instance_scores[0][person] == pytest.approx(16 / 17)


def test_max_instances_center_shift_and_restored_size():
    rng = np.random.default_rng(4)
    kpts = _separated_persons(rng, 6)
    heatmaps = torch.from_numpy(_codec().encode(kpts)['heatmaps'])[None]
    tags = _paint_tags((kpts / 4 + 0.5).astype(np.int64),
                       2.0 * np.arange(6), 3)
    assert len(_codec(decode_max_instances=4).batch_decode(
        heatmaps, tags)[0][0]) == 4
    plain = _codec().batch_decode(heatmaps, tags)[0][0]
    shifted = _codec(decode_center_shift=0.5).batch_decode(heatmaps,
                                                           tags)[0][0]
    np.testing.assert_allclose(shifted - plain, 2.0)  # 0.5 cell = 2 px
    # Maps at 256 x 256 (e.g. restored toward the input) decode with a
    # codec whose heatmap_size says so: 2 input px per cell, at most 0.75
    # cell (1.5 px) off per axis.
    fine = AssociativeEmbedding(INPUT, (256, 256), sigma=4.0)
    big_maps = torch.from_numpy(fine.encode(kpts)['heatmaps'])[None]
    cells = (kpts / 2 + 0.5).astype(np.int64)
    big_tags = torch.zeros(1, 17, 256, 256)
    for person, xy in enumerate(cells):
        for k, (x, y) in enumerate(xy):
            big_tags[0, k, y - 3:y + 4, x - 3:x + 4] = 2.0 * person
    big = fine.batch_decode(big_maps, big_tags)[0][0]
    assert big.shape == (6, 17, 2)
    assert _match_errors(big, kpts).max() <= 1.5 * np.sqrt(2)
    # The scale is the codec's fixed stride (input_size / heatmap_size),
    # not the size of the maps given: the 128-cell codec reads the same
    # cells as 4 px each.
    coarse = _codec().batch_decode(big_maps, big_tags)[0][0]
    np.testing.assert_allclose(coarse, 2 * big)


def test_maps_of_another_aspect_keep_the_stride():
    # A test image resized keeping its aspect ratio gives maps of another
    # size than heatmap_size, at the same stride: a peak at cell (8, 20)
    # of 16 x 24 maps is at (32, 80) for a 64 x 64 input, 16 x 16 codec.
    codec = AssociativeEmbedding((64, 64), (16, 16), sigma=1.0)
    heatmaps = torch.zeros(1, 17, 24, 16)
    heatmaps[0, :, 20, 8] = 1.0
    keypoints = codec.batch_decode(heatmaps, torch.zeros(1, 17, 24, 16))[0]
    assert keypoints[0].shape == (1, 17, 2)
    np.testing.assert_allclose(keypoints[0][0], [[32, 80]] * 17)


def test_batch_equals_single_decodes_and_udp_round_trip():
    rng = np.random.default_rng(5)
    codec = _codec(use_udp=True, sigma=2.0)
    scale = 511 / 127
    persons = [_separated_persons(rng, n, 20, 490) for n in (2, 3)]
    maps, tags = [], []
    for kpts in persons:
        maps.append(torch.from_numpy(codec.encode(kpts)['heatmaps']))
        tags.append(_paint_tags((kpts / scale + 0.5).astype(np.int64),
                                2.0 * np.arange(len(kpts)), 3)[0])
    batch = codec.batch_decode(torch.stack(maps), torch.stack(tags))
    for i, kpts in enumerate(persons):
        single = codec.decode(maps[i], tags[i])
        for got, want in zip(single, (b[i] for b in batch)):
            np.testing.assert_array_equal(got, want)
        # sub-pixel targets, DARK-UDP refinement: well within a cell
        assert _match_errors(batch[0][i], kpts).max() < 0.25 * scale


def test_bad_inputs_raise_clear_errors():
    codec = _codec()
    with pytest.raises(ValueError, match=r'decode_keypoint_order'):
        _codec(decode_keypoint_order=[0, 0, 1])
    with pytest.raises(ValueError, match=r'permutation of 0\.\.K-1'):
        _codec(decode_keypoint_order=[1, 2, 3])
    with pytest.raises(ValueError, match='heatmap_size'):
        AssociativeEmbedding(INPUT, (128, ))
    with pytest.raises(ValueError, match='decode_nms_kernel'):
        _codec(decode_nms_kernel=4)
    with pytest.raises(ValueError, match='decode_max_instances'):
        _codec(decode_max_instances=0)
    with pytest.raises(ValueError, match='sigma'):
        _codec(sigma=-1)
    maps = torch.zeros(1, 17, 128, 128)
    with pytest.raises(ValueError,
                       match=r'\(B, K \* tag_dim, H, W\) = \(1, 17 \* '
                       r'tag_dim, 128, 128\)'):
        codec.batch_decode(maps, torch.zeros(1, 17, 64, 64))
    with pytest.raises(ValueError, match=r'K = 17 channels'):
        codec.batch_decode(torch.zeros(1, 14, 128, 128), maps)
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        codec.batch_decode(maps[0], maps[0])
    with pytest.raises(ValueError, match='use batch_decode'):
        codec.decode(maps, maps)
    with pytest.raises(ValueError, match=r'keypoints must have shape'):
        codec.encode(np.zeros((2, 17), np.float32))


# ---- the sparse peak search gives the dense path's results exactly ----
def _slow_nms(maps, kernel):
    """Reference NMS, one cell at a time: the cell where it is the maximum
    of its window (clipped to the map), 0 elsewhere."""
    out = np.zeros_like(maps)
    r = kernel // 2
    n, h, w = maps.shape
    for c in range(n):
        for y in range(h):
            for x in range(w):
                win = maps[c, max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1]
                if maps[c, y, x] == win.max():
                    out[c, y, x] = maps[c, y, x]
    return out


def test_sparse_peaks_equal_a_slow_window_maximum():
    from posekit.codecs.utils.ae_candidates import find_peaks, peak_map
    rng = np.random.default_rng(3)
    maps = np.zeros((2, 3, 19, 23), np.float32)
    yy, xx = np.mgrid[:19, :23]
    for b in range(2):
        for k in range(3):
            for _ in range(4):  # blobs, some with plateaus, on the edges
                cy, cx = rng.integers(0, 19), rng.integers(0, 23)
                maps[b, k] = np.maximum(maps[b, k], np.round(np.exp(
                    -((yy - cy) ** 2 + (xx - cx) ** 2) / 1.5) * 4) / 4)
    maps[0, 0, 0, 0] = -0.5  # a negative cell is no peak next to zeros
    maps[1, 1, 10:12, 10:12] = 2.0  # a plateau: all four are peaks
    maps[0, 2, 3, [3, 5]] = 3.0  # equal maxima two cells apart
    for kernel in (3, 5, 7):
        peaks = find_peaks(maps, kernel)
        want = _slow_nms(maps.reshape(6, 19, 23), kernel).reshape(maps.shape)
        assert peaks is not None
        np.testing.assert_array_equal(peak_map(maps, peaks), want)
    assert find_peaks(maps, 1) is None  # every cell is a peak: dense path
    bad = maps.copy()
    bad[1, 2, 5, 5] = np.nan
    assert find_peaks(bad, 5) is None


def test_short_row_topk_orders_ties_as_torch_topk_on_whole_maps():
    import torch.nn.functional as F
    from posekit.codecs.utils.ae_candidates import (find_peaks,
                                                    topk_of_peak_map)
    rng = np.random.default_rng(4)
    codec = _codec()
    # Encoded maps peak at exactly 1.0: 12 tied peaks per keypoint.
    maps = codec.encode(rng.uniform(0, 512, (12, 17, 2)))['heatmaps'][None]
    tags = rng.normal(size=(1, 34, 128, 128)).astype(np.float32)
    maps[0, 3, :3, :3] = -0.5  # a negative peak among the first cells
    maps[0, 3, 0, 0] = -0.25
    peaks = find_peaks(maps, 5)
    nms = torch.from_numpy(maps) * (torch.from_numpy(maps) == F.max_pool2d(
        torch.from_numpy(maps), 5, 1, 2))
    for topk in (5, 30, 300):  # 300 * 64 > 128 * 128: whole rows
        vals, idx = nms.reshape(1, 17, -1).topk(topk)
        got_vals, got_tags, got_locs = topk_of_peak_map(maps, peaks, tags,
                                                        topk)
        np.testing.assert_array_equal(got_vals, vals.numpy())
        np.testing.assert_array_equal(got_locs[..., 1] * 128 +
                                      got_locs[..., 0], idx.numpy())
        k = np.arange(17)[None, :, None]
        np.testing.assert_array_equal(
            got_tags[..., 1], tags[0, 17 + k, idx.numpy() // 128,
                                   idx.numpy() % 128])
    assert (vals.numpy()[0, :, :5] == 1).all()  # the ties were there


@pytest.mark.parametrize('case', ['encoded', 'noisy', 'shared', 'udp'])
def test_sparse_and_dense_decoding_agree_exactly(case, monkeypatch):
    import posekit.codecs.associative_embedding as module
    rng = np.random.default_rng(7)
    codec = _codec(use_udp=case == 'udp', decode_max_instances=30)
    kpts = _separated_persons(rng, 5)
    heat = codec.encode(kpts)['heatmaps'][None]
    if case == 'noisy':  # no ties, some weak false peaks
        heat = heat * rng.uniform(0.5, 1, heat.shape).astype(np.float32)
    channels = 1 if case == 'shared' else 17
    tags = rng.normal(size=(1, channels, 128, 128)).astype(np.float32)
    tags = torch.from_numpy(np.round(tags * 2))
    heat = torch.from_numpy(heat)
    sparse = codec.batch_decode(heat, tags)
    monkeypatch.setattr(module, 'find_peaks', lambda *args: None)
    dense = codec.batch_decode(heat, tags)
    assert len(sparse[0][0]) > 0
    for got, want in zip(sparse, dense):
        np.testing.assert_array_equal(got[0], want[0])
