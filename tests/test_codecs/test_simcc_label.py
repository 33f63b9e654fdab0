import cv2
import numpy as np
import pytest
import torch

from posekit.codecs import SimCCLabel
from posekit.registry import KEYPOINT_CODECS

INPUT = (192, 256)  # (w, h) -> 384 x bins, 512 y bins at split ratio 2
NORM6 = 6 * np.sqrt(2 * np.pi)  # normalisation of a sigma-6 label


def _random_keypoints(rng, num=1, k=17):
    return rng.uniform([0, 0], [191, 255], (num, k, 2)).astype(np.float32)


def ref_dark_1d(bins, vectors, kernel):
    """1-D DARK, one vector at a time: blur with zeros around, restore the
    maximum, log of the clamp to [1e-3, 50], edge-extend by 2, Newton
    step. ``bins`` (M,) arg-max bins, ``vectors`` (M, W)."""
    pad = kernel // 2
    out = []
    for b, v in zip(bins, vectors):
        row = np.zeros((1, len(v) + 2 * pad), np.float32)
        row[0, pad:pad + len(v)] = v
        blurred = cv2.GaussianBlur(row, (kernel, 1), 0)[0, pad:pad + len(v)]
        blurred = blurred * (v.max() / blurred.max())
        logs = np.pad(np.log(np.clip(blurred, 1e-3, 50)), 2, mode='edge')
        c = int(b + 2.5)
        d = 0.5 * (logs[c + 1] - logs[c - 1])
        dd = 1e-9 + 0.25 * (logs[c + 2] - 2 * logs[c] + logs[c - 2])
        out.append(b - d / dd)
    return np.array(out)


def test_built_from_config_with_mmpose_arguments():
    codec = KEYPOINT_CODECS.build(dict(
        type='SimCCLabel', input_size=(192, 256), sigma=(4.9, 5.66),
        simcc_split_ratio=2.0, normalize=False, use_dark=True,
        decode_visibility=True, decode_beta=150.0))
    assert isinstance(codec, SimCCLabel)
    assert codec.simcc_size == (384, 512)
    np.testing.assert_array_equal(codec.sigma, [4.9, 5.66])
    # (20 * 4.9 - 7) // 3 = 30 -> even -> 29; (20 * 5.66 - 7) // 3 = 35
    assert codec.blur_kernel_sizes == (29, 35)
    assert codec.label_mapping_table == dict(
        keypoint_x_labels='keypoint_x_labels',
        keypoint_y_labels='keypoint_y_labels',
        keypoint_weights='keypoint_weights')
    assert codec.field_mapping_table == {}


@pytest.mark.parametrize('smoothing', ['gaussian', 'standard'])
def test_encode_shapes_and_dtypes(smoothing):
    enc = SimCCLabel(INPUT, smoothing_type=smoothing).encode(
        _random_keypoints(np.random.default_rng(0), num=2))
    assert enc['keypoint_x_labels'].shape == (2, 17, 384)
    assert enc['keypoint_y_labels'].shape == (2, 17, 512)
    assert enc['keypoint_weights'].shape == (2, 17)
    assert all(v.dtype == np.float32 for v in enc.values())


def test_gaussian_label_values():
    # (10.3, 20.6) px -> bins (round(20.6), round(41.2)) = (21, 41)
    enc = SimCCLabel(INPUT).encode(np.array([[[10.3, 20.6]]], np.float32))
    x, y = enc['keypoint_x_labels'][0, 0], enc['keypoint_y_labels'][0, 0]
    assert x.argmax() == 21 and y.argmax() == 41
    assert x[21] == pytest.approx(1 / NORM6, rel=1e-6)
    assert x[27] == pytest.approx(np.exp(-36 / 72) / NORM6, rel=1e-6)
    assert y[41 - 12] == pytest.approx(np.exp(-144 / 72) / NORM6, rel=1e-6)
    # every bin is drawn, even far from the centre
    assert x[-1] == pytest.approx(np.exp(-(383 - 21)**2 / 72) / NORM6)
    plain = SimCCLabel(INPUT, normalize=False).encode(
        np.array([[[10.3, 20.6]]], np.float32))
    assert plain['keypoint_x_labels'][0, 0, 21] == 1.0


def test_per_axis_sigma():
    codec = SimCCLabel(INPUT, sigma=(4.9, 5.66), normalize=False)
    enc = codec.encode(np.array([[[50.0, 60.0]]], np.float32))
    x, y = enc['keypoint_x_labels'][0, 0], enc['keypoint_y_labels'][0, 0]
    assert x[101] == pytest.approx(np.exp(-1 / (2 * 4.9**2)), rel=1e-6)
    assert y[122] == pytest.approx(np.exp(-4 / (2 * 5.66**2)), rel=1e-6)


def test_bins_round_half_to_even():
    # 10.25 px -> 20.5 -> 20; 10.75 px -> 21.5 -> 22
    kpts = np.array([[[10.25, 10.75], [10.75, 10.25]]], np.float32)
    enc = SimCCLabel(INPUT, smoothing_type='standard').encode(kpts)
    assert enc['keypoint_x_labels'][0].argmax(-1).tolist() == [20, 22]
    assert enc['keypoint_y_labels'][0].argmax(-1).tolist() == [22, 20]


