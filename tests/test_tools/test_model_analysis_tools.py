"""tools/analysis/check_model.py and get_flops.py on the quickstart
config, shrunk to a narrow ResNet-18."""
import importlib.util
from pathlib import Path

import pytest

from posekit.apis.training import load_config
from posekit.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
NARROW = ['model.backbone.base_channels=8',
          'model.head.deconv_out_channels=(8,8,8)']


def load_analysis_tool(name):
    path = REPO / 'tools' / 'analysis' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'_analysis_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def narrow_model(config, in_channels):
    cfg = load_config(str(config), NARROW)
    cfg.model.head.in_channels = in_channels
    return MODELS.build(cfg.model)


def test_check_model_reports_shapes_params_flops(quickstart_config, capsys):
    tool = load_analysis_tool('check_model')
    report = tool.main([str(quickstart_config), '--cfg-options', *NARROW,
                        'model.head.in_channels=auto'])
    # codec input 96x128 (w, h): ResNet-18 at 1/8 width, stride 32
    assert report['input_size'] == (96, 128)
    assert report['backbone_shapes'] == [(1, 64, 4, 3)]
    assert report['neck_shapes'] is None
    assert report['head_shape'] == (1, 17, 32, 24)
    assert report['resolved'] == {'model.head.in_channels': 64}
    model = narrow_model(quickstart_config, 64)
    numel = {name: sum(p.numel() for p in getattr(model, name).parameters())
             for name in ('backbone', 'head')}
    assert report['params'] == dict(numel, total=sum(numel.values()))
    flops = report['flops']
    assert flops['total'] == flops['backbone'] + flops['head'] > 0
    out = capsys.readouterr().out
    assert 'backbone (ResNet) outputs:\n  [0] (1, 64, 4, 3)' in out
    assert 'head (HeatmapHead) output: (1, 17, 32, 24)' in out
    assert "resolved: model.head.in_channels = 64 (was 'auto')" in out


def test_check_model_input_size_is_w_h(quickstart_config):
    tool = load_analysis_tool('check_model')
    report = tool.main([str(quickstart_config), '--input-size', '64', '128',
                        '--no-flops', '--cfg-options', *NARROW,
                        'model.head.in_channels=64'])
    assert report['backbone_shapes'] == [(1, 64, 4, 2)]
    assert report['flops'] is None


def test_check_model_stops_on_wrong_in_channels(quickstart_config):
    tool = load_analysis_tool('check_model')
    with pytest.raises(ValueError, match='set model.head.in_channels=64'):
        tool.main([str(quickstart_config), '--no-flops', '--cfg-options',
                   *NARROW, 'model.head.in_channels=256'])


@pytest.mark.parametrize('flag', ['--input-shape', '--shape'])
def test_get_flops_takes_height_then_width(quickstart_config, capsys, flag):
    tool = load_analysis_tool('get_flops')
    result = tool.main([str(quickstart_config), flag, '64', '32',
                        '--cfg-options', *NARROW,
                        'model.head.in_channels=64'])
    assert result['input_shape'] == (1, 3, 64, 32)
    model = narrow_model(quickstart_config, 64)
    assert result['params'] == sum(p.numel() for p in model.parameters())
    assert result['flops'] > 0
    assert 'Input shape: (1, 3, 64, 32)' in capsys.readouterr().out
