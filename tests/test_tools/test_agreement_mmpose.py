import json
import os

import numpy as np
import pytest

from .conftest import load_tool


@pytest.fixture(scope='module')
def agree():
    return load_tool('analysis/agreement_mmpose')


@pytest.fixture(scope='module')
def inputs(agree):
    return agree.make_inputs(0)


def test_inputs_are_seeded_with_the_documented_shapes(agree, inputs):
    assert inputs['td_keypoints'].shape == (1, 17, 2)
    assert inputs['msra_heatmaps'].shape == (17, 64, 48)
    assert inputs['simcc_x'].shape == (1, 17, 384)
    assert inputs['simcc_y'].shape == (1, 17, 512)
    assert inputs['ae_heatmaps'].shape == (1, 17, 128, 128)
    assert inputs['ae_tags'].shape == (1, 17, 128, 128)
    # six people, tags 0, 2, ..., 10
    assert set(np.unique(inputs['ae_tags'])) == {0., 2., 4., 6., 8., 10.}
    assert inputs['pred_keypoints'].shape == (500, 4, 17, 2)
    gt = json.loads(str(inputs['gt_json']))
    assert len(gt['images']) == 500 and len(gt['annotations']) == 2000
    assert len({a['id'] for a in gt['annotations']}) == 2000
    again = agree.make_inputs(0)
    assert all(np.array_equal(inputs[k], again[k]) for k in inputs)
    other = agree.make_inputs(1)
    assert not np.array_equal(inputs['pred_keypoints'],
                              other['pred_keypoints'])


def test_tolerances_per_output(agree):
    assert agree.tolerance('udp.decode.keypoints') == 1e-4
    assert agree.tolerance('msra.encode.heatmaps') == 1e-6
    assert agree.tolerance('metric.topdown.stats') == 1e-9


def test_compare_flags_each_kind_of_disagreement(agree):
    ours = {'a.decode.keypoints': np.array([1.0, 2.0]),
            'b.decode.keypoints': np.array([1.0, 2.0]),
            'metric.x.stats': np.array([0.5, np.nan]),
            'c.encode.heatmaps': np.zeros((2, 3)),
            'only.ours': np.zeros(1)}
    theirs = {'a.decode.keypoints': np.array([1.0, 2.00005]),
              'b.decode.keypoints': np.array([1.0, 2.0002]),
              'metric.x.stats': np.array([0.5 + 1e-8, np.nan]),
              'c.encode.heatmaps': np.zeros((3, 2)),
              'only.theirs': np.zeros(1)}
    rows = {r[0]: r for r in agree.compare(ours, theirs)}
    assert rows['a.decode.keypoints'][1] == pytest.approx(5e-5)
    assert rows['a.decode.keypoints'][3] is True
    assert rows['b.decode.keypoints'][3] is False
    assert rows['metric.x.stats'][1] == pytest.approx(1e-8)
    assert rows['metric.x.stats'][3] is False
    assert rows['c.encode.heatmaps'][4] == 'shape (2, 3) vs MMPose (3, 2)'
    assert rows['only.ours'][4] == 'missing from MMPose'
    assert rows['only.theirs'][4] == 'missing from posekit'
    table = agree.format_table(agree.compare(ours, theirs))
    assert table.count('FAIL') == 5 and table.count(' ok') == 1


def test_missing_mmpose_python_is_explained(agree, tmp_path, capsys):
    missing = str(tmp_path / 'no-venv' / 'bin' / 'python')
    assert agree.main(['--mmpose-python', missing, '--only', 'codecs']) == 2
    err = capsys.readouterr().err
    assert missing in err and 'setup_mmpose.sh' in err


def test_posekit_side_decodes_the_generated_maps(agree, inputs, tmp_path):
    out = agree.run_posekit(inputs, ['codecs'], str(tmp_path))
    assert out['msra.decode.keypoints'].shape == (1, 17, 2)
    # the maps' gaussians peak at sub-pixel centres (heatmap cells); DARK
    # finds them to well within a cell, in input pixels (stride 4)
    hm = inputs['msra_heatmaps']
    cells = np.stack(np.unravel_index(hm.reshape(17, -1).argmax(1),
                                      hm.shape[1:])[::-1], -1)
    assert np.abs(out['msra.decode.keypoints'][0] / 4 - cells).max() <= 1
    assert out['ae.decode.keypoints'].shape == (6, 17, 2)


def test_agrees_with_mmpose(agree, capsys):
    python = agree.DEFAULT_MMPOSE_PYTHON
    if agree.check_mmpose_python(python):
        pytest.skip(f'no MMPose virtualenv at {python} '
                    '(../shared/bench/setup_mmpose.sh makes it)')
    assert agree.main(['--only', 'codecs']) == 0, capsys.readouterr().out
    assert os.path.isfile(python)
