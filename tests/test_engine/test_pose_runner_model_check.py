"""The model check as the runner applies it before building a model."""
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from posekit.engine import PoseRunner
from posekit.models.utils.model_check import ModelCheckError


def model_cfg(in_channels):
    codec = dict(type='MSRAHeatmap', input_size=(64, 64),
                 heatmap_size=(16, 16), sigma=2)
    return dict(type='TopdownPoseEstimator',
                backbone=dict(type='ResNet', depth=18, base_channels=8),
                head=dict(type='HeatmapHead', in_channels=in_channels,
                          out_channels=17, deconv_out_channels=None,
                          decoder=codec))


def build(model, **top_level):
    """PoseRunner.build_model with a runner holding only a config."""
    runner = SimpleNamespace(cfg=Config(top_level))
    runner._checked_model_cfg = \
        lambda m: PoseRunner._checked_model_cfg(runner, m)
    return PoseRunner.build_model(runner, model)


def test_auto_is_resolved_before_the_build():
    model = build(model_cfg('auto'))
    assert model.head.in_channels == 64


def test_wrong_in_channels_stops_the_build():
    with pytest.raises(ModelCheckError,
                       match='set model.head.in_channels=64'):
        build(model_cfg(512))


def test_opt_out_skips_the_check():
    # without the check the mismatch would only show in the first forward
    model = build(model_cfg(512), model_check=False)
    assert model.head.in_channels == 512
    with pytest.raises(ValueError, match=r"model.head.in_channels is 'auto', "
                       'which only the model check can resolve; remove '
                       'model_check=False'):
        build(model_cfg('auto'), model_check=False)


def test_input_size_option_and_bad_option():
    cfg = model_cfg('auto')
    del cfg['head']['decoder']
    model = build(cfg, model_check=dict(input_size=(64, 64)))
    assert model.head.in_channels == 64
    with pytest.raises(TypeError, match=r'model_check must be True, False or '
                       r'dict\(input_size=\(w, h\)\)'):
        build(cfg, model_check=dict(size=(64, 64)))


def test_lifters_skip_the_image_dry_run():
    from posekit.engine.runner.pose_runner import _takes_images
    assert _takes_images(dict(type='TopdownPoseEstimator')) is True
    assert _takes_images(dict(type='PoseLifter')) is False
