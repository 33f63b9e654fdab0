"""The SCTNet-B + semantic-guidance config trains and predicts, shrunk to
64x64 crops on the four COCO sample images."""
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ('configs/body_2d_keypoint/topdown_heatmap/coco/'
                 'td-hm_sctnet-b_aux_coco-640x640.py')


def small_options(coco: Path) -> list:
    size = ['input_size=(64,64)', 'heatmap_size=(16,16)', 'sigma=1']
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.save_best=None',
            'default_hooks.checkpoint.save_last=False',
            'default_hooks.logger.interval=1',
            'train_dataloader.dataset.pipeline.5.input_size=(64,64)',
            'val_dataloader.dataset.pipeline.2.input_size=(64,64)',
            'test_dataloader.dataset.pipeline.2.input_size=(64,64)',
            'val_dataloader.dataset.bbox_file=None',
            f'val_evaluator.ann_file={coco / "test_coco.json"}']
    opts += [f'model.head.decoder.{s}' for s in size]
    opts += [f'train_dataloader.dataset.pipeline.6.encoder.{s}' for s in size]
    for loader in ('train_dataloader', 'val_dataloader'):
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=2', f'{loader}.dataset.indices=4',
                 f'{loader}.dataset.data_root={coco}',
                 f'{loader}.dataset.ann_file=test_coco.json',
                 f'{loader}.dataset.data_prefix.img=']
    return opts


def test_sctnet_b_guidance_config_trains_two_iterations_and_predicts(
        tmp_path, tool, shared_data):
    train = tool('train')
    work = tmp_path / 'work'
    train.main([str(CONFIG), '--work-dir', str(work), '--cfg-options']
               + small_options(shared_data / 'coco'))
    (log, ) = work.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in log.read_text().splitlines()]
    steps = [r for r in records if 'loss' in r]
    assert [r['iter'] for r in steps] == [1, 2]
    for r in steps:
        # the guidance loss is part of the total
        assert r['aux_loss_guidance'] > 0
        assert r['loss'] == pytest.approx(
            r['loss_kpt'] + r['aux_loss_guidance'], rel=1e-5)
    (val, ) = [r for r in records if 'coco/AP' in r]
    assert 0.0 <= val['coco/AP'] <= 1.0
