"""Fuzzing the non-heatmap codecs: SimCCLabel, RegressionLabel,
AssociativeEmbedding, ImagePoseLifting and VideoPoseLifting. Extreme
keypoints encode to finite labels in their ranges; any finite model output
decodes to finite keypoints of the documented shapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from posekit.codecs import (AssociativeEmbedding, ImagePoseLifting,
                            RegressionLabel, SimCCLabel, VideoPoseLifting)


import _posekit_fuzz_inputs as fz  # noqa: E402  (conftest.py)
INPUT_SIZES = [(48, 64), (64, 48), (8, 6), (3, 2)]


def _outputs(shape):
    """Model outputs of ``shape``: zeros, a constant, noise, spikes."""
    return st.one_of(
        st.just(np.zeros(shape, np.float32)),
        st.floats(-5., 5., width=32).map(
            lambda v: np.full(shape, v, np.float32)),
        hnp.arrays(np.float32, shape, elements=st.floats(-1e3, 1e3,
                                                         width=32)),
        hnp.arrays(np.float32, shape, elements=st.sampled_from(
            [0., 1., -1., 1e-12, 60., 1e3])))


# ---- SimCC ----
@st.composite
def simcc_cases(draw):
    smoothing = draw(st.sampled_from(['gaussian', 'standard']))
    codec = SimCCLabel(
        draw(st.sampled_from(INPUT_SIZES)), smoothing,
        sigma=draw(st.sampled_from([6., 2., 0.5, (3., 1.5)])),
        simcc_split_ratio=draw(st.sampled_from([2., 1., 1.5])),
        label_smooth_weight=0. if smoothing == 'gaussian' else draw(
            st.sampled_from([0., 0.1, 1.])),
        normalize=draw(st.booleans()), use_dark=draw(st.booleans()),
        decode_visibility=draw(st.booleans()))
    num, k = draw(st.integers(0, 3)), draw(st.integers(1, 5))
    return (codec, draw(fz.keypoints(num, k)),
            draw(fz.visibility(num, k)))


@fz.fuzz_settings(100)
@given(simcc_cases())
def test_simcc_labels_in_range(case):
    codec, kpts, vis = case
    num, k = kpts.shape[:2]
    out = codec.encode(kpts, vis)
    wx, wy = codec.simcc_size
    x_labels, y_labels = out['keypoint_x_labels'], out['keypoint_y_labels']
    weights = out['keypoint_weights']
    assert x_labels.shape == (num, k, wx) and y_labels.shape == (num, k, wy)
    assert weights.shape == (num, k)
    assert ((weights == vis) | ((weights == 0) & (vis >= 0.5))).all()
    for labels, axis in ((x_labels, 0), (y_labels, 1)):
        fz.assert_finite('simcc labels', labels)
        if not num:
            continue
        sums = labels.sum(-1)
        drawn = labels.max(-1) > 0
        # Only visible keypoints with a non-zero weight draw a label.
        assert not (drawn & ((vis < 0.5) | (weights == 0))).any()
        if codec.smoothing_type == 'standard':
            assert labels.min() >= 0 and labels.max() <= 1
            np.testing.assert_allclose(sums[drawn], 1, rtol=1e-5)
            continue
        sigma = codec.sigma[axis]
        peak = 1 / (sigma * np.sqrt(2 * np.pi)) if codec.normalize else 1.
        assert labels.min() >= 0 and labels.max() <= peak * (1 + 1e-6)
        # A Gaussian's samples on unit spacing sum to at most about
        # sigma * sqrt(2 pi) times its peak (+ one peak for sigma < 1).
        assert (sums <= peak * (sigma * np.sqrt(2 * np.pi) + 1) + 1e-5).all()
    # decode: any finite output -> finite keypoints (N, K, 2)
    if not num:
        return
    # the labels themselves decode to finite keypoints
    keypoints, scores = codec.decode(x_labels, y_labels)
    if codec.decode_visibility:
        scores = scores[0]
    assert keypoints.shape == (num, k, 2) and scores.shape == (num, k)
    fz.assert_finite('simcc decoded keypoints', keypoints)
    fz.assert_finite('simcc decoded scores', scores)


@fz.fuzz_settings(60)
@given(st.data())
def test_simcc_decode_any_output(data):
    codec = SimCCLabel(data.draw(st.sampled_from(INPUT_SIZES)),
                       sigma=data.draw(st.sampled_from([6., 0.5])),
                       use_dark=data.draw(st.booleans()),
                       decode_visibility=data.draw(st.booleans()))
    k = data.draw(st.integers(1, 4))
    x = data.draw(_outputs((k, codec.simcc_size[0])))
    y = data.draw(_outputs((k, codec.simcc_size[1])))
    keypoints, scores = codec.decode(x, y)
    assert keypoints.shape == (1, k, 2)
    fz.assert_finite('simcc keypoints', keypoints)
    fz.assert_finite('simcc scores', scores)
    if codec.decode_visibility:
        visibility = scores[1]
        assert (visibility >= 0).all() and (visibility <= 1 + 1e-6).all()


# ---- RegressionLabel ----
@fz.fuzz_settings(60)
@given(st.data())
def test_regression_label_in_range(data):
    size = data.draw(st.sampled_from(INPUT_SIZES))
    codec = RegressionLabel(size)
    num, k = data.draw(st.integers(0, 3)), data.draw(st.integers(1, 5))
    kpts = data.draw(fz.keypoints(num, k))
    vis = data.draw(fz.visibility(num, k))
    out = codec.encode(kpts, vis)
    labels, weights = out['keypoint_labels'], out['keypoint_weights']
    assert labels.shape == (num, k, 2) and weights.shape == (num, k)
    fz.assert_finite('regression labels', labels)
    inside = ((kpts >= 0) & (kpts <= np.array(size) - 1)).all(-1)
    np.testing.assert_array_equal(weights, inside & (vis > 0.5))
    # keypoints inside the input have labels in [0, 1]
    assert ((labels[inside] >= 0) & (labels[inside] <= 1)).all()
    out = data.draw(_outputs((k, data.draw(st.sampled_from([2, 4])))))
    keypoints, scores = codec.decode(out)
    assert keypoints.shape == (1, k, 2) and scores.shape == (1, k)
    fz.assert_finite('regression keypoints', keypoints)
    fz.assert_finite('regression scores', scores)


# ---- AssociativeEmbedding ----
@st.composite
def ae_codecs(draw):
    input_size, heatmap_size = draw(st.sampled_from(
        [((64, 48), (16, 12)), ((48, 64), (12, 16)), ((16, 16), (4, 4)),
         ((8, 6), (2, 2))]))
    return AssociativeEmbedding(
        input_size, heatmap_size, sigma=draw(st.sampled_from(
            [None, 1., 2., 0.5])),
        use_udp=draw(st.booleans()),
        decode_topk=draw(st.sampled_from([1, 5, 30])),
        decode_max_instances=draw(st.sampled_from([None, 1, 3])))


@fz.fuzz_settings(80)
@given(ae_codecs(), st.data())
def test_associative_embedding_targets_in_range(codec, data):
    num, k = data.draw(st.integers(0, 4)), data.draw(st.integers(1, 5))
    kpts = data.draw(fz.keypoints(num, k))
    vis = data.draw(fz.visibility(num, k))
    out = codec.encode(kpts, vis)
    w, h = codec.heatmap_size
    maps, weights = out['heatmaps'], out['keypoint_weights']
    index = out['keypoint_indices']
    assert maps.shape == (k, h, w) and weights.shape == (num, k)
    assert index.shape == (num, k, 2) and index.dtype == np.int64
    fz.assert_finite('AE heatmaps', maps)
    assert maps.min() >= 0 and maps.max() <= 1
    assert ((weights == vis) | ((weights == 0) & (vis >= 0.5))).all()
    assert ((index[..., 0] >= 0) & (index[..., 0] < w * h)).all()
    assert set(np.unique(index[..., 1])) <= {0, 1}
    assert not (index[..., 1].astype(bool) & (vis <= 0.5)).any()


@fz.fuzz_settings(50)
@given(ae_codecs(), st.data())
def test_associative_embedding_decode_any_output(codec, data):
    k = data.draw(st.integers(1, 4))
    w, h = codec.heatmap_size
    maps = data.draw(_outputs((1, k, h, w)))
    tag_channels = data.draw(st.sampled_from([k, 2 * k, 1]))
    tags = data.draw(_outputs((1, tag_channels, h, w)))
    keypoints, scores, instance_scores = codec.batch_decode(maps, tags)
    n = len(keypoints[0])
    assert keypoints[0].shape == (n, k, 2) and scores[0].shape == (n, k)
    assert instance_scores[0].shape == (n, )
    if codec.decode_max_instances is not None:
        assert n <= codec.decode_max_instances
    fz.assert_finite('AE keypoints', keypoints[0])
    fz.assert_finite('AE scores', scores[0])
    fz.assert_finite('AE instance scores', instance_scores[0])


# ---- pose lifting ----
@st.composite
def lifting_inputs(draw):
    t, k = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    kpts = draw(fz.keypoints(t, k))
    vis = draw(st.one_of(st.none(), fz.visibility(t, k)))
    target = draw(fz.keypoints(1, k, dims=3))
    target_vis = draw(st.one_of(st.none(), fz.visibility(1, k)))
    return kpts, vis, target, target_vis


@fz.fuzz_settings(60)
@given(lifting_inputs(), st.data())
def test_image_pose_lifting_finite(inputs, data):
    kpts, vis, target, target_vis = inputs
    t, k = kpts.shape[:2]
    root = data.draw(st.sampled_from([0, [0, 1]]))
    remove_root = data.draw(st.booleans())
    removed = remove_root and isinstance(root, int)
    kt = k - 1 if removed else k
    stats = {}
    std = st.sampled_from([0., 1e-3, 1., 250.])
    if data.draw(st.booleans()):
        stats.update(keypoints_mean=data.draw(fz.keypoints(1, k))[0],
                     keypoints_std=data.draw(hnp.arrays(
                         np.float32, (k, 2), elements=std)))
    if data.draw(st.booleans()):
        stats.update(target_mean=data.draw(fz.keypoints(1, kt, 3))[0],
                     target_std=data.draw(hnp.arrays(
                         np.float32, (kt, 3), elements=std)))
    zero = [key for key, v in stats.items() if key.endswith('std') and
            (v == 0).any()]
    kwargs = dict(root_index=root, remove_root=remove_root,
                  concat_vis=data.draw(st.booleans()),
                  reshape_keypoints=data.draw(st.booleans()), **stats)
    if zero:
        # keypoints_std is checked first
        with pytest.raises(ValueError, match=f'{sorted(zero)[0]} must hold'
                           ' finite numbers > 0'):
            ImagePoseLifting(k, **kwargs)
        return
    codec = ImagePoseLifting(k, **kwargs)
    out = codec.encode(kpts, vis, target, target_vis)
    assert out['lifting_target_label'].shape == (1, kt, 3)
    assert out['lifting_target_weight'].shape == (1, kt)
    assert out['trajectory_weights'].shape == (1, k)
    d = 3 if codec.concat_vis else 2
    assert out['keypoint_labels'].shape == ((k * d, t) if
                                            codec.reshape_keypoints else
                                            (t, k, d))
    for key in ('keypoint_labels', 'lifting_target_label',
                'lifting_target_weight', 'trajectory_weights',
                'target_root'):
        fz.assert_finite(key, out[key])
    weight = out['lifting_target_weight']
    assert ((weight >= 0) & (weight <= 1)).all()
    assert (out['trajectory_weights'] >= 0).all()
    decoded, scores = codec.decode(out['lifting_target_label'],
                                   out['target_root'])
    assert decoded.shape == (1, k, 3)
    fz.assert_finite('lifting decoded', decoded)


@fz.fuzz_settings(60)
@given(lifting_inputs(), st.data())
def test_video_pose_lifting_finite(inputs, data):
    kpts, vis, target, target_vis = inputs
    t, k = kpts.shape[:2]
    codec = VideoPoseLifting(k, zero_center=data.draw(st.booleans()),
                             normalize_camera=data.draw(st.booleans()))
    side = st.sampled_from([1, 2, 48, 1000, 0, -10])
    camera = dict(w=data.draw(side), h=data.draw(side),
                  f=np.array([[1000.], [1000.]], np.float32),
                  c=np.array([[512.], [512.]], np.float32))
    if camera['w'] <= 0 or camera['h'] <= 0:
        with pytest.raises(ValueError, match=r"camera_param\['[wh]'\]"):
            codec.encode(kpts, vis, target, target_vis, camera)
        return
    out = codec.encode(kpts, vis, target, target_vis, camera)
    for key in ('keypoint_labels', 'lifting_target_label',
                'lifting_target_weight', 'trajectory_weights'):
        fz.assert_finite(key, out[key])
    assert (out['trajectory_weights'] >= 0).all()
    if codec.normalize_camera:
        fz.assert_finite('camera f', out['camera_param']['f'])
        fz.assert_finite('camera c', out['camera_param']['c'])
