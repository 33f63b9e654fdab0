import numpy as np
import pycocotools.mask as cocomask
import pytest

from posekit.datasets.transforms import (BottomupGetHeatmapMask,
                                         BottomupRandomAffine, RandomFlip)
from posekit.datasets.transforms.heatmap_mask import segs_to_mask

# A square crowd polygon covering pixels x 14..21, y 4..11 of a 40x20 image.
SQUARE = [[14., 4., 22., 4., 22., 12., 14., 12.]]
FIXED = dict(shift_prob=0., scale_prob=0., rotate_prob=0.)


def _sample(segs=(SQUARE, )):
    img = np.zeros((20, 40), np.uint8)
    img[4:12, 14:22] = 255  # the crowd's pixels, to follow through warps
    return dict(img=img, img_shape=(20, 40), ori_shape=(20, 40),
                invalid_segs=list(segs), flip_indices=[0],
                keypoints=np.zeros((1, 1, 2), np.float32),
                keypoints_visible=np.ones((1, 1), np.float32))


def _zeros(mask):
    rows, cols = np.nonzero(mask == 0)
    return rows.min(), rows.max(), cols.min(), cols.max(), len(rows)


def test_mask_in_the_original_image():
    out = BottomupGetHeatmapMask()(_sample())
    mask = out['heatmap_mask']
    assert mask.dtype == np.float32 and mask.shape == (20, 40)
    assert _zeros(mask) == (4, 11, 14, 21, 64)
    invalid = BottomupGetHeatmapMask(get_invalid=True)(_sample())
    assert invalid['heatmap_mask'].sum() == 64
    assert (invalid['heatmap_mask'] == 1 - mask).all()


def test_no_invalid_segs_gives_all_ones():
    out = BottomupGetHeatmapMask()(_sample(segs=()))
    assert out['heatmap_mask'].shape == (20, 40)
    assert out['heatmap_mask'].sum() == 800


def test_warped_flipped_and_resized_to_the_heatmaps():
    # input 20x20, 'short': x_in = x - 10 -> crowd at cols 4..11
    results = BottomupRandomAffine(input_size=(20, 20), **FIXED)(_sample())
    warped = BottomupGetHeatmapMask()(dict(results))['heatmap_mask']
    assert _zeros(warped) == (4, 11, 4, 11, 64)
    # mirrored after the warp: cols 19 - 11 .. 19 - 4
    results = RandomFlip(prob=1.)(results)
    flipped = BottomupGetHeatmapMask()(dict(results))['heatmap_mask']
    assert _zeros(flipped) == (4, 11, 8, 15, 64)
    # halved to 10x10 heatmaps: rows 2..5, cols 4..7
    results['heatmaps'] = np.zeros((3, 10, 10), np.float32)
    small = BottomupGetHeatmapMask()(results)['heatmap_mask']
    assert small.shape == (10, 10)
    assert _zeros(small) == (2, 5, 4, 7, 16)


def test_outside_the_warped_image_is_masked():
    # 'long': the 40x40 region, scale 1/2, image rows land on 5..14
    results = BottomupRandomAffine(input_size=(20, 20), scale_type='long',
                                   **FIXED)(_sample(segs=()))
    mask = BottomupGetHeatmapMask()(results)['heatmap_mask']
    assert (mask[5:15] == 1).all() and mask.sum() == 200


@pytest.mark.parametrize('flip_first', [True, False])
def test_mask_follows_the_image_in_either_flip_order(flip_first):
    affine = BottomupRandomAffine(input_size=(20, 20))
    # a 4-pixel shift right makes flip and warp not commute
    affine._get_transform_params = lambda: (np.array([0.1, 0.]), 1., 0.)
    flip = RandomFlip(prob=1.)
    steps = [flip, affine] if flip_first else [affine, flip]
    results = _sample()
    for step in steps:
        results = step(results)
    mask = BottomupGetHeatmapMask()(results)['heatmap_mask']
    crowd = results['img'] == 255
    assert crowd.sum() == 64
    assert (crowd == (mask == 0)).all()
    # flip first: crowd at x 18..25 of the flipped image, minus 14;
    # flip last: x 14..21 minus 14 = 0..7, mirrored to 12..19
    expected_cols = (4, 11) if flip_first else (12, 19)
    assert _zeros(mask)[2:4] == expected_cols


def test_flip_without_warp_mirrors_the_mask():
    results = RandomFlip(prob=1.)(_sample())
    mask = BottomupGetHeatmapMask()(results)['heatmap_mask']
    assert _zeros(mask) == (4, 11, 18, 25, 64)


def test_rle_segmentations_and_multilevel_heatmaps():
    block = np.zeros((20, 40), np.uint8)
    block[0:2, 30:40] = 1
    compressed = cocomask.encode(np.asfortranarray(block))
    # uncompressed RLE (column-major run lengths): pixels y 16..19 of x 0
    uncompressed = dict(counts=[16, 4, 780], size=[20, 40])
    mask = segs_to_mask([SQUARE, compressed, uncompressed], (20, 40))
    assert mask.dtype == np.uint8 and mask.sum() == 64 + 20 + 4
    assert mask[0:2, 30:].all() and mask[16:, 0].all()
    results = _sample()
    results['heatmaps'] = [np.zeros((1, 10, 20)), np.zeros((1, 20, 40))]
    out = BottomupGetHeatmapMask()(results)['heatmap_mask']
    assert [m.shape for m in out] == [(10, 20), (20, 40)]
    assert _zeros(out[0]) == (2, 5, 7, 10, 16)
    assert _zeros(out[1]) == (4, 11, 14, 21, 64)


def test_errors():
    with pytest.raises(TypeError, match=r'invalid_segs\[1\] must be a list '
                       'of polygons or an RLE dict.*got str'):
        segs_to_mask([SQUARE, 'crowd'], (20, 40))
    with pytest.raises(ValueError, match=r'invalid_segs\[0\] is an RLE of '
                       r'size \[10, 10\].*image is \[20, 40\]'):
        segs_to_mask([dict(counts=[100], size=[10, 10])], (20, 40))
    results = _sample()
    results['warp_mat'] = np.eye(2, 3)
    with pytest.raises(KeyError, match="needs the key 'input_size'"):
        BottomupGetHeatmapMask()(results)
    with pytest.raises(KeyError, match="needs the key 'ori_shape'"):
        BottomupGetHeatmapMask()(dict(invalid_segs=[]))


def test_a_mask_survives_the_next_sample():
    # The full-size masks are scratch arrays reused by the next call; the
    # packed heatmap_mask must not be one of them (or a view of one).
    t = BottomupGetHeatmapMask()
    square = [[10., 10., 30., 10., 30., 30., 10., 30.]]
    first = t(dict(ori_shape=(40, 40), invalid_segs=[square]))
    kept = first['heatmap_mask'].copy()
    t(dict(ori_shape=(40, 40), invalid_segs=[]))
    np.testing.assert_array_equal(first['heatmap_mask'], kept)
    assert kept[20, 20] == 0 and kept[5, 5] == 1
