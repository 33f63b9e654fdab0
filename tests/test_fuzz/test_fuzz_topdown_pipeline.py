"""Fuzzing the top-down pipeline: LoadImage (in-memory image) ->
GetBBoxCenterScale -> RandomFlip -> RandomHalfBody -> RandomBBoxTransform
-> TopdownAffine (plain or UDP) -> GenerateTarget (every top-down codec)
-> PackPoseInputs, on random image sizes, boxes (tiny, huge, degenerate,
far outside) and extreme keypoints. Each step either raises its documented
error or gives finite outputs of the documented shapes; targets stay in
their ranges and the packed sample has the configured shapes."""

import numpy as np
import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st

from posekit.datasets.transforms import (GenerateTarget, GetBBoxCenterScale,
                                         LoadImage, PackPoseInputs,
                                         RandomBBoxTransform, RandomFlip,
                                         RandomHalfBody, TopdownAffine)


import _posekit_fuzz_inputs as fz  # noqa: E402  (conftest.py)
INPUT = (48, 64)        # model input (w, h)
HEATMAP = (12, 16)      # heatmap (W, H)
CODECS = {
    'msra': dict(type='MSRAHeatmap', input_size=INPUT, heatmap_size=HEATMAP,
                 sigma=2.),
    'dark': dict(type='MSRAHeatmap', input_size=INPUT, heatmap_size=HEATMAP,
                 sigma=2., unbiased=True),
    'udp': dict(type='UDPHeatmap', input_size=INPUT, heatmap_size=HEATMAP,
                sigma=2.),
    'udp_combined': dict(type='UDPHeatmap', input_size=INPUT,
                         heatmap_size=HEATMAP, heatmap_type='combined'),
    'simcc': dict(type='SimCCLabel', input_size=INPUT, sigma=(4.9, 5.66),
                  simcc_split_ratio=2.0, normalize=False),
    'regression': dict(type='RegressionLabel', input_size=INPUT),
    'integral': dict(type='IntegralRegressionLabel', input_size=INPUT,
                     heatmap_size=HEATMAP, sigma=2.),
}


@st.composite
def samples(draw):
    k = draw(st.integers(2, 6))
    h, w = draw(fz.image_sizes(64))
    ids = draw(st.permutations(range(k)))
    cut = draw(st.integers(0, k))
    vis = draw(fz.visibility(1, k))
    if draw(st.booleans()):
        # a visibility weight per keypoint: (N, K, 2)
        vis = np.stack([vis, np.full_like(vis, 0.5)], -1)
    results = dict(
        img=fz.images((h, w)), bbox=draw(fz.boxes(1)),
        bbox_score=np.ones(1, np.float32),
        keypoints=draw(fz.keypoints(1, k)), keypoints_visible=vis,
        flip_indices=draw(fz.flip_indices(k)),
        upper_body_ids=sorted(ids[:cut]), lower_body_ids=sorted(ids[cut:]),
        id=1, img_id=2, img_path='fuzz.jpg')
    return results


@st.composite
def pipelines(draw):
    flip = RandomFlip(prob=draw(st.sampled_from([0., 1.])),
                      direction=draw(st.sampled_from(
                          ['horizontal', 'vertical', 'diagonal'])))
    half = RandomHalfBody(min_total_keypoints=draw(st.integers(0, 4)),
                          min_upper_keypoints=draw(st.integers(0, 2)),
                          min_lower_keypoints=draw(st.integers(0, 2)),
                          prob=draw(st.sampled_from([0., 1.])))
    bbox_transform = RandomBBoxTransform(
        shift_prob=draw(st.sampled_from([0., 1.])),
        rotate_prob=draw(st.sampled_from([0., 1.])),
        scale_factor=draw(st.sampled_from([(0.5, 1.5), (1., 1.),
                                           (1e-3, 1e3)])))
    affine = TopdownAffine(INPUT, use_udp=draw(st.booleans()))
    kind = draw(st.sampled_from(sorted(CODECS)))
    return dict(padding=draw(st.sampled_from([1., 1.25])), flip=flip,
                half=half, bbox_transform=bbox_transform, affine=affine,
                kind=kind, target=GenerateTarget(CODECS[kind]))


def _crop_ok(scale):
    """TopdownAffine's rule: no negative side, not both sides 0."""
    return bool((scale >= 0).all() and (scale > 0).any())


def _check_center_scale(results, where):
    center, scale = results['bbox_center'], results['bbox_scale']
    assert center.shape == (1, 2) and scale.shape == (1, 2), where
    fz.assert_finite(f'bbox_center after {where}', center)
    fz.assert_finite(f'bbox_scale after {where}', scale)


