import os
import pickle
from urllib.error import URLError

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from posekit.utils.checkpoint import (CheckpointDownloadError,
                                      UnsafeCheckpointError, _guard_network,
                                      safe_load)


def _mmengine_like_checkpoint():
    buf = HistoryBuffer()
    buf.update(0.5)
    buf.update(1.5)
    return dict(
        meta=dict(epoch=3, dataset_meta=dict(sigmas=np.ones(17) * .025)),
        state_dict={'w': torch.arange(4.)},
        message_hub=dict(log_scalars={'train/loss': buf},
                         runtime_info=dict(iter=np.int64(7))))


def test_mmengine_checkpoint_loads_with_history_buffers(tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    ck = safe_load(str(path))
    assert ck['message_hub']['log_scalars']['train/loss'].mean() == 1.0
    assert ck['meta']['dataset_meta']['sigmas'].shape == (17, )
    assert torch.equal(ck['state_dict']['w'], torch.arange(4.))


def test_zero_size_numpy_arrays_load(tmp_path):
    # datasets without sigmas store an empty array in meta.dataset_meta
    path = tmp_path / 'empty.pth'
    torch.save(dict(meta=dict(dataset_meta=dict(sigmas=np.zeros(0)))), path)
    ck = safe_load(str(path))
    assert ck['meta']['dataset_meta']['sigmas'].shape == (0, )


class _WritesMarker:

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_code_running_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _WritesMarker(str(marker))},
               path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(str(path))
    assert str(path) in str(info.value)
    assert 'weights_only=True' in str(info.value)
    assert 'builtins.open' in str(info.value) or 'io.open' in str(
        info.value)
    assert not marker.exists()
    assert isinstance(info.value, pickle.UnpicklingError)


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    from posekit.utils.checkpoint import _history_buffer_getattr
    assert _history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        _history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(UnsafeCheckpointError):
        _history_buffer_getattr(os, 'system')


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load(str(tmp_path / 'nope.pth'))


def test_unreachable_url_says_what_to_do():

    def offline_loader(filename, map_location=None):
        raise URLError('Name or service not known')

    guarded = _guard_network(offline_loader)
    with pytest.raises(CheckpointDownloadError) as info:
        guarded('torchvision://resnet50')
    msg = str(info.value)
    assert 'torchvision://resnet50' in msg and 'local path' in msg
