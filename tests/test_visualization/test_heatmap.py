import numpy as np
import pytest
from mmengine.structures import PixelData

from posekit.structures import PoseDataSample
from posekit.visualization import (collapse_heatmaps, heatmap_to_image,
                                   overlay_heatmap, paste_heatmaps)


def _peak_map(h, w, v, u, channels=2):
    maps = np.zeros((channels, h, w), np.float32)
    maps[-1, v, u] = 1.0
    return maps


def test_collapse_takes_channel_maximum_and_checks_dims():
    maps = np.zeros((3, 2, 2), np.float32)
    maps[0, 0, 0], maps[2, 0, 0], maps[1, 1, 1] = 0.2, 0.7, 0.5
    np.testing.assert_allclose(collapse_heatmaps(maps), [[0.7, 0], [0, 0.5]])
    with pytest.raises(ValueError, match=r'\(K, h, w\)'):
        collapse_heatmaps(np.zeros((1, 1, 2, 2)))


def test_crop_heatmap_goes_to_its_region_of_the_original_image():
    # a 4x4 heatmap of a 40x40 crop centred at (50, 40): heatmap pixel u
    # lands on x = u / 4 * 40 + 50 - 20 = 30 + 10 u, y = 20 + 10 v
    meta = dict(input_center=np.array([[50., 40.]]),
                input_scale=np.array([[40., 40.]]), input_size=(16, 16),
                ori_shape=(100, 120))
    placed = heatmap_to_image(_peak_map(4, 4, v=2, u=1), (100, 120), meta)
    assert placed.shape == (100, 120)
    assert placed[40, 40] == pytest.approx(1.0)
    assert placed[np.abs(np.arange(100) - 40) > 10].max() == 0
    assert placed[:, :20].max() == 0 and placed[:, 71:].max() == 0


def test_heatmap_of_the_model_input_is_resized_to_it():
    # the drawn image is the 16x16 input itself (browse_dataset's
    # transformed mode): the 4x4 map is stretched, not placed in a crop
    meta = dict(input_center=np.array([50., 40.]),
                input_scale=np.array([40., 40.]), input_size=(16, 16),
                ori_shape=(100, 120))
    placed = heatmap_to_image(_peak_map(4, 4, v=3, u=3), (16, 16), meta)
    assert placed.shape == (16, 16)
    assert placed[:8, :8].max() == 0 and placed[15, 15] > 0


def test_paste_keeps_the_maximum_over_instances():
    samples = []
    for cx, value in ((20., 0.5), (80., 0.9)):
        s = PoseDataSample(metainfo=dict(input_center=np.array([cx, 20.]),
                                         input_scale=np.array([20., 20.])))
        s.pred_fields = PixelData(heatmaps=np.full((1, 4, 4), value,
                                                   np.float32))
        samples.append(s)
    samples.append(PoseDataSample())  # no heatmaps: skipped
    out = paste_heatmaps(samples, (40, 100))
    assert out.shape == (1, 40, 100)
    assert out[0, 20, 20] == pytest.approx(0.5)
    assert out[0, 20, 80] == pytest.approx(0.9)
    assert out[0, 20, 50] == 0
    assert paste_heatmaps([PoseDataSample()], (4, 4)) is None


def test_overlay_is_red_at_the_peak_and_checks_size():
    img = np.zeros((8, 8, 3), np.uint8)
    heat = np.zeros((8, 8), np.float32)
    heat[2, 3] = 5.0
    out = overlay_heatmap(img, heat, alpha=1.0)
    r, g, b = (int(c) for c in out[2, 3])
    assert r > 100 and g < 50 and b < 50  # jet's top is dark red
    r0, g0, b0 = (int(c) for c in out[0, 0])
    assert b0 > 100 and r0 < 50  # jet's bottom is dark blue
    with pytest.raises(ValueError, match='does not match'):
        overlay_heatmap(img, np.zeros((4, 4)))
