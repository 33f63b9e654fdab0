"""slurm_train.sh / slurm_test.sh build the srun command (a fake srun on
PATH records its arguments)."""
import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_srun(tmp_path):
    log = tmp_path / 'srun_args.txt'
    srun = tmp_path / 'bin' / 'srun'
    srun.parent.mkdir()
    srun.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {log}\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f'{srun.parent}:{os.environ["PATH"]}',
               GPUS='4', SRUN_ARGS='--quotatype=spot')
    env.pop('GPUS_PER_NODE', None)
    env.pop('CPUS_PER_TASK', None)

    def run(script, *args):
        proc = subprocess.run(['bash', str(ROOT / 'tools' / script), *args],
                              env=env, capture_output=True, text=True)
        return proc, (log.read_text().splitlines() if log.exists()
                      else None)
    return run


def test_train_command(fake_srun):
    proc, args = fake_srun('slurm_train.sh', 'gpu', 'job', 'cfg.py', 'wd',
                           '--amp')
    assert proc.returncode == 0, proc.stderr
    assert args == [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:4', '--ntasks=4',
        '--ntasks-per-node=4', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--quotatype=spot', 'python', '-u', str(ROOT / 'tools/train.py'),
        'cfg.py', '--work-dir=wd', '--launcher', 'slurm', '--amp']


def test_test_command(fake_srun):
    proc, args = fake_srun('slurm_test.sh', 'gpu', 'job', 'cfg.py',
                           'ckpt.pth', '--out', 'p.pkl')
    assert proc.returncode == 0, proc.stderr
    assert args == [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:4', '--ntasks=4',
        '--ntasks-per-node=4', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--quotatype=spot', 'python', '-u', str(ROOT / 'tools/test.py'),
        'cfg.py', 'ckpt.pth', '--launcher', 'slurm', '--out', 'p.pkl']


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_too_few_arguments(fake_srun, script):
    proc, args = fake_srun(script, 'gpu', 'job', 'cfg.py')
    assert proc.returncode == 2 and args is None
    assert 'usage: GPUS=N' in proc.stderr
