"""Fixtures for the demo tests: the demo scripts as modules and a tiny
random-init top-down model (config + checkpoint) in a temporary folder."""
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'


def load_demo(name: str):
    """Import demo/<name>.py as a module (demo/ is not a package)."""
    path = REPO / 'demo' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'_demo_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def demo_module():
    """``demo_module('image_demo')`` imports demo/image_demo.py."""
    return load_demo


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope='session')
def tiny_topdown(tmp_path_factory):
    """(config path, checkpoint path) of the quickstart top-down model
    shrunk to a ResNet-18 with 8 base channels, random weights."""
    import torch

    from posekit.apis import init_model
    folder = tmp_path_factory.mktemp('tiny_topdown')
    config = folder / 'tiny_topdown.py'
    config.write_text(
        f"_base_ = [{str(QUICKSTART)!r}]\n"
        "model = dict(backbone=dict(base_channels=8, stem_channels=8),\n"
        "             head=dict(in_channels=64,\n"
        "                       deconv_out_channels=(8, 8, 8)))\n")
    torch.manual_seed(0)
    model = init_model(str(config))
    checkpoint = folder / 'tiny_topdown.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return str(config), str(checkpoint)


@pytest.fixture(scope='session')
def coco_dir(shared_data) -> Path:
    folder = shared_data / 'coco'
    if not (folder / 'test_coco.json').is_file():
        pytest.skip(f'{folder} has no COCO sample data')
    return folder
