import pytest
import torch

from posekit.models.utils.tta import (flip_coordinates, flip_test_metainfo,
                                      flip_vectors, flip_visibility)
from posekit.structures import PoseDataSample


def test_flip_coordinates_mirrors_x_and_swaps():
    coords = torch.tensor([[[0.25, 0.5], [0.5, 0.75], [0.0, 1.0]]])
    out = flip_coordinates(coords, flip_indices=[1, 0, 2],
                           shift_coords=False)
    # keypoint 0 takes keypoint 1's mirrored x: 1 - 0.5
    assert out.tolist() == [[[0.5, 0.75], [0.75, 0.5], [1.0, 1.0]]]
    assert coords[0, 0, 0] == 0.25  # input untouched


def test_flip_coordinates_shift_is_one_input_pixel():
    # pixel x = 2 of a 64-wide input mirrors onto pixel 61 (w - 1 - x)
    coords = torch.tensor([[[61 / 64, 0.5]]])
    out = flip_coordinates(coords, flip_indices=[0], shift_coords=True,
                           input_size=(64, 48))
    assert out[0, 0, 0].item() == pytest.approx(2 / 64)
    assert out[0, 0, 1].item() == 0.5


def test_flip_coordinates_keeps_extra_columns_and_swaps_them():
    coords = torch.tensor([[[0.1, 0.2, 0.3, 0.4], [0.6, 0.7, 0.8, 0.9]]])
    out = flip_coordinates(coords, [1, 0], shift_coords=False)
    torch.testing.assert_close(out, torch.tensor(
        [[[0.4, 0.7, 0.8, 0.9], [0.9, 0.2, 0.3, 0.4]]]))


def test_flip_coordinates_errors():
    with pytest.raises(ValueError, match='flip_indices has 1 entries'):
        flip_coordinates(torch.zeros(1, 2, 2), [0], shift_coords=False)
    with pytest.raises(ValueError, match='input_size'):
        flip_coordinates(torch.zeros(1, 1, 2), [0], shift_coords=True)
    with pytest.raises(ValueError, match=r'\(B, K, D\)'):
        flip_coordinates(torch.zeros(2, 2), [0, 1], shift_coords=False)


def test_flip_vectors_reverses_x_only_and_swaps():
    x = torch.tensor([[[1., 2., 3.], [4., 5., 6.]]])
    y = torch.tensor([[[7., 8.], [9., 10.]]])
    fx, fy = flip_vectors(x, y, flip_indices=[1, 0])
    assert fx.tolist() == [[[6., 5., 4.], [3., 2., 1.]]]
    assert fy.tolist() == [[[9., 10.], [7., 8.]]]
    with pytest.raises(ValueError, match='flip_indices has 3 entries'):
        flip_vectors(x, y, [0, 1, 2])
    with pytest.raises(ValueError, match=r'\(B, K, Wx\)'):
        flip_vectors(x[0], y[0], [1, 0])


def test_flip_visibility_swaps():
    vis = torch.tensor([[0.1, 0.2, 0.3]])
    assert torch.equal(flip_visibility(vis, [2, 1, 0]),
                       torch.tensor([[0.3, 0.2, 0.1]]))
    with pytest.raises(ValueError, match=r'\(B, K\)'):
        flip_visibility(vis[0], [2, 1, 0])


def test_flip_test_metainfo():
    s = PoseDataSample(metainfo=dict(flip_indices=[1, 0], input_size=(8, 6)))
    feats = [(torch.zeros(1), ), (torch.zeros(1), )]
    assert flip_test_metainfo(feats, [s], ('flip_indices', 'input_size')) \
        == ([1, 0], (8, 6))
    with pytest.raises(ValueError, match='list of two'):
        flip_test_metainfo(feats[0], [s])
    with pytest.raises(KeyError, match='input_size'):
        flip_test_metainfo(feats, [PoseDataSample(metainfo=dict(
            flip_indices=[0]))], ('flip_indices', 'input_size'))
