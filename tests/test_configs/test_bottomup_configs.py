"""The bottom-up configs (Associative Embedding and HigherHRNet on COCO and
CrowdPose) build the published models, and their pipelines run on the real
sample images into a loss and a prediction."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from posekit.registry import DATASETS, MODELS
from posekit.structures import MultilevelPixelData

REPO = Path(__file__).resolve().parents[2]
AE_DIR = REPO / 'configs/body_2d_keypoint/associative_embedding'
CONFIGS = {
    ('ae', 'coco'): AE_DIR / 'coco/ae_hrnet-w32_8xb24-300e_coco-512x512.py',
    ('higher', 'coco'):
    AE_DIR / 'coco/higherhrnet-w32_8xb24-300e_coco-512x512.py',
    ('ae', 'crowdpose'):
    AE_DIR / 'crowdpose/ae_hrnet-w32_8xb24-300e_crowdpose-512x512.py',
    ('higher', 'crowdpose'):
    AE_DIR / 'crowdpose/higherhrnet-w32_8xb24-300e_crowdpose-512x512.py',
}
KPTS = dict(coco=17, crowdpose=14)
# HRNet-W32 without a head: the top-down W32 model (28,536,113, tested
# with the backbone) less its 1x1 conv to 17 heatmaps, 32 * 17 + 17.
HRNET_W32 = 28_536_113 - (32 * 17 + 17)


def _higher_head_params(k: int) -> int:
    """HigherHRNet's head for k keypoints (the arithmetic of
    test_higherhrnet_head, with k in place of 17)."""
    final0 = 32 * 2 * k + 2 * k          # heatmaps + tags at 1/4
    deconv = (32 + 2 * k) * 32 * 4 * 4 + 2 * 32
    blocks = 4 * (2 * 32 * 32 * 9 + 2 * 2 * 32)
    final1 = 32 * k + k                  # heatmaps at 1/2
    return final0 + deconv + blocks + final1


def _cfg(kind, data):
    cfg = Config.fromfile(str(CONFIGS[kind, data]))
    cfg.model.backbone.pop('init_cfg')  # no download in tests
    return cfg


@pytest.mark.parametrize('data', ['coco', 'crowdpose'])
def test_models_have_the_published_sizes(data):
    k = KPTS[data]
    ae = MODELS.build(_cfg('ae', data).model)
    assert sum(p.numel() for p in ae.parameters()) == \
        HRNET_W32 + 32 * 2 * k + 2 * k
    higher = MODELS.build(_cfg('higher', data).model)
    total = sum(p.numel() for p in higher.parameters())
    assert total == HRNET_W32 + _higher_head_params(k)
    if data == 'coco':
        # the HigherHRNet paper's W32 model: 28.6M parameters
        assert round(total / 1e6, 1) == 28.6


def _shrink(cfg, size=128):
    """The config at a small input size (fast on CPU), codecs to match:
    each keeps its stride (4 for the 1/4 maps, 2 for HigherHRNet's 1/2)."""
    codecs = [cfg.codec] + ([cfg.codec_half] if 'codec_half' in cfg else [])
    for codec in codecs:
        stride = codec.input_size[0] // codec.heatmap_size[0]
        codec.input_size = (size, size)
        codec.heatmap_size = (size // stride, size // stride)
    pipe = cfg.train_dataloader.dataset.pipeline
    pipe[1].input_size = (size, size)
    pipe[3].encoder = codecs if len(codecs) > 1 else cfg.codec
    cfg.val_dataloader.dataset.pipeline[1].input_size = (size, size)
    cfg.model.head.decoder = dict(cfg.codec, heatmap_size=(size, size))
    return cfg


def _dataset(section, data, shared_data):
    root = shared_data / data
    section.dataset.update(
        data_root=str(root), data_prefix=dict(img=''),
        ann_file='test_coco.json' if data == 'coco'
        else 'test_crowdpose.json')
    return DATASETS.build(section.dataset)


@pytest.mark.parametrize('kind,data', sorted(CONFIGS))
def test_pipelines_train_and_predict_on_sample_images(kind, data,
                                                       shared_data):
    torch.manual_seed(0)
    cfg = _shrink(_cfg(kind, data))
    k = KPTS[data]
    train = _dataset(cfg.train_dataloader, data, shared_data)
    assert train.data_mode == 'bottomup'
    batch = pseudo_collate([train[0], train[1]])
    assert batch['inputs'][0].shape == (3, 128, 128)
    fields = batch['data_samples'][0].gt_fields
    if kind == 'higher':
        assert isinstance(fields, MultilevelPixelData)
        assert [tuple(h.shape) for h in fields.heatmaps] == [
            (k, 32, 32), (k, 64, 64)]
        assert [tuple(m.shape) for m in fields.heatmap_mask] == [
            (1, 32, 32), (1, 64, 64)]
    else:
        assert fields.heatmaps.shape == (k, 32, 32)
        assert fields.heatmap_mask.shape == (1, 32, 32)

    model = MODELS.build(cfg.model)
    model.train()
    data_in = model.data_preprocessor(batch, training=True)
    losses = model(**data_in, mode='loss')
    assert {'loss_kpt', 'loss_pull', 'loss_push'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())

    model.eval()
    val = _dataset(cfg.val_dataloader, data, shared_data)
    sample = val[0]
    h, w = sample['inputs'].shape[1:]
    assert h % 64 == 0 and w % 64 == 0  # size_factor 64
    with torch.no_grad():
        (pred, ) = model.test_step(pseudo_collate([sample]))
    kpts = pred.pred_instances.keypoints
    assert kpts.ndim == 3 and kpts.shape[1:] == (k, 2)
    assert len(pred.pred_instances.bbox_scores) == len(kpts)
