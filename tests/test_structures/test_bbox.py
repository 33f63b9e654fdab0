import numpy as np
import pytest

from posekit.structures import (bbox_cs2xyxy, bbox_xywh2xyxy, bbox_xyxy2cs,
                                bbox_xyxy2xywh, fix_aspect_ratio, flip_bbox,
                                get_udp_warp_matrix, get_warp_matrix,
                                transform_points)


def test_format_round_trip():
    xyxy = np.array([[10., 20., 110., 220.], [0., 0., 4., 2.]])
    np.testing.assert_allclose(bbox_xyxy2xywh(xyxy),
                               [[10, 20, 100, 200], [0, 0, 4, 2]])
    np.testing.assert_allclose(bbox_xywh2xyxy(bbox_xyxy2xywh(xyxy)), xyxy)
    center, scale = bbox_xyxy2cs(xyxy, padding=1.25)
    np.testing.assert_allclose(center, [[60, 120], [2, 1]])
    np.testing.assert_allclose(scale, [[125, 250], [5, 2.5]])
    np.testing.assert_allclose(bbox_cs2xyxy(center, scale, 1.25), xyxy)


def test_flip_bbox_xyxy_and_center():
    box = np.array([[10., 20., 30., 40.]])
    np.testing.assert_allclose(flip_bbox(box, (100, 50), 'xyxy'),
                               [[70, 20, 90, 40]])
    np.testing.assert_allclose(
        flip_bbox(np.array([[10., 5.]]), (100, 50), 'center', 'vertical'),
        [[10, 45]])
    with pytest.raises(ValueError, match='bbox_format'):
        flip_bbox(box, (10, 10), 'cxcy')


def test_fix_aspect_ratio_grows_the_short_side():
    out = fix_aspect_ratio(np.array([[100., 100.], [30., 200.]]), 0.75)
    np.testing.assert_allclose(out, [[100, 133.33333], [150, 200]],
                               rtol=1e-5)


def test_warp_maps_box_center_and_edges():
    center, scale = np.array([60., 120.]), np.array([120., 160.])
    mat = get_warp_matrix(center, scale, 0, (48, 64))
    np.testing.assert_allclose(transform_points(center, mat), [24, 32],
                               atol=1e-4)
    # left box edge -> 0, top edge -> 0 (aspect of 120x160 equals 48x64)
    np.testing.assert_allclose(
        transform_points(np.array([0., 40.]), mat), [0, 0], atol=1e-4)
    # rotation keeps the center fixed and the inverse undoes it
    rot = get_warp_matrix(center, scale, 90, (48, 64))
    inv = get_warp_matrix(center, scale, 90, (48, 64), inv=True)
    pts = np.array([[10., 20.], [100., 7.]])
    np.testing.assert_allclose(transform_points(transform_points(pts, rot),
                                                inv), pts, atol=1e-3)
    # a 90 degree rotation turns a point right of the centre into one
    # above or below the output centre
    moved = transform_points(center + np.array([30., 0.]), rot)
    assert abs(moved[0] - 24) < 1e-3 and abs(abs(moved[1] - 32) - 12) < 1e-3


def test_udp_warp_maps_pixel_interval_ends():
    center, scale = np.array([50., 50.]), np.array([100., 100.])
    mat = get_udp_warp_matrix(center, scale, 0, (64, 64))
    # the box spans 100 px intervals onto 63 output intervals
    np.testing.assert_allclose(transform_points(np.array([0., 0.]), mat),
                               [0, 0], atol=1e-4)
    np.testing.assert_allclose(transform_points(np.array([100., 100.]), mat),
                               [63, 63], atol=1e-4)