@fz.fuzz_settings(220)
@given(samples(), pipelines())
def test_topdown_pipeline(results, pipe):
    k = results['keypoints'].shape[1]
    bbox = results['bbox'].copy()
    kpts = results['keypoints'].copy()
    vis = results['keypoints_visible'].copy()
    results = LoadImage()(results)
    h, w = results['img_shape']

    results = GetBBoxCenterScale(padding=pipe['padding'])(results)
    _check_center_scale(results, 'GetBBoxCenterScale')
    np.testing.assert_allclose(results['bbox_scale'],
                               (bbox[:, 2:] - bbox[:, :2]) * pipe['padding'],
                               rtol=1e-6)

    results = pipe['flip'](results)
    _check_center_scale(results, 'RandomFlip')
    assert results['img'].shape == (h, w, 3)
    if results['flip']:
        axes = {'horizontal': [0], 'vertical': [1], 'diagonal': [0, 1]}[
            results['flip_direction']]
        expected = kpts[:, results['flip_indices']]
        for ax in axes:
            expected[..., ax] = np.float32((w, h)[ax] - 1) - expected[..., ax]
        np.testing.assert_array_equal(results['keypoints'], expected)
        # (N, K) or (N, K, 2) visibility swapped along the keypoint axis
        np.testing.assert_array_equal(results['keypoints_visible'],
                                      vis[:, results['flip_indices']])
    fz.assert_finite('keypoints after RandomFlip', results['keypoints'])

    box_ok = _crop_ok(results['bbox_scale'])
    results = pipe['half'](results)
    _check_center_scale(results, 'RandomHalfBody')
    results = pipe['bbox_transform'](results)
    _check_center_scale(results, 'RandomBBoxTransform')
    fz.assert_finite('bbox_rotation', results['bbox_rotation'])

    if not _crop_ok(results['bbox_scale']):
        # The documented error for a degenerate box (negative, or zero on
        # both sides); the augmentations never make a valid box degenerate.
        assert not box_ok, results['bbox_scale']
        event('degenerate box')
        with pytest.raises(ValueError, match='bbox_scale must be positive'):
            pipe['affine'](results)
        return
    _check_box_centre_lands_on_input_centre(pipe['affine'], results)
    results = pipe['affine'](results)
    assert results['img'].shape == (INPUT[1], INPUT[0], 3)
    assert results['transformed_keypoints'].shape == (1, k, 2)
    for key in ('transformed_keypoints', 'input_center', 'input_scale'):
        fz.assert_finite(key, results[key])
    assert (results['input_scale'] > 0).all()

    results = pipe['target'](results)
    _check_targets(pipe['kind'], results, k)
    packed = PackPoseInputs()(results)
    _check_packed(pipe['kind'], packed, k)


def _check_box_centre_lands_on_input_centre(affine, results):
    """A keypoint at the box centre lands on the input centre ((w - 1) / 2
    with UDP), whatever the box's rotation and size, up to the float32
    resolution of the box."""
    center = results['bbox_center'].astype(np.float32)
    probe = dict(results, img=results['img'][:1, :1],
                 keypoints=center[:, None])
    moved = affine(probe)['transformed_keypoints'][0, 0]
    w, h = INPUT
    expected = np.array([(w - 1) / 2, (h - 1) / 2] if affine.use_udp else
                        [w / 2, h / 2])
    scale = probe['bbox_scale'][0]
    # float32 spacing of the centre and of the box, in input pixels
    ulp = (np.spacing(np.abs(center[0]).max()) + np.spacing(scale.max()))
    tol = 1e-3 * w + 8 * ulp * w / scale.min()
    if tol > w:
        event('box below float32 resolution')
        return
    assert np.abs(moved - expected).max() <= tol, (moved, expected)


def _check_targets(kind, results, k):
    weights = results['keypoint_weights']
    assert weights.shape == (1, k)
    assert ((weights >= 0) & (weights <= 1)).all()
    visible = results['keypoints_visible']
    if kind in ('regression', 'integral'):
        assert not (weights[visible <= 0.5] > 0).any()
    else:
        # the visibility, or 0 for a keypoint that cannot be drawn
        assert ((weights == visible) | (weights == 0)).all()
    if kind in ('msra', 'dark', 'udp', 'integral', 'udp_combined'):
        maps = results['heatmaps']
        fz.assert_finite('heatmaps', maps)
        channels = 3 * k if kind == 'udp_combined' else k
        assert maps.shape == (channels, HEATMAP[1], HEATMAP[0])
        labels = maps[0::3] if kind == 'udp_combined' else maps
        assert labels.min() >= 0 and labels.max() <= 1
    if kind == 'simcc':
        for key, size in (('keypoint_x_labels', 2 * INPUT[0]),
                          ('keypoint_y_labels', 2 * INPUT[1])):
            labels = results[key]
            assert labels.shape == (1, k, size)
            fz.assert_finite(key, labels)
            assert labels.min() >= 0 and labels.max() <= 1
    if kind in ('regression', 'integral'):
        fz.assert_finite('keypoint_labels', results['keypoint_labels'])
        assert set(np.unique(weights)) <= {0., 1.}


def _check_packed(kind, packed, k):
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (3, INPUT[1], INPUT[0])
    assert inputs.dtype == torch.uint8
    assert sample.gt_instances.bboxes.shape == (1, 4)
    assert sample.gt_instances.keypoints.shape == (1, k, 2)
    assert sample.gt_instance_labels.keypoint_weights.shape == (1, k)
    assert tuple(sample.metainfo['input_size']) == INPUT
    if kind in ('msra', 'dark', 'udp', 'integral', 'udp_combined'):
        channels = 3 * k if kind == 'udp_combined' else k
        assert sample.gt_fields.heatmaps.shape == (channels, HEATMAP[1],
                                                   HEATMAP[0])
    if kind == 'simcc':
        labels = sample.gt_instance_labels
        assert labels.keypoint_x_labels.shape == (1, k, 2 * INPUT[0])
        assert labels.keypoint_y_labels.shape == (1, k, 2 * INPUT[1])
    if kind in ('regression', 'integral'):
        assert sample.gt_instance_labels.keypoint_labels.shape == (1, k, 2)
