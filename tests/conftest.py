"""Shared test fixtures.

Real sample data lives in ``../shared/data`` beside the checkout (or where
``POSEKIT_SHARED_DATA`` points); tests that need it skip, with the reason,
when it is absent.
"""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get('POSEKIT_SHARED_DATA')
    return Path(env) if env else REPO_ROOT.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f'sample data folder {path} is absent '
                    '(set POSEKIT_SHARED_DATA to its location)')
    return path


@pytest.fixture(scope='session', autouse=True)
def _posekit_scope():
    """Register posekit's modules and make 'posekit' the default scope.

    Tests run torch on one thread: their tensors are tiny, and several
    threads on a shared 2-core machine oversubscribe it (an HRNet forward
    took 11 s with 2 threads under load, 0.2 s with 1).
    """
    import torch

    import posekit
    torch.set_num_threads(1)
    posekit.register_all_modules(init_default_scope=True)
    yield