def test_gaussian_round_trip_within_quarter_pixel():
    rng = np.random.default_rng(1)
    codec = SimCCLabel(INPUT)
    kpts = _random_keypoints(rng, num=3)
    enc = codec.encode(kpts)
    decoded, scores = codec.decode(enc['keypoint_x_labels'],
                                   enc['keypoint_y_labels'])
    assert decoded.shape == (3, 17, 2) and decoded.dtype == np.float32
    # the label peaks on round(2 p), so decoding gives round(2 p) / 2
    np.testing.assert_array_equal(decoded, np.rint(kpts * 2) / 2)
    assert np.abs(decoded - kpts).max() <= 0.25
    np.testing.assert_allclose(scores, 1 / NORM6, rtol=1e-6)


def test_standard_one_hot_and_label_smoothing():
    kpts = np.array([[[30.0, 40.0]]], np.float32)
    onehot = SimCCLabel(INPUT, smoothing_type='standard').encode(kpts)
    x = onehot['keypoint_x_labels'][0, 0]
    assert x[60] == 1.0 and x.sum() == 1.0
    assert onehot['keypoint_y_labels'][0, 0, 80] == 1.0
    smooth = SimCCLabel(INPUT, smoothing_type='standard',
                        label_smooth_weight=0.1).encode(kpts)
    x = smooth['keypoint_x_labels'][0, 0]
    assert x[60] == pytest.approx(0.9)
    assert x[0] == pytest.approx(0.1 / 383) and x[383] == x[0]
    y = smooth['keypoint_y_labels'][0, 0]
    assert y[5] == pytest.approx(0.1 / 511)
    codec = SimCCLabel(INPUT, smoothing_type='standard')
    decoded, _ = codec.decode(onehot['keypoint_x_labels'],
                              onehot['keypoint_y_labels'])
    np.testing.assert_array_equal(decoded, kpts)


def test_weights_invisible_and_outside_gaussian():
    # 3 sigma = 18 bins = 9 px: drawn while bin - 18 < 384 and bin + 19 > 0
    kpts = np.array([[[50, 50], [50, 50], [50, 50], [-5, 50], [-10, 50],
                      [200, 50], [201, 50], [50, 266]]], np.float32)
    vis = np.array([[1, 0, 0.3, 1, 1, 1, 1, 1]], np.float32)
    enc = SimCCLabel(INPUT).encode(kpts, vis)
    # invisible keep their visibility as weight and draw nothing; -5 px
    # (bin -10) and 200 px (bin 400) still overlap the bins
    np.testing.assert_allclose(enc['keypoint_weights'][0],
                               [1, 0, 0.3, 1, 0, 1, 0, 0])
    drawn = enc['keypoint_x_labels'][0].any(-1)
    assert drawn.tolist() == [True, False, False, True, False, True, False,
                              False]
    assert not enc['keypoint_y_labels'][0, ~drawn].any()
    # bin -10: the label's tail, decreasing across the bins
    x = enc['keypoint_x_labels'][0, 3]
    assert x[0] == pytest.approx(np.exp(-100 / 72) / NORM6, rel=1e-6)


def test_weights_outside_standard():
    # x bins must be in [0, 384): 191.5 px -> 383 is in, 191.75 -> 384 out
    kpts = np.array([[[191.5, 10], [191.75, 10], [-0.25, 10], [-0.3, 10],
                      [10, 255.75], [np.nan, 10]]], np.float32)
    enc = SimCCLabel(INPUT, smoothing_type='standard').encode(kpts)
    # -0.25 px -> -0.5 -> rounds to -0 (in); -0.3 px -> -0.6 -> -1 (out)
    assert enc['keypoint_weights'][0].tolist() == [1, 0, 1, 0, 0, 0]
    assert enc['keypoint_x_labels'][0, 0, 383] == 1.0
    assert enc['keypoint_x_labels'][0, 2, 0] == 1.0
    assert not enc['keypoint_x_labels'][0, [1, 3, 4, 5]].any()


def test_decode_one_sample_tensor_and_2d_input():
    codec = SimCCLabel(INPUT, smoothing_type='standard')
    enc = codec.encode(np.array([[[12.0, 7.5], [3.0, 4.0]]], np.float32))
    x = torch.from_numpy(enc['keypoint_x_labels'][0])   # (K, Wx)
    y = torch.from_numpy(enc['keypoint_y_labels'][0])
    kpts, scores = codec.decode(x, y)
    assert kpts.shape == (1, 2, 2) and scores.shape == (1, 2)
    np.testing.assert_array_equal(kpts[0], [[12.0, 7.5], [3.0, 4.0]])


