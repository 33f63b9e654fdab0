"""PoseValLoop(val_loss=True): the validation loss logged beside the
metrics, on the quickstart shrunk to seconds."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.dataset import pseudo_collate

from posekit.apis.training import build_runner, load_config
from posekit.engine.runner.val_loss import (PoseValLoop, _loss_scalar,
                                            merge_loss_sums)
from posekit.registry import DATASETS, MODELS
from posekit.utils.checkpoint import safe_load

TOOLS_CONFTEST = Path(__file__).resolve().parents[1] / 'test_tools' / \
    'conftest.py'


def _tools_helpers():
    spec = importlib.util.spec_from_file_location('_tools_conftest',
                                                  TOOLS_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_h = _tools_helpers()


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp('synthetic')


def quickstart_cfg(data_root, work_dir, epochs=1, val_loss=True,
                   targets=True):
    """The tiny quickstart with PoseValLoop; ``targets`` adds
    GenerateTarget to the validation pipeline."""
    options = _h.tiny_quickstart_options(data_root, epochs) + [
        'val_cfg.type=PoseValLoop', f'val_cfg.val_loss={val_loss}']
    cfg = load_config(str(_h.QUICKSTART), options)
    if targets:
        cfg.val_dataloader.dataset.pipeline.insert(
            -1, dict(type='GenerateTarget', encoder=cfg.codec))
    cfg.work_dir = str(work_dir)
    return cfg


def val_only_runner(*args, **kwargs):
    """A runner for ``runner.val()`` alone: mmengine's CheckpointHook
    with ``save_best`` only works inside training."""
    cfg = quickstart_cfg(*args, **kwargs)
    cfg.default_hooks.checkpoint = None
    return build_runner(cfg)


def mean_val_loss(model, samples, checkpoint):
    """The validation loss of a checkpoint computed here, without the loop:
    each batch of 4 samples weighted by its size."""
    model.load_state_dict(safe_load(str(checkpoint))['state_dict'])
    model.eval()
    total, count = {}, 0
    with torch.no_grad():
        for start in range(0, len(samples), 4):
            batch = pseudo_collate(samples[start:start + 4])
            data = model.data_preprocessor(batch, False)
            losses = model(**data, mode='loss')
            n = len(batch['data_samples'])
            for key, value in losses.items():
                total[key] = total.get(key, 0.0) + n * float(value)
            count += n
    return {key: value / count for key, value in total.items()}, count


def test_val_loss_is_logged_per_epoch(data_root, tmp_path):
    cfg = quickstart_cfg(data_root, tmp_path / 'work', epochs=2)
    cfg.default_hooks.checkpoint.save_best = 'val/loss'
    cfg.default_hooks.checkpoint.rule = 'less'
    build_runner(cfg).train()
    [log] = (tmp_path / 'work').glob('*/vis_data/scalars.json')
    val = [json.loads(line) for line in log.read_text().splitlines()
           if 'coco/AP' in line]
    assert [r['step'] for r in val] == [1, 2]
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    samples = [dataset[i] for i in range(len(dataset))]
    for epoch, record in enumerate(val, 1):
        expected, count = mean_val_loss(
            model, samples, tmp_path / 'work' / f'epoch_{epoch}.pth')
        # 5 validation instances: batches of 4 and 1
        assert count == 5
        assert record['val/loss_kpt'] == pytest.approx(
            expected['loss_kpt'], rel=1e-5)
        assert record['val/acc_pose'] == pytest.approx(
            expected['acc_pose'], rel=1e-5, abs=1e-7)
        # the total holds the loss terms only (not acc_pose); the value of
        # epoch 2 is its own, not a running mean with epoch 1
        assert record['val/loss'] == pytest.approx(
            expected['loss_kpt'], rel=1e-5)
    assert val[0]['val/loss'] != val[1]['val/loss']
    # the metric can pick the best checkpoint
    best = min(val, key=lambda r: r['val/loss'])['step']
    assert [p.name for p in (tmp_path / 'work').glob('best_*.pth')] == [
        f'best_val_loss_epoch_{best}.pth']


def test_model_is_left_untouched_and_off_logs_nothing(data_root, tmp_path):
    runner = val_only_runner(data_root, tmp_path / 'on')
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    metrics = runner.val()
    assert math.isfinite(metrics['val/loss']) and metrics['val/loss'] > 0
    assert metrics['val/loss'] == metrics['val/loss_kpt']
    after = runner.model.state_dict()
    # eval mode: batch-norm running statistics and counters did not move;
    # no gradients were kept
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed == []
    assert all(p.grad is None for p in runner.model.parameters())

    off = val_only_runner(data_root, tmp_path / 'off', val_loss=False)
    metrics = off.val()
    assert 'coco/AP' in metrics
    assert not [k for k in metrics if k.startswith('val/')]
    [log] = (tmp_path / 'off').glob('*/vis_data/scalars.json')
    assert 'val/loss' not in log.read_text()


def test_missing_targets_name_the_pipeline(data_root, tmp_path):
    runner = val_only_runner(data_root, tmp_path / 'w', targets=False)
    with pytest.raises(ValueError, match=r'no training targets.*'
                       r"add dict\(type='GenerateTarget', encoder=codec\) "
                       r'before PackPoseInputs in '
                       r'val_dataloader\.dataset\.pipeline'):
        runner.val()


def test_option_type_and_loss_totals():
    with pytest.raises(TypeError, match="val_cfg.val_loss must be True or "
                       "False, got 'yes'"):
        PoseValLoop(None, None, None, val_loss='yes')
    # sums from 3 processes, one without batches
    sums, count = merge_loss_sums([({'loss_kpt': 2.0, 'acc_pose': 1.0}, 4),
                                   ({}, 0),
                                   ({'loss_kpt': 1.0, 'acc_pose': 0.5}, 1)])
    assert sums == {'loss_kpt': 3.0, 'acc_pose': 1.5} and count == 5
    loop = PoseValLoop.__new__(PoseValLoop)
    loop._loss_sums = {'loss_kpt': 1.0, 'loss_aux': 0.5, 'acc_pose': 4.0}
    loop._loss_count = 4
    assert loop.mean_losses() == {'val/acc_pose': 1.0, 'val/loss_aux': 0.125,
                                  'val/loss_kpt': 0.25, 'val/loss': 0.375}
    loop._loss_sums, loop._loss_count = {}, 0
    assert loop.mean_losses() == {}
    # multi-level losses (a list of tensors) add up their means
    assert _loss_scalar([torch.tensor([1.0, 3.0]), torch.tensor(0.5)]) == 2.5
