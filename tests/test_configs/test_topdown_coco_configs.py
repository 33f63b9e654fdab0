"""The MMPose-named COCO configs build the published models and their
dataset sections run on the real sample images."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from posekit.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
RES50 = (REPO / 'configs/body_2d_keypoint/topdown_heatmap/coco/'
         'td-hm_res50_8xb64-210e_coco-256x192.py')


def _model_cfg(**backbone):
    cfg = Config.fromfile(str(RES50))
    cfg.model.backbone.pop('init_cfg')  # no download in tests
    cfg.model.backbone.update(backbone)
    return cfg


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_res50_config_builds_simplebaseline():
    cfg = _model_cfg()
    assert _params(MODELS.build(cfg.model)) == 33_999_697


def test_res18_variant():
    cfg = _model_cfg(depth=18)
    cfg.model.head.in_channels = 512
    assert _params(MODELS.build(cfg.model)) == 15_376_721


def _on_shared_coco(dataset_cfg, coco_dir: Path, **extra):
    dataset_cfg.update(data_root=str(coco_dir), ann_file='test_coco.json',
                       data_prefix=dict(img=''), **extra)
    return DATASETS.build(dataset_cfg)


def test_dataset_sections_on_sample_coco(shared_data):
    cfg = Config.fromfile(str(RES50))
    coco = shared_data / 'coco'
    train = _on_shared_coco(cfg.train_dataloader.dataset, coco)
    sample = train[0]
    assert sample['inputs'].shape == (3, 256, 192)
    assert sample['inputs'].dtype == torch.uint8
    ds = sample['data_samples']
    assert ds.gt_fields.heatmaps.shape == (17, 64, 48)
    assert ds.gt_instance_labels.keypoint_weights.shape == (1, 17)

    val_cfg = cfg.val_dataloader.dataset
    val_cfg.bbox_file = str(coco / 'test_coco_det_AP_H_56.json')
    val = _on_shared_coco(val_cfg, coco)
    assert len(val) > 0
    assert val[0]['inputs'].shape == (3, 256, 192)


def test_res18_model_trains_and_predicts_on_sample_coco(shared_data):
    cfg = _model_cfg(depth=18)
    cfg.model.head.in_channels = 512
    model = MODELS.build(cfg.model)
    model.init_weights()
    coco = shared_data / 'coco'
    train = _on_shared_coco(Config.fromfile(str(RES50)).train_dataloader
                            .dataset, coco)
    batch = pseudo_collate([train[i] for i in range(2)])
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert torch.isfinite(losses['loss_kpt'])

    val = _on_shared_coco(Config.fromfile(str(RES50)).val_dataloader.dataset,
                          coco, bbox_file=None)
    model.eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([val[0], val[1]]))
    assert len(out) == 2
    kpts = out[0].pred_instances.keypoints
    assert kpts.shape == (1, 17, 2)
    # predictions are in original-image pixels, near the person's box
    x1, y1, x2, y2 = out[0].gt_instances.bboxes[0]
    w, h = x2 - x1, y2 - y1
    assert (kpts[..., 0] >= x1 - w).all() and (kpts[..., 0] <= x2 + w).all()
    assert (kpts[..., 1] >= y1 - h).all() and (kpts[..., 1] <= y2 + h).all()
