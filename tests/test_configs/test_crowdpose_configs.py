"""The CrowdPose configs build their models, and their dataset sections
and evaluator run on the real CrowdPose sample images."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from posekit.registry import DATASETS, METRICS, MODELS

REPO = Path(__file__).resolve().parents[2]
TOPDOWN = (REPO / 'configs/body_2d_keypoint/topdown_heatmap/crowdpose/'
           'td-hm_res50_8xb64-210e_crowdpose-256x192.py')


def _on_shared(dataset_cfg, root: Path, **extra):
    dataset_cfg.update(data_root=str(root), ann_file='test_crowdpose.json',
                       data_prefix=dict(img=''), **extra)
    return DATASETS.build(dataset_cfg)


def test_topdown_res50_has_14_keypoint_outputs():
    cfg = Config.fromfile(str(TOPDOWN))
    cfg.model.backbone.pop('init_cfg')  # no download in tests
    model = MODELS.build(cfg.model)
    # the COCO SimpleBaseline (33,999,697) less 3 of the 17 output
    # channels of the final 1x1 conv over 256 features: 3 * (256 + 1)
    assert sum(p.numel() for p in model.parameters()) == 33_999_697 - 771
    assert model.head.final_layer.out_channels == 14


def test_topdown_dataset_sections_and_metric(shared_data):
    cfg = Config.fromfile(str(TOPDOWN))
    root = shared_data / 'crowdpose'
    assert cfg.train_dataloader.dataset.ann_file == \
        'annotations/mmpose_crowdpose_trainval.json'
    assert cfg.val_dataloader.dataset.ann_file == \
        'annotations/mmpose_crowdpose_test.json'
    train = _on_shared(cfg.train_dataloader.dataset, root)
    sample = train[0]
    assert sample['inputs'].shape == (3, 256, 192)
    assert sample['data_samples'].gt_fields.heatmaps.shape == (14, 64, 48)
    val = _on_shared(cfg.val_dataloader.dataset, root,
                     bbox_file=str(root / 'test_crowdpose_det_AP_40.json'))
    assert len(val) > 0
    assert val[0]['inputs'].dtype == torch.uint8
    assert cfg.val_evaluator.ann_file.endswith('mmpose_crowdpose_test.json')
    metric = METRICS.build(dict(cfg.val_evaluator,
                                ann_file=str(root / 'test_crowdpose.json')))
    assert (metric.iou_type, metric.use_area) == ('keypoints_crowd', False)
    assert metric.prefix == 'crowdpose'


@pytest.mark.parametrize('cfg_key', ['train_dataloader', 'val_dataloader'])
def test_datasets_are_crowdpose(cfg_key):
    cfg = Config.fromfile(str(TOPDOWN))
    assert cfg[cfg_key].dataset.type == 'CrowdPoseDataset'
