import os

import pytest

from posekit.engine.runner.atomic_backend import (AtomicLocalBackend,
                                                  atomic_write_bytes)


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / 'sub' / 'ckpt.pth'
    atomic_write_bytes(b'old', target)
    atomic_write_bytes(b'new-content', target)
    assert target.read_bytes() == b'new-content'
    assert os.listdir(target.parent) == ['ckpt.pth']


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / 'ckpt.pth'
    atomic_write_bytes(b'old', target)


    with pytest.raises(TypeError):
        atomic_write_bytes(object(), target)  # not bytes: write fails
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_backend_put_text(tmp_path):
    AtomicLocalBackend().put_text('hello', tmp_path / 'a.txt')
    assert (tmp_path / 'a.txt').read_text() == 'hello'
