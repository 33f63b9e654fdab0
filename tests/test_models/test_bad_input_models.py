"""The bad-input table of docs/troubleshooting.md, model rows: a batch of
one through a batch-norm layer that needs more, and a checkpoint from a
different architecture (init_model raises, load_from logs a listing)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from torch import nn

from posekit.apis import CheckpointMismatchError, init_model
from posekit.engine.runner import pose_runner
from posekit.engine.runner.pose_runner import PoseRunner
from posekit.models.utils.batch_norm_errors import BatchTooSmallError
from posekit.registry import MODELS
from posekit.structures import PoseDataSample

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'


def _tiny_estimator() -> nn.Module:
    return MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      stem_channels=8),
        head=dict(type='HeatmapHead', in_channels=64, out_channels=3,
                  deconv_out_channels=None,
                  loss=dict(type='KeypointMSELoss'))))


def test_batch_of_one_through_batch_norm_names_layer_and_batch_size():
    model = _tiny_estimator().train()
    # 32x32 input: the last stage works on 1x1 maps, one value per channel
    with pytest.raises(BatchTooSmallError) as info:
        model(torch.rand(1, 3, 32, 32), [PoseDataSample()], mode='loss')
    err = info.value
    modules = dict(model.named_modules())
    assert err.layer.startswith('backbone.layer4.0.')
    assert isinstance(modules[err.layer], nn.BatchNorm2d)
    text = str(err)
    assert text.startswith(f'batch-norm layer model.{err.layer} '
                           '(BatchNorm2d) got an input of shape '
                           '(1, 64, 1, 1) in training')
    assert 'Set train_dataloader.batch_size to 2 or more' in text
    assert 'train_dataloader.drop_last=True' in text
    # the original error is kept as the cause
    assert 'Expected more than 1 value per channel' in str(err.__cause__)
    # two samples give batch statistics: the same model trains
    out = model(torch.rand(2, 3, 32, 32), mode='tensor')
    assert out.shape == (2, 3, 1, 1)


def test_other_value_errors_pass_through_unchanged():
    model = _tiny_estimator().train()
    with pytest.raises(ValueError) as info:
        model(torch.rand(2, 3, 32, 32), None, mode='loss')
    assert not isinstance(info.value, BatchTooSmallError)
    assert str(info.value) == "forward(mode='loss') needs data_samples"


NARROW = {'model.backbone.base_channels': 8,
          'model.backbone.stem_channels': 8,
          'model.head.in_channels': 64,
          'model.head.deconv_out_channels': (8, 8, 8)}
WIDE = {'model.backbone.base_channels': 16,
        'model.backbone.stem_channels': 16,
        'model.head.in_channels': 128,
        'model.head.deconv_out_channels': (8, 8, 8)}


@pytest.fixture(scope='module')
def wide_checkpoint(tmp_path_factory) -> str:
    """A checkpoint of a twice-as-wide ResNet-18 model."""
    model = init_model(Config.fromfile(str(QUICKSTART)), cfg_options=WIDE)
    path = tmp_path_factory.mktemp('ckpt') / 'wide.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return str(path)


def test_init_model_with_another_architecture_lists_mismatched_keys(
        wide_checkpoint):
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(Config.fromfile(str(QUICKSTART)), wide_checkpoint,
                   cfg_options=NARROW)
    text = str(info.value)
    assert text.startswith(f'checkpoint {wide_checkpoint} does not fit the '
                           'model built from the config')
    assert ('size mismatch for backbone.conv1.weight: copying a param with '
            'shape torch.Size([16, 3, 7, 7])') in text
    assert 'size mismatch for head.deconv_layers.0.weight' in text


def test_load_from_another_architecture_logs_the_listing(
        wide_checkpoint, monkeypatch, tmp_path):
    model = init_model(Config.fromfile(str(QUICKSTART)), cfg_options=NARROW)
    before = model.backbone.conv1.weight.clone()
    runner = PoseRunner(model=model, work_dir=str(tmp_path),
                        load_from=wide_checkpoint,
                        default_scope='posekit')
    logged = []
    monkeypatch.setattr(pose_runner, 'print_log',
                        lambda text, **kw: logged.append((text, kw)))
    runner.load_or_resume()
    listings = [(t, kw) for t, kw in logged
                if t.startswith(f'checkpoint {wide_checkpoint}: ')]
    assert len(listings) == 1
    text, kwargs = listings[0]
    assert kwargs['level'] == 30  # logging.WARNING
    n_model = len(model.state_dict())
    # every conv/bn of the backbone and the head's first deconv differ;
    # only the shape-free counters (num_batches_tracked) and the last
    # layers of the 8-channel head fit
    assert text.startswith(f'checkpoint {wide_checkpoint}: ')
    assert f' of {n_model} tensors loaded\n' in text
    assert '  shape mismatch, not loaded (' in text
    assert ('    backbone.conv1.weight: checkpoint (16, 3, 7, 7), model '
            '(8, 3, 7, 7)\n') in text
    # nothing of another shape was copied
    assert torch.equal(model.backbone.conv1.weight, before)
