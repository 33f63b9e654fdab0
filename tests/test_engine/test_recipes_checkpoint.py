"""Recipes 7-8 of docs/customize_runtime.md: checkpoint interval,
max_keep_ckpts, save_best and save_optimizer; the logging interval,
json scalars and TensorBoard; validation every N epochs and at the end,
test after training."""
import json
from pathlib import Path

import pytest

from posekit.utils.checkpoint import safe_load
from .recipe_utils import build, recipe, train

ONE_PER_EPOCH = {'train_dataloader.dataset.num_samples': 2}
TEN_PER_EPOCH = {'train_dataloader.dataset.num_samples': 20}


def scalars(runner) -> list:
    path = Path(runner.log_dir) / 'vis_data' / 'scalars.json'
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoints_keep_two_and_the_best(tmp_path):
    runner = build(tmp_path, recipe('checkpoint-best'), options=dict(
        ONE_PER_EPOCH, **{'train_cfg.max_epochs': 4,
                          'val_evaluator.ap_values': [0.2, 0.6, 0.4, 0.5]}))
    rec = train(runner)
    assert [m['coco/AP'] for _, _, m in rec.evals] == [0.2, 0.6, 0.4, 0.5]
    work = tmp_path / 'work'
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'best_coco_AP_epoch_2.pth', 'epoch_3.pth', 'epoch_4.pth']
    last = safe_load(str(work / 'epoch_4.pth'))
    assert 'optimizer' not in last and last['meta']['epoch'] == 4
    assert safe_load(str(work / 'best_coco_AP_epoch_2.pth'))['meta'][
        'epoch'] == 2


def test_logging_interval_and_json_scalars(tmp_path):
    runner = build(tmp_path, recipe('logging-interval'), options=dict(
        TEN_PER_EPOCH, **{'train_cfg.max_epochs': 2}))
    train(runner)
    lines = scalars(runner)
    train_lines = [x for x in lines if 'loss' in x]
    assert [x['iter'] for x in train_lines] == [10, 20]
    assert {'lr', 'loss', 'loss_kpt', 'acc_pose'} <= set(train_lines[0])
    # one validation line per epoch, read by tools/analysis/analyze_logs
    assert [x['coco/AP'] for x in lines if 'coco/AP' in x] == [0.5, 0.5]


def test_tensorboard_and_json_backends(tmp_path):
    pytest.importorskip('tensorboard', reason='TensorboardVisBackend needs '
                        'the tensorboard package (pip install tensorboard)')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    runner = build(tmp_path, recipe('logging-tensorboard'),
                   options={'train_cfg.max_epochs': 2})
    train(runner)
    vis_data = Path(runner.log_dir) / 'vis_data'
    assert list(vis_data.glob('events.out.tfevents.*'))
    events = EventAccumulator(str(vis_data))
    events.Reload()
    loss = events.Scalars('loss')
    assert [e.step for e in loss] == [1, 2, 3, 4]
    assert [e.step for e in events.Scalars('coco/AP')] == [1, 2]
    # the json file still gets the same values
    json_loss = [x['loss'] for x in scalars(runner) if 'loss' in x]
    assert [round(e.value, 5) for e in loss] == [round(v, 5)
                                                 for v in json_loss]


def test_validation_every_two_epochs_and_at_the_end_then_test(tmp_path):
    runner = build(tmp_path, recipe('val-interval-test-after'),
                   options=ONE_PER_EPOCH)
    rec = train(runner)
    assert [(kind, epoch) for kind, epoch, _ in rec.evals] == [
        ('val', 2), ('val', 4), ('val', 5), ('test', 5)]
    assert runner.test_metrics == {'coco/AP': 0.5,
                                   'coco/num_predictions': 2.0}
