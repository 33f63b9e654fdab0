"""Every way posekit or its tools load a checkpoint refuses a file whose
pickle would run code: the error names the file, and the code never runs
(it would create a marker file)."""
import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from posekit.utils.checkpoint import UnsafeCheckpointError

REPO = Path(__file__).resolve().parents[2]


def _tools_conftest():
    path = REPO / 'tests' / 'test_tools' / 'conftest.py'
    spec = importlib.util.spec_from_file_location('_safe_paths_conftest',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_h = _tools_conftest()
QUICKSTART, load_tool = _h.QUICKSTART, _h.load_tool
tiny_quickstart_options = _h.tiny_quickstart_options


class _WritesMarker:
    """Unpickling this calls ``open(path, 'w')``: a stand-in for any code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture
def evil(tmp_path):
    """(checkpoint path, marker path): a checkpoint that looks like a
    normal one but creates the marker when fully unpickled."""
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': {'w': torch.ones(2)},
                'payload': _WritesMarker(str(marker))}, path)
    return path, marker


def _tiny(tmp_path):
    return tiny_quickstart_options(tmp_path / 'data', epochs=1)


def _train(tmp_path, args=(), options=()):
    load_tool('train').main([str(QUICKSTART), '--work-dir',
                             str(tmp_path / 'work'), *args, '--cfg-options',
                             *_tiny(tmp_path), *options])


def _path_resume(tmp_path, ckpt):
    _train(tmp_path, args=['--resume', str(ckpt)])


def _path_load_from(tmp_path, ckpt):
    _train(tmp_path, options=[f'load_from={ckpt}'])


def _path_pretrained_init(tmp_path, ckpt):
    _train(tmp_path, options=['model.backbone.init_cfg.type=Pretrained',
                              f'model.backbone.init_cfg.checkpoint={ckpt}'])


def _path_pretrained_prefix(tmp_path, ckpt):
    _train(tmp_path, options=['model.backbone.init_cfg.type=Pretrained',
                              f'model.backbone.init_cfg.checkpoint={ckpt}',
                              'model.backbone.init_cfg.prefix=backbone'])


def _path_test_tool(tmp_path, ckpt):
    load_tool('test').main([str(QUICKSTART), str(ckpt), '--work-dir',
                            str(tmp_path / 'work'), '--cfg-options',
                            *_tiny(tmp_path)])


def _path_init_model(tmp_path, ckpt):
    from posekit.apis import init_model
    init_model(str(QUICKSTART), str(ckpt), cfg_options=_tiny(tmp_path))


def _path_export_tool(tmp_path, ckpt):
    load_tool('deployment/pytorch2onnx').main(
        [str(QUICKSTART), str(ckpt), '--shape', '1', '3', '128', '96',
         '--output-file', str(tmp_path / 'm.onnx'), '--skip-verify',
         '--cfg-options', *_tiny(tmp_path)])


def _path_publish_tool(tmp_path, ckpt):
    load_tool('misc/publish_model').main([str(ckpt),
                                          str(tmp_path / 'pub.pth')])


def _path_teacher(tmp_path, ckpt):
    from posekit.models.heads.guidance.teacher_checkpoint import \
        load_teacher
    load_teacher(str(ckpt), nn.Identity(), nn.Identity())


def _path_http(tmp_path, ckpt):
    # a URL checkpoint is downloaded, then loaded like a local one
    from posekit.utils.checkpoint import load_from_http
    load_from_http(ckpt.resolve().as_uri())


PATHS = [_path_resume, _path_load_from, _path_pretrained_init,
         _path_pretrained_prefix, _path_test_tool, _path_init_model,
         _path_export_tool, _path_publish_tool, _path_teacher, _path_http]


@pytest.mark.parametrize('load', PATHS, ids=lambda f: f.__name__[6:])
def test_code_running_checkpoint_is_refused(load, evil, tmp_path,
                                            monkeypatch):
    ckpt, marker = evil
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    with pytest.raises(UnsafeCheckpointError) as info:
        load(tmp_path, ckpt)
    message = str(info.value)
    assert 'evil.pth' in message
    assert 'may run code' in message and 'open' in message
    assert not marker.exists()
    assert not (tmp_path / 'pub.pth').exists()
    assert not (tmp_path / 'm.onnx').exists()


def test_url_checkpoint_is_cached_and_loads(tmp_path, monkeypatch):
    """The safe URL loader still loads a good file (and caches it under
    $TORCH_HOME/hub/checkpoints)."""
    from posekit.utils.checkpoint import load_from_http
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    src = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.arange(3.)}}, src)
    ckpt = load_from_http(src.resolve().as_uri())
    assert torch.equal(ckpt['state_dict']['w'], torch.arange(3.))
    assert (tmp_path / 'torch_home' / 'hub' / 'checkpoints' /
            'good.pth').is_file()


def test_every_mmengine_scheme_goes_through_posekit(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from posekit.utils import checkpoint as ck
    ck.install_safe_loader()
    expected = {'': 'load_from_local', 'http://': 'load_from_http',
                'https://': 'load_from_http',
                'torchvision://': 'load_from_torchvision',
                'open-mmlab://': 'load_from_openmmlab',
                'mmcls://': 'load_from_mmcls', 'pavi://': 'load_from_pavi',
                r'(\S+\:)?s3://': 'load_from_ceph'}
    for prefix, name in expected.items():
        loader = CheckpointLoader._schemes[prefix]
        assert loader.__name__ == name
        assert loader.__module__ == ck.__name__ or getattr(
            loader, '_posekit_guarded', False)
