"""tools/dist_train.sh on CPU: 2 processes (torchrun, gloo) train the tiny
quickstart; a probe hook (imported through ``custom_imports``) records on
each rank what it trained on, its final weights, the metrics it saw and
every file it wrote."""
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import textwrap
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from posekit.apis.training import _prepare_cpu_dist, sync_bn_keys

REPO = Path(__file__).resolve().parents[2]


def _conftest():
    path = Path(__file__).with_name('conftest.py')
    spec = importlib.util.spec_from_file_location('_dist_conftest', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

PROBE = textwrap.dedent('''
    """Test probe: per-rank records, dumped to $PROBE_DIR/rank<r>.json."""
    import builtins
    import hashlib
    import json
    import os

    import torch
    from mmengine.hooks import Hook

    from posekit.registry import HOOKS

    WRITES = []
    _open, _replace = builtins.open, os.replace


    def _recording_open(file, mode='r', *args, **kwargs):
        if any(m in mode for m in 'wax+') and isinstance(file, (str,
                                                               os.PathLike)):
            WRITES.append(os.path.abspath(os.fspath(file)))
        return _open(file, mode, *args, **kwargs)


    def _recording_replace(src, dst, *args, **kwargs):
        WRITES.append(os.path.abspath(os.fspath(dst)))
        return _replace(src, dst, *args, **kwargs)


    builtins.open, os.replace = _recording_open, _recording_replace


    @HOOKS.register_module()
    class RankProbeHook(Hook):

        def __init__(self):
            self.ids, self.metrics, self.norms = {}, [], []

        def before_train(self, runner):
            model = getattr(runner.model, 'module', runner.model)
            self.norms = sorted({type(m).__name__ for m in model.modules()
                                 if 'Norm' in type(m).__name__})
            self.dataset_ids = [runner.train_dataloader.dataset[i][
                'data_samples'].metainfo['id'] for i in range(
                    len(runner.train_dataloader.dataset))]

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.ids.setdefault(str(runner.epoch), []).extend(
                int(s.metainfo['id']) for s in data_batch['data_samples'])

        def after_val_epoch(self, runner, metrics=None):
            self.metrics.append(dict(metrics or {}))

        def after_run(self, runner):
            model = getattr(runner.model, 'module', runner.model)
            params = hashlib.sha256()
            for name, p in sorted(model.named_parameters()):
                params.update(name.encode())
                params.update(p.detach().cpu().numpy().tobytes())
            record = dict(rank=runner.rank, world_size=runner.world_size,
                          params=params.hexdigest(), ids=self.ids,
                          dataset_ids=[int(i) for i in self.dataset_ids],
                          metrics=self.metrics, norms=self.norms,
                          writes=sorted(set(WRITES)))
            path = os.path.join(os.environ['PROBE_DIR'],
                                f'rank{runner.rank}.json')
            with _open(path, 'w') as f:
                json.dump(record, f)
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory):
    """One 2-process run: 2 epochs of 2 iterations per rank (8 one-person
    training images, batch 2 per rank), validation after each epoch."""
    if shutil.which('bash') is None:
        pytest.skip('tools/dist_train.sh needs bash')
    conftest = _conftest()
    QUICKSTART = conftest.QUICKSTART
    tiny_quickstart_options = conftest.tiny_quickstart_options
    tmp = tmp_path_factory.mktemp('dist')
    (tmp / 'rank_probe.py').write_text(PROBE)
    probe_dir, work_dir = tmp / 'probe', tmp / 'work'
    probe_dir.mkdir()
    opts = tiny_quickstart_options(tmp / 'data', epochs=2)
    opts = [o for o in opts if 'num_train' not in o and 'batch_size' not in o]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.num_train=8', f'{loader}.batch_size=2',
                 f'{loader}.dataset.max_persons=1']
    config = tmp / 'probed.py'
    config.write_text(f'_base_ = [{str(QUICKSTART)!r}]\n'
                      "custom_imports = dict(imports=['rank_probe'], "
                      'allow_failed_imports=False)\n'
                      "custom_hooks = [dict(type='RankProbeHook')]\n")
    opts += ['default_hooks.checkpoint.save_best=None',
             'default_hooks.checkpoint.max_keep_ckpts=-1']
    env = dict(os.environ, PORT=str(_free_port()), PROBE_DIR=str(probe_dir),
               PYTHONPATH=os.pathsep.join([str(tmp), str(REPO)]),
               OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work_dir), '--cfg-options', *opts],
        cwd=str(tmp), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [json.loads((probe_dir / f'rank{r}.json').read_text())
             for r in (0, 1)]
    return ranks, work_dir, proc


def test_two_ranks_end_with_identical_weights(dist_run):
    ranks, _, _ = dist_run
    assert [r['world_size'] for r in ranks] == [2, 2]
    assert [r['rank'] for r in ranks] == [0, 1]
    assert ranks[0]['params'] == ranks[1]['params']
    # plain BN (no sync_bn configured): BatchNorm2d, not SyncBatchNorm
    assert ranks[0]['norms'] == ['BatchNorm2d']


def test_sampler_gives_ranks_disjoint_data(dist_run):
    ranks, _, _ = dist_run
    all_ids = ranks[0]['dataset_ids']
    assert len(all_ids) == 8 and ranks[1]['dataset_ids'] == all_ids
    for epoch in ('0', '1'):
        seen = [r['ids'][epoch] for r in ranks]
        assert [len(s) for s in seen] == [4, 4]  # 2 iterations x batch 2
        assert not set(seen[0]) & set(seen[1])
        assert sorted(seen[0] + seen[1]) == sorted(all_ids)


def test_metrics_are_gathered_once(dist_run):
    ranks, work_dir, _ = dist_run
    # every rank receives the same (broadcast) metrics, one set per epoch
    assert len(ranks[0]['metrics']) == 2
    assert ranks[0]['metrics'] == ranks[1]['metrics']
    assert 'coco/AP' in ranks[0]['metrics'][0]
    scalars = list(work_dir.glob('*/vis_data/scalars.json'))
    assert len(scalars) == 1
    records = [json.loads(line) for line in scalars[0].read_text()
               .splitlines()]
    val = [r for r in records if 'coco/AP' in r]
    assert len(val) == 2  # one record per validation, not one per rank


def test_only_rank0_writes_checkpoints_and_logs(dist_run):
    ranks, work_dir, _ = dist_run
    work = str(work_dir)
    rank0 = [p for p in ranks[0]['writes'] if p.startswith(work)]
    rank1 = [p for p in ranks[1]['writes'] if p.startswith(work)]
    names0 = {os.path.basename(p) for p in rank0}
    assert {'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint'} <= names0
    assert any(p.endswith('.log') for p in rank0)
    assert rank1 == []
    assert sorted(p.name for p in work_dir.glob('*.pth')) == [
        'epoch_1.pth', 'epoch_2.pth']


def test_cpu_run_refuses_sync_bn_naming_the_keys():
    cfg = Config(dict(launcher='pytorch', sync_bn='torch', model=dict(
        type='TopdownPoseEstimator', use_syncbn=True,
        backbone=dict(type='ResNet', norm_cfg=dict(type='SyncBN')))))
    assert sync_bn_keys(cfg) == ['sync_bn', 'model.use_syncbn',
                                 'model.backbone.norm_cfg']
    with pytest.raises(ValueError, match='model.backbone.norm_cfg') as info:
        _prepare_cpu_dist(cfg)
    assert 'sync_bn' in str(info.value) and 'GPUs' in str(info.value)


def test_use_syncbn_converts_batch_norms(quickstart_config):
    """``model.use_syncbn=True`` turns every BatchNorm of the quickstart
    model into SyncBatchNorm once a process group exists (here a
    one-process gloo group)."""
    import posekit
    from posekit.registry import MODELS
    posekit.register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(quickstart_config))
    cfg.model.backbone.base_channels = 8
    cfg.model.head.in_channels = 64
    plain = MODELS.build(cfg.model)
    num_bn = sum(isinstance(m, torch.nn.BatchNorm2d)
                 for m in plain.modules())
    cfg.model.use_syncbn = True
    store = torch.distributed.HashStore()
    torch.distributed.init_process_group('gloo', store=store, rank=0,
                                         world_size=1)
    try:
        model = MODELS.build(cfg.model)
    finally:
        torch.distributed.destroy_process_group()
    sync = [m for m in model.modules()
            if isinstance(m, torch.nn.SyncBatchNorm)]
    assert num_bn > 10 and len(sync) == num_bn
    assert not any(type(m) is torch.nn.BatchNorm2d for m in model.modules())


def test_dist_train_script_passes_launcher_and_port(tmp_path):
    """dist_train.sh runs torchrun with --nproc_per_node, the PORT and
    --launcher pytorch (checked with a fake python on PATH)."""
    fake = tmp_path / 'python'
    fake.write_text('#!/usr/bin/env bash\necho "$@"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}',
               PORT='29999')
    out = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), 'cfg.py', '3',
         '--amp'], env=env, capture_output=True, text=True,
        check=True).stdout.split()
    assert out[:3] == ['-m', 'torch.distributed.run', '--nnodes=1']
    assert '--nproc_per_node=3' in out and '--master_port=29999' in out
    assert out[-4:] == ['cfg.py', '--launcher', 'pytorch', '--amp']


def test_slurm_launcher_reads_srun_variables(monkeypatch):
    from posekit.apis.training import _launcher_env
    for key, value in dict(SLURM_PROCID='5', SLURM_NTASKS='16',
                           SLURM_LOCALID='1', SLURM_NODELIST='gpu[01-02]',
                           MASTER_ADDR='gpu01', MASTER_PORT='29511').items():
        monkeypatch.setenv(key, value)
    assert _launcher_env('slurm') == dict(
        RANK='5', WORLD_SIZE='16', LOCAL_RANK='1', MASTER_ADDR='gpu01',
        MASTER_PORT='29511')


def test_missing_launcher_variables_say_which_script_to_use(monkeypatch):
    from posekit.apis.training import init_cpu_dist
    monkeypatch.delenv('RANK', raising=False)
    with pytest.raises(RuntimeError, match='RANK') as info:
        init_cpu_dist('pytorch')
    assert 'tools/dist_train.sh' in str(info.value)
