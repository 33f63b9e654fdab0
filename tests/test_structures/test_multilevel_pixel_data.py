import pickle

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from posekit.structures import MultilevelPixelData, PoseDataSample


def _data():
    heatmaps = [np.full((3, 4, 5), 1., np.float32),
                np.full((3, 8, 10), 2., np.float32)]
    masks = [np.zeros((4, 5), np.float32), np.ones((8, 10), np.float32)]
    return MultilevelPixelData(metainfo=dict(img_id=7), heatmaps=heatmaps,
                               heatmap_mask=masks)


def test_levels_shapes_and_channel_axis():
    data = _data()
    assert len(data) == 2 and data.nlevel == 2
    assert data.shape == ((4, 5), (8, 10))
    # (h, w) maps get a channel axis, as in PixelData
    assert [m.shape for m in data.heatmap_mask] == [(1, 4, 5), (1, 8, 10)]
    assert data['heatmaps'] is data.heatmaps
    assert len(MultilevelPixelData()) == 0
    assert MultilevelPixelData().nlevel is None


def test_indexing_a_level_gives_pixel_data():
    level = _data()[1]
    assert isinstance(level, PixelData)
    assert level.metainfo == dict(img_id=7)
    assert level.heatmaps.shape == (3, 8, 10)
    assert float(level.heatmaps[0, 0, 0]) == 2.
    assert level.heatmap_mask.shape == (1, 8, 10)
    assert _data()[-2].heatmaps.shape == (3, 4, 5)
    assert [lv.shape for lv in _data().levels()] == [(4, 5), (8, 10)]


def test_to_tensor_and_device_moves():
    tensors = _data().to_tensor()
    assert isinstance(tensors, MultilevelPixelData)
    assert all(isinstance(t, torch.Tensor) for t in tensors.heatmaps)
    assert tensors.heatmaps[1].shape == (3, 8, 10)
    assert tensors.metainfo == dict(img_id=7)
    half = tensors.to(torch.float16)
    assert half.heatmaps[0].dtype == torch.float16
    assert half.heatmap_mask[1].dtype == torch.float16
    back = tensors.cpu().detach().numpy()
    assert isinstance(back.heatmaps[0], np.ndarray)
    assert back.heatmaps[1][0, 0, 0] == 2.


def test_inside_a_data_sample_and_pickled():
    sample = PoseDataSample()
    sample.gt_fields = _data().to_tensor()
    moved = sample.to('cpu')
    assert moved.gt_fields.heatmaps[1].shape == (3, 8, 10)
    copy = pickle.loads(pickle.dumps(moved))
    assert copy.gt_fields.shape == ((4, 5), (8, 10))
    assert copy.gt_fields.heatmap_mask[1].sum() == 80


def test_errors():
    data = _data()
    with pytest.raises(ValueError, match="field 'offsets' has 1 levels but "
                       "field '.*' has 2"):
        data.offsets = [np.zeros((2, 4, 5))]
    with pytest.raises(ValueError, match=r"level 1 of field 'offsets' is "
                       r'\(8, 9\)'):
        data.offsets = [np.zeros((2, 4, 5)), np.zeros((2, 8, 9))]
    with pytest.raises(TypeError, match="field 'offsets' must be a "
                       'non-empty list'):
        data.offsets = np.zeros((2, 4, 5))
    with pytest.raises(TypeError, match='non-empty list.*length 0'):
        data.offsets = []
    with pytest.raises(ValueError, match=r'must be \(C, h, w\) or \(h, w\), '
                       r'got shape \(1, 1, 4, 5\)'):
        MultilevelPixelData(heatmaps=[np.zeros((1, 1, 4, 5))])
    with pytest.raises(TypeError, match='numpy array or a tensor, got list'):
        MultilevelPixelData(heatmaps=[[[0.]]])
    with pytest.raises(IndexError, match='level 2 is out of range for 2'):
        data[2]
    with pytest.raises(KeyError, match="no field 'offsets'"):
        data['offsets']
    # replacing a field may change its own level count when it is alone
    alone = MultilevelPixelData(heatmaps=[np.zeros((1, 2, 2))])
    alone.heatmaps = [np.zeros((1, 2, 2)), np.zeros((1, 4, 4))]
    assert len(alone) == 2
