"""Exact resume after SIGKILL (issue 9, part 1).

A real ``tools/train.py`` subprocess trains the tiny quickstart (random
flips and box jitter on, deterministic mode, EMA) with a checkpoint every 3
iterations and SIGKILLs itself after iteration 8, i.e. inside the second
epoch, two iterations after its last checkpoint (iter_6, itself two
batches into that epoch). A new subprocess resumes with ``--resume``; its
final weights, EMA weights and optimizer state must equal, bit for bit,
those of an uninterrupted run of the same length. Done with
``num_workers=0`` (the trained batches are skipped in the sampler) and
``num_workers=1`` (they are replayed through the worker), the two cases
side by side to halve the wall time.
"""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List, Sequence

import torch

from posekit.utils.checkpoint import safe_load

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'

EPOCHS = 3
ITERS_PER_EPOCH = 4   # 8 instances in 3 images, batches of 2
KILL_AFTER = 8        # completed iterations when the process kills itself

# a user module the configs import: a hook that SIGKILLs its own process
KILL_HOOK = '''
import os
import signal

from mmengine.hooks import Hook

from posekit.registry import HOOKS


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, after):
        self.after = after

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.after:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def write_configs(tmp: Path, num_workers: int) -> None:
    """``base.py`` (EMA, checkpoints every 3 iterations, deterministic)
    and ``kill.py`` (the same plus the self-kill hook) in ``tmp``."""
    (tmp / 'killhook.py').write_text(KILL_HOOK)
    ema = ("dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.1, "
           "update_buffers=True, priority=49)")
    (tmp / 'base.py').write_text(textwrap.dedent(f'''
        _base_ = [{str(QUICKSTART)!r}]
        randomness = dict(seed=3, deterministic=True)
        default_hooks = dict(checkpoint=dict(
            interval=3, by_epoch=False, save_best=None, max_keep_ckpts=2))
        train_dataloader = dict(num_workers={num_workers})
        custom_hooks = [{ema}]
    '''))
    (tmp / 'kill.py').write_text(textwrap.dedent(f'''
        _base_ = ['base.py']
        custom_imports = dict(imports=['killhook'],
                              allow_failed_imports=False)
        custom_hooks = [{ema},
                        dict(type='KillAfterIterHook', after={KILL_AFTER})]
    '''))


def tiny_options(data_root: Path) -> List[str]:
    opts = [f'train_cfg.max_epochs={EPOCHS}', 'model.backbone.base_channels=8',
            'model.head.in_channels=64', 'model.head.deconv_out_channels=(8,8,8)',
            'param_scheduler.0.end=2', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2',
            'train_dataloader.persistent_workers=False']
    synthetic = dict(num_train=3, num_val=2, seed=1, image_size='(96,96)',
                     data_root=data_root)
    opts += [f'train_dataloader.dataset.{k}={v}'
             for k, v in synthetic.items()]
    return opts


def train(tmp: Path, config: str, work_dir: Path, *extra: str,
          options: Sequence[str] = ()) -> subprocess.Popen:
    """Start ``tools/train.py tmp/config`` (tiny, no validation) in
    ``work_dir``; its output goes to ``<work_dir>.log``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp), str(REPO), os.environ.get('PYTHONPATH', '')]),
        OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    cmd = [sys.executable, str(REPO / 'tools/train.py'), str(tmp / config),
           '--work-dir', str(work_dir), '--no-validate', *extra,
           '--cfg-options', *tiny_options(work_dir / 'data'), *options]
    log = open(work_dir.parent / f'{work_dir.name}.log', 'w')
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def log_of(work_dir: Path) -> str:
    return (work_dir.parent / f'{work_dir.name}.log').read_text()


def final(work_dir: Path) -> dict:
    return safe_load(work_dir / f'iter_{EPOCHS * ITERS_PER_EPOCH}.pth',
                     map_location='cpu')


def assert_bitwise_equal(a: dict, b: dict, what: str) -> int:
    """Asserts equal keys and bitwise-equal tensors; returns the count."""
    assert sorted(a) == sorted(b), what
    for key in a:
        assert torch.equal(a[key], b[key]), (
            f'{what} {key}: max abs diff '
            f'{(a[key].double() - b[key].double()).abs().max().item()}')
    return len(a)


def optimizer_tensors(checkpoint: dict) -> dict:
    state = checkpoint['optimizer']['state']
    return {f'{i}.{name}': t for i, s in state.items()
            for name, t in s.items() if isinstance(t, torch.Tensor)}


def check_exact(tmp: Path, whole: Path, killed: Path) -> None:
    """The resumed run ``killed`` ended where the uninterrupted ``whole``
    did, bit for bit."""
    log = log_of(killed)
    # two of epoch 2's four batches were in iter_6: they are not repeated
    assert 'leaving out the 2 batches of it already trained' in log
    assert f'Epoch(train) [2][3/{ITERS_PER_EPOCH}]' in log
    a, b = final(whole), final(killed)
    assert a['meta']['iter'] == b['meta']['iter'] == EPOCHS * ITERS_PER_EPOCH
    count = assert_bitwise_equal(a['state_dict'], b['state_dict'],
                                 'state_dict (EMA weights)')
    assert count > 100
    assert_bitwise_equal(a['ema_state_dict'], b['ema_state_dict'],
                         'ema_state_dict (trained weights)')
    assert_bitwise_equal(optimizer_tensors(a), optimizer_tensors(b),
                         'optimizer state')
    # the weights did change after the kill point (else equality would
    # prove little)
    early = safe_load(whole / 'iter_9.pth', map_location='cpu')
    moved = [k for k, v in a['ema_state_dict'].items()
             if v.is_floating_point()
             and not torch.equal(v, early['ema_state_dict'][k])]
    assert len(moved) > 50


def test_resume_after_sigkill_is_bitwise_exact(tmp_path):
    """num_workers=0 (sampler skip) and 1 (replay), run side by side."""
    cases = {}
    for workers in (0, 1):
        tmp = tmp_path / f'workers{workers}'
        (tmp / 'whole').mkdir(parents=True)
        (tmp / 'killed').mkdir()
        write_configs(tmp, workers)
        cases[workers] = tmp
    runs = []  # (process, work dir, expected exit code)
    for tmp in cases.values():
        runs.append((train(tmp, 'base.py', tmp / 'whole'), tmp / 'whole', 0))
        runs.append((train(tmp, 'kill.py', tmp / 'killed'), tmp / 'killed',
                     -signal.SIGKILL))
    for proc, work, code in runs:
        assert proc.wait(timeout=300) == code, log_of(work)[-3000:]
    for tmp in cases.values():
        killed = tmp / 'killed'
        # killed after iteration 8: iter_6 is its newest checkpoint
        assert (killed / 'last_checkpoint').read_text().endswith(
            'iter_6.pth')
        assert not (killed / f'iter_{EPOCHS * ITERS_PER_EPOCH}.pth').exists()
    resumes = {w: train(tmp, 'base.py', tmp / 'killed', '--resume')
               for w, tmp in cases.items()}
    for w, proc in resumes.items():
        assert proc.wait(timeout=300) == 0, \
            log_of(cases[w] / 'killed')[-3000:]
    for tmp in cases.values():
        check_exact(tmp, tmp / 'whole', tmp / 'killed')