def test_decode_non_positive_vector_gives_minus_one():
    codec = SimCCLabel(INPUT)
    x = np.full((2, 384), -1.0, np.float32)
    y = np.zeros((2, 512), np.float32)
    x[1, 100], y[1, 50] = 0.5, 0.25
    kpts, scores = codec.decode(x, y)
    # score = the smaller maximum; <= 0 -> location -1 (/ 2 -> -0.5)
    assert scores[0].tolist() == [-1.0, 0.25]
    np.testing.assert_array_equal(kpts[0], [[-0.5, -0.5], [50, 25]])


def test_dark_recovers_sub_bin_centres():
    rng = np.random.default_rng(2)
    centres = rng.uniform(20, 360, (17, 2))       # in bins
    bins_x, bins_y = np.arange(384), np.arange(512)
    x = np.exp(-(bins_x - centres[:, :1])**2 / 72).astype(np.float32)
    y = np.exp(-(bins_y - centres[:, 1:])**2 / 72).astype(np.float32)
    plain, _ = SimCCLabel(INPUT).decode(x, y)
    dark, _ = SimCCLabel(INPUT, use_dark=True).decode(x, y)
    truth = centres / 2
    assert np.abs(plain[0] - truth).max() > 0.15       # arg-max only
    assert np.abs(dark[0] - truth).max() < 0.01


def test_dark_matches_per_vector_reference():
    rng = np.random.default_rng(3)
    codec = SimCCLabel(INPUT, use_dark=True)
    enc = codec.encode(_random_keypoints(rng))
    x = enc['keypoint_x_labels'][0] + rng.normal(0, 1e-3, (17, 384))
    y = enc['keypoint_y_labels'][0] + rng.normal(0, 1e-3, (17, 512))
    x, y = x.astype(np.float32), y.astype(np.float32)
    x[4] = -0.5         # no positive score: the keypoint sits at -1
    kpts, _ = codec.decode(x, y)
    for axis, vectors in ((0, x), (1, y)):
        bins = vectors.argmax(1).astype(np.float32)
        bins[4] = -1
        expected = ref_dark_1d(bins, vectors, 37) / 2
        np.testing.assert_allclose(kpts[0, :, axis], expected, rtol=1e-6,
                                   atol=1e-5)


def test_decode_visibility():
    codec = SimCCLabel(INPUT, decode_visibility=True, decode_beta=1 / 6)
    x = np.zeros((1, 384), np.float32)
    y = np.zeros((1, 512), np.float32)
    x[0, 10], y[0, 20] = 0.8, 0.4
    kpts, (scores, visibility) = codec.decode(x, y)
    assert scores.tolist() == [[pytest.approx(0.4)]]
    # beta * sigma = 1: softmax maxima e^.8 / (e^.8 + 383) and
    # e^.4 / (e^.4 + 511); the smaller is kept
    expected = min(np.exp(.8) / (np.exp(.8) + 383),
                   np.exp(.4) / (np.exp(.4) + 511))
    assert visibility[0, 0] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(kpts, [[[5, 10]]])


def test_batch_decode_matches_per_sample_decode():
    torch.manual_seed(4)
    codec = SimCCLabel(INPUT, use_dark=True)
    x = torch.rand(3, 5, 384)
    y = torch.rand(3, 5, 512)
    assert codec.support_batch_decoding
    kpts, scores = codec.batch_decode((x, y))
    assert len(kpts) == len(scores) == 3
    for i in range(3):
        k, s = codec.decode(x[i].numpy(), y[i].numpy())
        assert kpts[i].shape == (1, 5, 2)
        np.testing.assert_array_equal(kpts[i], k)
        np.testing.assert_array_equal(scores[i], s)
    vis_codec = SimCCLabel(INPUT, decode_visibility=True)
    _, (sc, vis) = vis_codec.batch_decode((x, y))
    assert len(sc) == len(vis) == 3 and vis[0].shape == (1, 5)


@pytest.mark.parametrize('kwargs, message', [
    (dict(smoothing_type='laplace'), "smoothing_type must be one of"),
    (dict(label_smooth_weight=0.1), "only used with smoothing_type="),
    (dict(smoothing_type='standard', label_smooth_weight=1.5),
     r'label_smooth_weight must be in \[0, 1\]'),
    (dict(sigma=(1, 2, 3)), 'sigma must be a positive number or a pair'),
    (dict(sigma=-1), 'sigma must be a positive number or a pair'),
    (dict(simcc_split_ratio=0), 'simcc_split_ratio must be a positive'),
    (dict(sigma=0.3, use_dark=True), 'sigma >= 0.5'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimCCLabel(INPUT, **kwargs)


def test_bad_decode_input():
    codec = SimCCLabel(INPUT)
    with pytest.raises(ValueError, match=r'simcc_x must have shape \(K, '
                       r'384\) or \(N, K, 384\).*got \(17, 380\)'):
        codec.decode(np.zeros((17, 380)), np.zeros((17, 512)))
    with pytest.raises(ValueError, match=r'differ in \(N, K\)'):
        codec.decode(np.zeros((17, 384)), np.zeros((16, 512)))
    with pytest.raises(ValueError, match='keypoints must have shape'):
        codec.encode(np.zeros((17, 2)))
