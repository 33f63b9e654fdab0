import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'


def load_tool(name: str):
    """Import tools/<name>.py as a module (tools/ is not a package)."""
    path = REPO / 'tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_quickstart_options(data_root: Path, epochs: int) -> list:
    """--cfg-options that shrink the quickstart to seconds: 3 generated
    96x96 images, a 2-iteration epoch, a narrow model, no worker
    processes."""
    opts = [f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1',
            'model.backbone.base_channels=8', 'model.head.in_channels=64',
            'model.head.deconv_out_channels=(8,8,8)',
            'param_scheduler.0.end=2', 'default_hooks.logger.interval=1']
    synthetic = dict(num_train=3, num_val=2, seed=1, image_size='(96,96)',
                     data_root=data_root)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=4']
        opts += [f'{loader}.dataset.{k}={v}' for k, v in synthetic.items()]
    return opts


@pytest.fixture
def tool():
    """``tool('train')`` imports tools/train.py."""
    return load_tool


@pytest.fixture
def tiny_options():
    """``tiny_options(data_root, epochs)``: --cfg-options for a seconds-long
    quickstart run."""
    return tiny_quickstart_options


@pytest.fixture
def quickstart_config() -> Path:
    return QUICKSTART
