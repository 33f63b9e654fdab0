"""train_speed options (channels_last, compile): their effect, not speed."""
import sys
from pathlib import Path

import pytest
import torch

from posekit.engine.hooks import (TrainSpeedHook, apply_channels_last,
                                  build_train_speed_hook)
from posekit.registry import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_tools'))
from conftest import QUICKSTART, tiny_quickstart_options  # noqa: E402

CL = torch.channels_last


def _tiny_model():
    import posekit
    posekit.register_all_modules(init_default_scope=False)
    codec = dict(type='MSRAHeatmap', input_size=(32, 32),
                 heatmap_size=(8, 8), sigma=2)
    return MODELS.build(dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor',
                               mean=[0., 0., 0.], std=[1., 1., 1.]),
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      stem_channels=8),
        head=dict(type='HeatmapHead', in_channels=64, out_channels=3,
                  deconv_out_channels=(8,), deconv_kernel_sizes=(4,),
                  decoder=codec)))


def test_channels_last_converts_weights_and_inputs():
    model = _tiny_model()
    conv = model.backbone.conv1.weight  # (8, 3, 7, 7)
    batch = dict(inputs=torch.randint(0, 255, (2, 3, 32, 32),
                                      dtype=torch.uint8), data_samples=None)
    assert not conv.is_contiguous(memory_format=CL)
    assert not model.data_preprocessor(batch)['inputs'].is_contiguous(
        memory_format=CL)
    handle = apply_channels_last(model)
    # same Parameter object (an optimizer built before stays valid)
    assert model.backbone.conv1.weight is conv
    assert conv.is_contiguous(memory_format=CL)
    assert model.head.deconv_layers[0].weight.is_contiguous(memory_format=CL)
    out = model.data_preprocessor(batch)['inputs']
    assert out.shape == (2, 3, 32, 32) and out.is_contiguous(
        memory_format=CL)
    handle.remove()
    assert not model.data_preprocessor(batch)['inputs'].is_contiguous(
        memory_format=CL)


def test_compile_wraps_network_parts_after_channels_last():
    model = _tiny_model()
    hook = TrainSpeedHook(channels_last=True,
                          compile=dict(backend='eager'))
    done = hook.apply(model)
    assert done[1] == "compiled backbone, head {'backend': 'eager'}"
    assert model.backbone._compiled_call_impl is not None
    assert model.head._compiled_call_impl is not None
    assert model.data_preprocessor._compiled_call_impl is None
    assert model.backbone.conv1.weight.is_contiguous(memory_format=CL)
    assert hook.apply(model) == []  # once only


def test_option_errors():
    with pytest.raises(TypeError, match='train_speed.channels_last must be '
                       'True or False'):
        TrainSpeedHook(channels_last='yes')
    with pytest.raises(TypeError, match='train_speed.compile must be'):
        TrainSpeedHook(compile='max-autotune')
    with pytest.raises(ValueError, match=r"train_speed.chanels_last is not "
                       r"a training speed option; valid: \['channels_last',"
                       r" 'compile'\]"):
        build_train_speed_hook(dict(chanels_last=True))
    with pytest.raises(TypeError, match='train_speed must be a dict'):
        build_train_speed_hook(True)
    assert build_train_speed_hook(None) is None
    assert build_train_speed_hook(dict(channels_last=False)) is None
    assert build_train_speed_hook(dict(compile=True)).compile_options == {}


def test_runner_trains_in_channels_last(tmp_path):
    from posekit.apis.training import build_runner, load_config
    cfg = load_config(str(QUICKSTART),
                      tiny_quickstart_options(tmp_path / 'data', 1))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    # the config key alone: PoseRunner registers the hook (once)
    cfg.train_speed = dict(channels_last=True)
    runner = build_runner(cfg)
    assert sum(isinstance(h, TrainSpeedHook) for h in runner.hooks) == 1
    seen = []
    # what the backbone receives during training
    runner.model.backbone.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=CL)))
    runner.train()
    assert runner.model.backbone.layer1[0].conv1.weight.is_contiguous(
        memory_format=CL)
    assert seen == [True, True]  # 2 iterations
    assert runner.iter == 2

