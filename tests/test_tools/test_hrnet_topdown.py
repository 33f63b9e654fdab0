"""HRNet-W32's COCO top-down config, shrunk: 2 training iterations on the
shared COCO sample, then predictions on it."""
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.apis.training import load_config
from posekit.utils.checkpoint import safe_load

CONFIG = (Path(__file__).resolve().parents[2] / 'configs/body_2d_keypoint/'
          'topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')


@pytest.fixture
def one_thread():
    """HRNet runs hundreds of small ops; on a busy machine each one waits
    for a second OpenMP thread, so one thread is many times faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def shrunk_config(coco, tmp_path):
    """The W32 config at a 64x64 input (16x16 heatmaps), no pretrained
    download, the shared COCO sample as train and test data."""
    cfg = load_config(str(CONFIG))
    codec = dict(type='MSRAHeatmap', input_size=(64, 64),
                 heatmap_size=(16, 16), sigma=2)
    cfg.model.head.decoder = codec
    cfg.model.backbone.init_cfg = None
    cfg.model.head.in_channels = 'auto'
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=100)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.randomness = dict(seed=0)
    ann = str(coco / 'test_coco.json')
    # every loader, val too (unused here): the config check compares all
    # TopdownAffine input sizes with the decoder's
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=7, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=str(coco), ann_file=ann,
                              data_prefix=dict(img=''))
        for step in loader.dataset.pipeline:
            if step.type == 'TopdownAffine':
                step.input_size = codec['input_size']
            if step.type == 'GenerateTarget':
                step.encoder = codec
    cfg.test_dataloader.dataset.bbox_file = None
    cfg.test_evaluator = dict(type='CocoMetric', ann_file=ann)
    path = tmp_path / 'hrnet_w32_tiny.py'
    cfg.dump(str(path))
    return path


def test_hrnet_w32_trains_and_predicts(tmp_path, shared_data, tool,
                                       one_thread):
    path = shrunk_config(shared_data / 'coco', tmp_path)
    work = tmp_path / 'work'
    tool('train').main([str(path), '--work-dir', str(work), '--no-validate'])
    ckpt = safe_load(str(work / 'epoch_1.pth'))
    # the 12 of 14 annotations that have keypoints, in batches of 7
    anns = json.loads((shared_data / 'coco/test_coco.json').read_text())
    num = sum(1 for a in anns['annotations']
              if a['num_keypoints'] > 0 and not a['iscrowd'])
    assert num == 12
    assert ckpt['meta']['iter'] == 2
    assert tuple(ckpt['state_dict']['head.final_layer.weight'].shape) == (
        17, 32, 1, 1)

    out = tmp_path / 'preds.pkl'
    metrics = tool('test').main([str(path), str(work / 'epoch_1.pth'),
                                 '--work-dir', str(tmp_path / 'eval'),
                                 '--out', str(out)])
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    with open(out, 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == num
    scored = 0
    for sample in samples:
        pred = sample['pred_instances']
        kpts = np.asarray(pred['keypoints'])
        scores = np.asarray(pred['keypoint_scores'])
        assert kpts.shape == (1, 17, 2) and scores.shape == (1, 17)
        # keypoints found (score > 0) come back in image pixels inside the
        # padded box, give or take the quarter-pixel shift of the decoder
        center = np.asarray(sample['input_center']).reshape(2)
        scale = np.asarray(sample['input_scale']).reshape(2)
        found = kpts[0][scores[0] > 0]
        assert np.all(np.abs(found - center) <= scale / 2 + scale / 64)
        scored += len(found)
    assert scored > 0
