import os
import pickle
from urllib.error import URLError

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from posekit.utils.checkpoint import (CheckpointDownloadError,
                                      CorruptCheckpointError,
                                      TrustedLoadWarning,
                                      UnsafeCheckpointError, _guard_network,
                                      safe_load, trusted_load)


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


def _mmpose_style_checkpoint():
    """What an MMPose 1.x / mmengine training checkpoint holds: meta with
    versions, time, epoch/iter and a parsed dataset_meta (numpy arrays,
    lists, tuples, dicts), the message hub's HistoryBuffers, Adam state
    and LinearLR + MultiStepLR states (the latter holds a Counter)."""
    from mmengine.logging import MessageHub
    from mmengine.optim import LinearLR, MultiStepLR
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    schedulers = [LinearLR(optimizer, start_factor=0.001, by_epoch=False,
                           begin=0, end=500),
                  MultiStepLR(optimizer, milestones=[170, 200], gamma=0.1,
                              by_epoch=True, begin=0, end=210)]
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    for scheduler in schedulers:
        scheduler.step()
    hub = MessageHub.get_instance('mmpose_style_checkpoint')
    for loss in (0.25, 0.75):
        hub.update_scalar('train/loss', loss)
    hub.update_scalar('coco/AP', np.float64(0.7))
    hub.update_info('epoch', 3)
    hub.update_info('iter', 1234)
    hub.update_info('best_score', np.float64(0.7))
    dataset_meta = dict(
        dataset_name='coco', num_keypoints=17,
        keypoint_id2name={0: 'nose', 1: 'left_eye'},
        keypoint_name2id={'nose': 0, 'left_eye': 1},
        upper_body_ids=[0, 1, 2], lower_body_ids=[11, 12],
        flip_pairs=[[1, 2], [3, 4]], flip_indices=[0, 2, 1, 4, 3],
        keypoint_colors=np.array([[51, 153, 255]] * 17, dtype=np.uint8),
        num_skeleton_links=2, skeleton_links=[(15, 13), (13, 11)],
        skeleton_link_colors=np.zeros((2, 3), dtype=np.uint8),
        dataset_keypoint_weights=np.ones(17, dtype=np.float32),
        sigmas=np.full(17, 0.025, dtype=np.float32),
        visible=np.ones(17, dtype=bool), ids=np.arange(3, dtype=np.int64))
    meta = dict(mmengine_version='0.10.7', mmpose_version='1.3.2',
                time='20240101_120000', epoch=3, iter=1234, seed=0,
                experiment_name='td-hm_res50_8xb64-210e_coco-256x192',
                cfg="model = dict(type='TopdownPoseEstimator')",
                dataset_meta=dataset_meta)
    return dict(meta=meta, state_dict=model.state_dict(),
                message_hub=hub.state_dict(),
                optimizer=optimizer.state_dict(),
                param_schedulers=[s.state_dict() for s in schedulers])


def test_mmpose_style_checkpoint_loads(tmp_path):
    path = tmp_path / 'mmpose.pth'
    torch.save(_mmpose_style_checkpoint(), path)
    ck = safe_load(str(path))
    meta = ck['meta']
    assert meta['mmengine_version'] == '0.10.7' and meta['iter'] == 1234
    dm = meta['dataset_meta']
    assert dm['keypoint_colors'].dtype == np.uint8
    assert dm['keypoint_colors'].shape == (17, 3)
    assert dm['sigmas'].dtype == np.float32 and dm['sigmas'][0] == \
        np.float32(0.025)
    assert dm['skeleton_links'] == [(15, 13), (13, 11)]
    assert dm['visible'].dtype == bool and dm['ids'][2] == 2
    hub = ck['message_hub']
    assert hub['log_scalars']['train/loss'].mean() == 0.5
    assert hub['runtime_info']['best_score'] == 0.7
    assert ck['optimizer']['param_groups'][0]['lr'] > 0
    assert ck['optimizer']['state'][0]['exp_avg'].shape == (2, 3)
    assert dict(ck['param_schedulers'][1]['milestones']) == {170: 1,
                                                             200: 1}


def _corrupt_files(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(64)}}, good)
    data = good.read_bytes()
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(64)}, legacy,
               _use_new_zipfile_serialization=False)
    rng = np.random.default_rng(0)
    files = {
        'random.pth': rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        'truncated_zip.pth': data[:len(data) // 2],
        'text.pth': b'epoch: 3\nthis is a text file, not weights\n',
        'empty.pth': b'',
        'plain_pickle.pth': pickle.dumps({'a': 1}, protocol=2),
        'truncated_legacy.pth': legacy.read_bytes()[:40],
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return sorted(files)


@pytest.mark.parametrize('name', ['random.pth', 'truncated_zip.pth',
                                  'text.pth', 'empty.pth',
                                  'plain_pickle.pth',
                                  'truncated_legacy.pth'])
def test_corrupt_file_is_reported_as_corrupt_not_unsafe(tmp_path, name):
    assert name in _corrupt_files(tmp_path)
    with pytest.raises(CorruptCheckpointError) as info:
        safe_load(str(tmp_path / name))
    msg = str(info.value)
    assert f'checkpoint {tmp_path / name} could not be read' in msg
    assert 'may run code' not in msg
    assert ('corrupt, truncated' in msg) or ('empty' in msg)
    assert isinstance(info.value, IOError)
    assert not isinstance(info.value, pickle.UnpicklingError)


def test_trusted_load_is_the_explicit_opt_out(tmp_path):
    """A legacy file with an argparse.Namespace in its meta is refused by
    safe_load (which names the global); trusted_load loads it when that
    global is allowed, still without running code from the file."""
    import argparse
    path = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(2)},
                'meta': {'args': argparse.Namespace(lr=0.1)}}, path)
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        safe_load(str(path))
    with pytest.warns(TrustedLoadWarning, match='legacy.pth'):
        ck = trusted_load(str(path), allow=['argparse.Namespace'])
    assert torch.equal(ck['state_dict']['w'], torch.ones(2))
    assert ck['meta']['args'].lr == 0.1
    # the object itself works too
    with pytest.warns(TrustedLoadWarning):
        ck = trusted_load(str(path), allow=[argparse.Namespace])
    assert ck['meta']['args'].lr == 0.1


def test_trusted_load_never_runs_code(tmp_path):
    """Allowing one class does not open the door to anything else: the
    code-running payload is still refused and never runs."""
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(2)},
                'payload': _WritesMarker(str(marker))}, path)
    with pytest.warns(TrustedLoadWarning), \
            pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        trusted_load(str(path), allow=['argparse.Namespace'])
    assert not marker.exists()


def test_trusted_load_needs_named_globals(tmp_path):
    path = tmp_path / 'a.pth'
    torch.save({'w': torch.ones(1)}, path)
    with pytest.raises(ValueError, match='needs allow='):
        trusted_load(str(path), allow=[])
    with pytest.raises(ValueError, match="cannot import 'nosuch.Thing'"):
        trusted_load(str(path), allow=['nosuch.Thing'])


def test_trusted_load_reports_corrupt_files(tmp_path):
    path = tmp_path / 'text.pth'
    path.write_text('not a checkpoint')
    with pytest.warns(TrustedLoadWarning), \
            pytest.raises(CorruptCheckpointError, match='text.pth'):
        trusted_load(str(path), allow=['argparse.Namespace'])
