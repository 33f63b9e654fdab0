import numpy as np
import pytest

from posekit.datasets.transforms import RandomBBoxTransform
from posekit.datasets.transforms.bbox_transform import \
    truncated_standard_normal

N = 500


def _boxes():
    rng = np.random.default_rng(0)
    return dict(bbox_center=rng.uniform(0, 500, (N, 2)).astype(np.float32),
                bbox_scale=rng.uniform(20, 300, (N, 2)).astype(np.float32))


def test_truncated_normal_range_and_spread():
    np.random.seed(0)
    t = truncated_standard_normal((40000, ))
    assert t.dtype == np.float32 and np.abs(t).max() <= 1
    # a standard normal cut at +-1 has std sqrt(1 - 2 phi(1) / (2 Phi(1)
    # - 1)) = 0.5396
    assert abs(t.std() - 0.5396) < 0.01
    assert abs(t.mean()) < 0.01


def test_ranges_over_many_seeds():
    transform = RandomBBoxTransform(shift_prob=1., scale_prob=1.,
                                    rotate_prob=1.)
    ratios, shifts, rots = [], [], []
    for seed in range(20):
        np.random.seed(seed)
        orig = _boxes()
        out = transform(_boxes())
        assert out['bbox_rotation'].shape == (N, )
        ratios.append(out['bbox_scale'] / orig['bbox_scale'])
        shifts.append((out['bbox_center'] - orig['bbox_center']) /
                      orig['bbox_scale'])
        rots.append(out['bbox_rotation'])
    ratios, shifts, rots = map(np.concatenate, (ratios, shifts, rots))
    # one factor for w and h
    np.testing.assert_allclose(ratios[:, 0], ratios[:, 1], rtol=1e-5)
    assert ratios.min() >= 0.5 - 1e-5 and ratios.max() <= 1.5 + 1e-5
    assert ratios.min() < 0.55 and ratios.max() > 1.45
    assert np.abs(shifts).max() <= 0.16 + 1e-5
    assert np.abs(shifts).max() > 0.15
    assert np.abs(rots).max() <= 80 + 1e-4 and np.abs(rots).max() > 75


def test_probabilities():
    np.random.seed(0)
    out = RandomBBoxTransform()(_boxes())
    rotated = np.mean(out['bbox_rotation'] != 0)
    assert 0.55 < rotated < 0.65  # rotate_prob=0.6 over 500 boxes
    np.random.seed(0)
    orig = _boxes()
    out = RandomBBoxTransform(shift_prob=0., scale_prob=0.,
                              rotate_prob=0.)(_boxes())
    np.testing.assert_array_equal(out['bbox_center'], orig['bbox_center'])
    np.testing.assert_array_equal(out['bbox_scale'], orig['bbox_scale'])
    np.testing.assert_array_equal(out['bbox_rotation'], np.zeros(N))


def test_errors():
    with pytest.raises(ValueError, match=r'scale_factor.*\(1 - f, 1 \+ f\)'):
        RandomBBoxTransform(scale_factor=0.5)
    with pytest.raises(ValueError, match='rotate_prob'):
        RandomBBoxTransform(rotate_prob=1.2)
    with pytest.raises(KeyError, match="RandomBBoxTransform needs the key "
                       "'bbox_scale'"):
        RandomBBoxTransform()(dict(bbox_center=np.zeros((1, 2))))
    with pytest.raises(ValueError, match=r'\(N, 2\)'):
        RandomBBoxTransform()(dict(bbox_center=np.zeros((1, 2)),
                                   bbox_scale=np.ones((2, 2))))
