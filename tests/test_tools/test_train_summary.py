"""tools/train.py: --cfg-options edits nested keys and list items, the
run starts with a summary (parameters, dataset sizes, batch size per
device and in total, the learning rate after --auto-scale-lr, work dir),
and --test runs the test set after training."""
from pathlib import Path

import torch


def log_of(runner) -> str:
    return (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()


def test_summary_cfg_options_and_test_after_train(tmp_path, tool,
                                                  tiny_options,
                                                  quickstart_config):
    train = tool('train')
    work = tmp_path / 'work'
    options = tiny_options(tmp_path / 'data', epochs=1) + [
        'model.backbone.stem_channels=16',  # nested key
        'param_scheduler.1.eta_min=1e-6',  # an item of a list
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: one thread is faster
    try:
        runner = train.main([str(quickstart_config), '--work-dir', str(work),
                             '--auto-scale-lr', '--test', '--cfg-options']
                            + options)
    finally:
        torch.set_num_threads(threads)

    backbone = runner.model.backbone
    assert backbone.conv1.out_channels == 16
    assert backbone.layer1[0].conv1.out_channels == 8
    assert runner.param_schedulers[0].end == 2
    assert runner.param_schedulers[1].eta_min == 1e-6
    assert runner.cfg.param_scheduler[1]['type'] == 'CosineAnnealingLR'

    # quickstart: Adam lr 3e-3 for base_batch_size 32, here batch 4
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert abs(group['initial_lr'] - 3e-3 * 4 / 32) < 1e-12

    total = sum(p.numel() for p in runner.model.parameters())
    # top-down samples are person instances: 7 in the 3 training images,
    # 5 in the 2 validation images; batches of 4
    assert len(runner.train_dataloader.dataset) == 7
    log = log_of(runner)
    summary = log[log.index('Training summary:'):].splitlines()[1:8]
    assert summary[0].startswith(
        f'  model: TopdownPoseEstimator, {total:,} parameters ({total:,} '
        'trainable): backbone ResNet ')
    assert summary[1:] == [
        '  data: train 7 samples (SyntheticCocoDataset, 2 iterations per '
        'epoch), val 5 samples',
        '  batch size: 4 per device x 1 device = 4 in total',
        '  learning rate: 0.000375 = 0.003 x 0.125 by auto_scale_lr (batch '
        '4 / base_batch_size 32)',
        '  schedule: 1 epoch, 2 iterations',
        '  optimizer wrapper: OptimWrapper; test after training',
        f'  work dir: {work}']

    assert 0.0 <= runner.test_metrics['coco/AP'] <= 1.0
