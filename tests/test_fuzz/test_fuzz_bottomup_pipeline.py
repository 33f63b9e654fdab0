"""Fuzzing the bottom-up pipelines on random image sizes, 0-3 people with
extreme keypoints and boxes, and crowd polygons anywhere:

- training: LoadImage -> BottomupRandomAffine (plain or UDP) -> RandomFlip
  -> GenerateTarget(AssociativeEmbedding) -> BottomupGetHeatmapMask ->
  PackPoseInputs;
- testing: LoadImage -> BottomupResize (fit/expand, UDP, aug scales) ->
  BottomupGetHeatmapMask -> PackPoseInputs.

Outputs are finite, targets and masks in range, shapes as configured, and
the recorded input_center/input_scale invert the warp."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from posekit.datasets.transforms import (BottomupGetHeatmapMask,
                                         BottomupRandomAffine, BottomupResize,
                                         GenerateTarget, LoadImage,
                                         PackPoseInputs, RandomFlip)
from posekit.structures import transform_points


import _posekit_fuzz_inputs as fz  # noqa: E402  (conftest.py)
INPUT = (64, 48)        # model input (w, h)
HEATMAP = (16, 12)      # heatmap (W, H)
HIGHER = (32, 24)       # second level of multi-level targets


@st.composite
def polygons(draw):
    """A crowd polygon of 1-5 points anywhere (fewer than 3 points: none)."""
    n = draw(st.integers(1, 5))
    return [float(draw(fz.coordinates())) for _ in range(2 * n)]


@st.composite
def samples(draw, max_side=64):
    num, k = draw(st.integers(0, 3)), draw(st.integers(1, 5))
    h, w = draw(fz.image_sizes(max_side))
    segs = draw(st.lists(st.lists(polygons(), min_size=1, max_size=2),
                         max_size=2))
    return dict(
        img=fz.images((h, w)), keypoints=draw(fz.keypoints(num, k)),
        keypoints_visible=draw(fz.visibility(num, k)),
        bbox=draw(fz.boxes(num)).reshape(num, 4),
        area=draw(st.lists(st.floats(0., 1e6), min_size=num,
                           max_size=num)),
        invalid_segs=segs, flip_indices=draw(fz.flip_indices(k)),
        img_id=3, img_path='fuzz.jpg')


@st.composite
def train_pipelines(draw):
    use_udp = draw(st.booleans())
    affine = BottomupRandomAffine(
        INPUT, shift_prob=draw(st.sampled_from([0., 1.])),
        scale_factor=draw(st.sampled_from([(0.75, 1.5), (1e-3, 1e-3),
                                           (1e3, 1e3)])),
        scale_type=draw(st.sampled_from(['short', 'long'])),
        rotate_prob=draw(st.sampled_from([0., 1.])),
        rotate_factor=draw(st.sampled_from([30., 180.])), use_udp=use_udp,
        distribution=draw(st.sampled_from(['trunc_norm', 'uniform'])))
    flip = RandomFlip(prob=draw(st.sampled_from([0., 1.])))
    codec = dict(type='AssociativeEmbedding', input_size=INPUT,
                 heatmap_size=HEATMAP, sigma=2., use_udp=use_udp)
    if draw(st.booleans()):
        target = GenerateTarget(codec)
    else:
        # HigherHRNet: one encoder per heatmap level
        target = GenerateTarget([codec, dict(codec, heatmap_size=HIGHER)],
                                multilevel=True)
    return affine, flip, target


def _check_warp_record(results, img_w, img_h):
    """``image_xy = input_xy / input_size * input_scale + input_center -
    input_scale / 2`` inverts ``warp_mat`` (no rotation, no flip)."""
    center, scale = results['input_center'], results['input_scale']
    size = np.array(results['input_size'], np.float64)
    fz.assert_finite('input_center', center)
    fz.assert_finite('input_scale', scale)
    assert (scale > 0).all()
    pts = np.array([[0., 0.], [img_w - 1., img_h - 1.], [img_w / 3, 0.5]])
    moved = transform_points(pts, results['warp_mat']).astype(np.float64)
    back = moved / size * scale + center - scale / 2
    np.testing.assert_allclose(back, pts, atol=1e-3 * max(img_w, img_h, 1))


@fz.fuzz_settings(130)
@given(samples(), train_pipelines())
def test_bottomup_training_pipeline(results, pipe):
    affine, flip, target = pipe
    num, k = results['keypoints'].shape[:2]
    results = LoadImage()(results)
    results = affine(results)
    assert results['img'].shape == (INPUT[1], INPUT[0], 3)
    assert results['keypoints'].shape == (num, k, 2)
    assert results['bbox'].shape == (num, 4)
    for key in ('keypoints', 'bbox', 'area', 'warp_mat', 'input_center',
                'input_scale'):
        fz.assert_finite(key, results[key])
    assert (results['bbox'][:, :2] <= results['bbox'][:, 2:]).all()

    results = flip(results)
    fz.assert_finite('keypoints after RandomFlip', results['keypoints'])
    fz.assert_finite('warp_mat after RandomFlip', results['warp_mat'])
    results = target(results)
    multi = target.multilevel
    sizes = [HEATMAP, HIGHER] if multi else [HEATMAP]

    def levels(key):
        return results[key] if multi else [results[key]]

    for (w, h), maps, weights, index in zip(
            sizes, levels('heatmaps'), levels('keypoint_weights'),
            levels('keypoint_indices')):
        assert maps.shape == (k, h, w)
        fz.assert_finite('heatmaps', maps)
        assert maps.min() >= 0 and maps.max() <= 1
        assert weights.shape == (num, k) and index.shape == (num, k, 2)
        assert ((weights >= 0) & (weights <= 1)).all()
        assert ((index[..., 0] >= 0) & (index[..., 0] < w * h)).all()

    valid = BottomupGetHeatmapMask()(dict(results))['heatmap_mask']
    invalid = BottomupGetHeatmapMask(get_invalid=True)(
        dict(results))['heatmap_mask']
    for (w, h), good, bad in zip(sizes, *(
            (m if multi else [m]) for m in (valid, invalid))):
        for mask in (good, bad):
            assert mask.shape == (h, w)
            assert set(np.unique(mask)) <= {0., 1.}
        # A cell is never both valid and invalid.
        assert (good + bad <= 1).all()

    results['heatmap_mask'] = valid
    packed = PackPoseInputs()(results)
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, INPUT[1], INPUT[0])
    assert packed['inputs'].dtype == torch.uint8
    fields = sample.gt_fields
    packed_levels = fields.levels() if multi else [fields]
    assert len(packed_levels) == len(sizes)
    for (w, h), level in zip(sizes, packed_levels):
        assert level.heatmaps.shape == (k, h, w)
        assert level.heatmap_mask.shape == (1, h, w)
    labels = sample.gt_instance_labels
    if num:
        lead = (len(sizes), ) if multi else ()
        assert labels.keypoint_indices.shape == lead + (num, k, 2)
        assert labels.keypoint_weights.shape == lead + (num, k)


@st.composite
def resize_steps(draw):
    mode = draw(st.sampled_from(['fit', 'expand']))
    factor = draw(st.sampled_from([16, 32]))
    scales = draw(st.sampled_from([None, [2.], [0.5, 1.5]]))
    if mode == 'fit':
        # fit needs every target size to be a multiple of size_factor
        scales = None if scales is None else [2.]
    return BottomupResize((64, 64), aug_scales=scales, size_factor=factor,
                          resize_mode=mode, use_udp=draw(st.booleans()))


@fz.fuzz_settings(100)
@given(samples(max_side=80), resize_steps())
def test_bottomup_test_pipeline(results, resize):
    results = LoadImage()(results)
    img_h, img_w = results['ori_shape']
    results = resize(results)
    imgs = results['img'] if resize.aug_scales else [results['img']]
    assert len(imgs) == 1 + len(resize.aug_scales or [])
    w, h = results['input_size']
    assert imgs[0].shape == (h, w, 3)
    assert results['img_shape'] == (h, w)
    for img, target in zip(imgs, resize._targets):
        ih, iw = img.shape[:2]
        assert iw % resize.size_factor == 0 and ih % resize.size_factor == 0
        if resize.resize_mode == 'fit':
            assert (iw, ih) == target
        else:
            assert iw >= target[0] and ih >= target[1]
    _check_warp_record(results, img_w, img_h)
    a = np.diag(results['warp_mat'][:, :2])
    assert (a > 0).all(), results['warp_mat']
    if not resize.use_udp:
        # the aspect ratio is kept
        np.testing.assert_allclose(a[0], a[1], rtol=1e-5)

    mask = BottomupGetHeatmapMask()(results)['heatmap_mask']
    assert mask.shape == (h, w)
    assert set(np.unique(mask)) <= {0., 1.}
    packed = PackPoseInputs()(results)
    inputs = packed['inputs']
    if resize.aug_scales:
        assert [tuple(t.shape) for t in inputs] == [
            (3, ) + i.shape[:2] for i in imgs]
    else:
        assert inputs.shape == (3, h, w)
    assert tuple(packed['data_samples'].metainfo['input_size']) == (w, h)
