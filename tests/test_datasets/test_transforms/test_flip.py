import numpy as np
import pytest

from posekit.datasets.transforms import RandomFlip
from posekit.structures import transform_points

H, W = 20, 30


def _sample():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 100, (H, W, 3), dtype=np.uint8)
    img[6, 5] = 255  # a marked pixel under keypoint 0
    return dict(
        img=img, img_shape=(H, W),
        bbox=np.array([[4., 2., 10., 12.]], dtype=np.float32),
        bbox_center=np.array([[7., 7.]], dtype=np.float32),
        keypoints=np.array([[[5., 6.], [20., 7.], [14.5, 3.]]],
                           dtype=np.float32),
        keypoints_visible=np.array([[1., 0., 1.]], dtype=np.float32),
        flip_indices=[1, 0, 2])


def test_horizontal_flip_mirrors_and_swaps_left_right():
    orig = _sample()
    out = RandomFlip(prob=1.)(_sample())
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(out['img'], orig['img'][:, ::-1])
    assert out['img'].flags['C_CONTIGUOUS']
    # x -> W - 1 - x, and keypoints 0 and 1 trade places
    np.testing.assert_allclose(out['keypoints'],
                               [[[9, 7], [24, 6], [14.5, 3]]])
    np.testing.assert_allclose(out['keypoints_visible'], [[0, 1, 1]])
    # the marked pixel followed its keypoint (now index 1)
    assert out['img'][6, 24, 0] == 255
    np.testing.assert_allclose(out['bbox'], [[19, 2, 25, 12]])
    np.testing.assert_allclose(out['bbox_center'], [[22, 7]])


def test_keypoint_at_box_centre_stays_at_box_centre():
    results = _sample()
    results['keypoints'] = np.array([[[7., 7.]]], dtype=np.float32)
    results['keypoints_visible'] = np.ones((1, 1), dtype=np.float32)
    results['flip_indices'] = [0]
    out = RandomFlip(prob=1., direction='diagonal')(results)
    box = out['bbox'][0]
    mid = (box[:2] + box[2:]) / 2
    np.testing.assert_allclose(out['keypoints'][0, 0], mid)
    np.testing.assert_allclose(out['keypoints'][0, 0], out['bbox_center'][0])
    np.testing.assert_allclose(mid, [W - 1 - 7, H - 1 - 7])


def test_no_flip_leaves_everything():
    orig = _sample()
    out = RandomFlip(prob=0.)(_sample())
    assert out['flip'] is False and out['flip_direction'] is None
    np.testing.assert_array_equal(out['img'], orig['img'])
    np.testing.assert_array_equal(out['keypoints'], orig['keypoints'])


def test_list_probabilities_pick_the_direction():
    out = RandomFlip(prob=[0., 1.], direction=['horizontal', 'vertical'])(
        _sample())
    assert out['flip_direction'] == 'vertical'
    # y -> H - 1 - y; x unchanged; left/right still swapped
    np.testing.assert_allclose(out['keypoints'],
                               [[[20, 12], [5, 13], [14.5, 16]]])
    np.testing.assert_allclose(out['bbox'], [[4, 7, 10, 17]])


def test_flip_rate_follows_prob():
    np.random.seed(1)
    flip = RandomFlip(prob=0.3)
    rate = np.mean([flip(dict(img=np.zeros((2, 2), np.uint8)))['flip']
                    for _ in range(2000)])
    assert 0.27 < rate < 0.33


def test_errors():
    results = _sample()
    del results['flip_indices']
    with pytest.raises(KeyError, match="RandomFlip needs the key "
                       "'flip_indices'.*dataset metainfo"):
        RandomFlip(prob=1.)(results)
    results = _sample()
    results['flip_indices'] = [1, 0]
    with pytest.raises(ValueError, match='flip_indices has 2 entries'):
        RandomFlip(prob=1.)(results)
    with pytest.raises(ValueError, match="direction .* got 'sideways'"):
        RandomFlip(direction='sideways')
    with pytest.raises(ValueError, match='prob must be a number'):
        RandomFlip(prob=1.5)
    with pytest.raises(ValueError, match='same length'):
        RandomFlip(prob=[0.2, 0.3], direction=['horizontal'])
    with pytest.raises(ValueError, match='summing to at most 1'):
        RandomFlip(prob=[0.6, 0.6], direction=['horizontal', 'vertical'])


def test_bottom_up_sample_with_several_instances_and_warp_mat():
    # two instances, three keypoints each, and the affine that made this
    # 30x20 input from an original image: x_in = 0.5 * x + 3, y_in = y - 1
    warp = np.array([[0.5, 0., 3.], [0., 1., -1.]], np.float32)
    original = np.array([[[4., 3.], [40., 9.], [20., 5.]],
                         [[10., 11.], [12., 13.], [14., 15.]]], np.float32)
    kpts = original * [0.5, 1.] + [3., -1.]
    results = dict(img=np.zeros((H, W, 3), np.uint8), keypoints=kpts,
                   keypoints_visible=np.array([[1., 0., 1.], [1., 1., 0.]],
                                              np.float32),
                   bbox=np.array([[1., 2., 5., 6.], [10., 0., 29., 19.]],
                                 np.float32),
                   flip_indices=[1, 0, 2], warp_mat=warp.copy())
    out = RandomFlip(prob=1.)(results)
    # instance 1 in the input: x 8, 9, 10 -> 29 - x, keypoints 0/1 swapped
    np.testing.assert_allclose(out['keypoints'][1],
                               [[20, 12], [21, 10], [19, 14]])
    np.testing.assert_allclose(out['keypoints_visible'],
                               [[0, 1, 1], [1, 1, 0]])
    np.testing.assert_allclose(out['bbox'], [[24, 2, 28, 6], [0, 0, 19, 19]])
    # warp_mat now maps the original image onto the flipped input
    np.testing.assert_allclose(out['warp_mat'],
                               [[-0.5, 0, W - 1 - 3], [0, 1, -1]])
    moved = transform_points(original[:, [1, 0, 2]], out['warp_mat'])
    np.testing.assert_allclose(moved, out['keypoints'], atol=1e-5)


@pytest.mark.parametrize('prob,direction', [
    (0.5, 'horizontal'), ([0.2, 0.3, 0.1], ['horizontal', 'vertical',
                                            'diagonal']), (1.0, 'vertical')])
def test_direction_draw_matches_numpy_choice(prob, direction):
    # the same choices, and the same random stream after them, as
    # np.random.choice(choices, p=probs) from the same seed
    t = RandomFlip(prob=prob, direction=direction)
    np.random.seed(11)
    got = [t._choose_direction() for _ in range(300)]
    after = np.random.random_sample()
    np.random.seed(11)
    idx = [np.random.choice(len(t._choices), p=t._probs) for _ in range(300)]
    assert got == [t._choices[i] for i in idx]
    assert np.random.random_sample() == after
    assert len(set(got)) == len(t._choices) - (prob == 1.0)
