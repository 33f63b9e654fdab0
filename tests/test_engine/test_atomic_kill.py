"""Atomic checkpoints under a kill (issue 9, part 2).

A ``tools/train.py`` subprocess is SIGKILLed in the middle of writing its
third checkpoint (the file is cut to half its size, then the process kills
itself before the rename), with ``max_keep_ckpts=1``: the previous
checkpoint must survive (mmengine's own hook deletes it before writing),
``last_checkpoint`` must still name it, and ``--resume`` must continue from
it to the end. The fallback past a checkpoint that does not load is tested
in-process on hand-made work dirs.
"""
import signal
import textwrap
from pathlib import Path

import torch

from posekit.engine.runner import resume_candidates
from posekit.engine.runner.resume_candidates import newest_complete
from posekit.utils.checkpoint import safe_load
from .test_exact_resume import EPOCHS, ITERS_PER_EPOCH, log_of, train, \
    write_configs

# a user module: at the N-th checkpoint write, cut the temporary file to
# half its size where the write would be flushed, then SIGKILL
KILL_IN_WRITE = '''
import os
import signal

from mmengine.hooks import Hook

from posekit.registry import HOOKS


@HOOKS.register_module()
class KillInWriteHook(Hook):

    def __init__(self, write):
        self.write, self.count = write, 0

    def before_save_checkpoint(self, runner, checkpoint):
        self.count += 1
        if self.count == self.write:
            def fsync(fd):
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                os.kill(os.getpid(), signal.SIGKILL)
            os.fsync = fsync
'''


def test_kill_inside_checkpoint_write_then_resume(tmp_path):
    write_configs(tmp_path, 0)
    (tmp_path / 'killwrite.py').write_text(KILL_IN_WRITE)
    (tmp_path / 'write.py').write_text(textwrap.dedent('''
        _base_ = ['base.py']
        default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
        custom_imports = dict(imports=['killwrite'],
                              allow_failed_imports=False)
        custom_hooks = [dict(type='KillInWriteHook', write=3)]
    '''))
    work = tmp_path / 'work'
    work.mkdir()
    proc = train(tmp_path, 'write.py', work)
    assert proc.wait(timeout=300) == -signal.SIGKILL, log_of(work)[-3000:]

    names = sorted(p.name for p in work.iterdir() if 'pth' in p.name)
    partial = [n for n in names if n.startswith('.tmp-')]
    # the kill hit the iter_9 write: only its temporary file exists, and
    # iter_6 was kept although max_keep_ckpts=1
    assert len(partial) == 1 and partial[0].endswith('iter_9.pth'), names
    assert [n for n in names if not n.startswith('.tmp-')] == ['iter_6.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_6.pth')
    assert safe_load(work / 'iter_6.pth')['meta']['iter'] == 6

    proc = train(tmp_path, 'write.py', work, '--resume',
                 options=['custom_hooks=[]'])
    assert proc.wait(timeout=300) == 0, log_of(work)[-3000:]
    log = log_of(work)
    assert f'removed {work / partial[0]}' in log
    assert f'resuming from {work / "iter_6.pth"}' in log
    last = EPOCHS * ITERS_PER_EPOCH
    assert sorted(p.name for p in work.iterdir() if 'pth' in p.name) == [
        f'iter_{last}.pth']
    assert safe_load(work / f'iter_{last}.pth')['meta']['iter'] == last


def _checkpoint(path: Path, iteration: int) -> None:
    torch.save(dict(meta=dict(iter=iteration, epoch=0),
                    state_dict=dict(w=torch.full((64, 64), iteration))),
               path)


def _warnings(monkeypatch) -> list:
    seen = []
    monkeypatch.setattr(resume_candidates, 'print_log',
                        lambda msg, **kw: seen.append(msg))
    return seen


def test_truncated_latest_falls_back_to_newest_complete(tmp_path,
                                                         monkeypatch):
    for it in (2, 4, 6):
        _checkpoint(tmp_path / f'iter_{it}.pth', it)
    data = (tmp_path / 'iter_6.pth').read_bytes()
    (tmp_path / 'iter_6.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    seen = _warnings(monkeypatch)
    path, ckpt = newest_complete(str(tmp_path), safe_load)
    assert path == str(tmp_path / 'iter_4.pth')
    assert ckpt['meta']['iter'] == 4
    assert len(seen) == 1
    assert f'skipped checkpoint {tmp_path / "iter_6.pth"}' in seen[0]
    assert f'resuming from {tmp_path / "iter_4.pth"}' in seen[0]


def test_empty_last_checkpoint_and_deleted_target(tmp_path, monkeypatch):
    _checkpoint(tmp_path / 'iter_2.pth', 2)
    _checkpoint(tmp_path / 'iter_4.pth', 4)
    (tmp_path / 'last_checkpoint').write_text('')  # cut short while written
    seen = _warnings(monkeypatch)
    path, _ = newest_complete(str(tmp_path), safe_load)
    assert path == str(tmp_path / 'iter_4.pth')
    assert 'last_checkpoint is missing or empty' in seen[0]

    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_8.pth'))
    seen.clear()
    path, _ = newest_complete(str(tmp_path), safe_load)
    assert path == str(tmp_path / 'iter_4.pth')
    assert 'iter_8.pth (FileNotFoundError' in seen[0]


def test_no_complete_checkpoint_starts_over(tmp_path, monkeypatch):
    (tmp_path / 'iter_2.pth').write_bytes(b'PK\x03\x04 not a checkpoint')
    torch.save(dict(state_dict={}), tmp_path / 'iter_1.pth')  # no meta
    seen = _warnings(monkeypatch)
    assert newest_complete(str(tmp_path), safe_load) == (None, None)
    assert 'no complete checkpoint' in seen[0]
    assert 'iter_2.pth' in seen[0] and 'iter_1.pth (it has no meta)' in seen[0]
