import numpy as np
import pytest

from posekit.evaluation.metrics import PCKAccuracy
from posekit.registry import METRICS


def _sample(pred, gt, visible, bbox=None, head_size=None):
    gt_instances = dict(keypoints=np.array([gt], float),
                        keypoints_visible=np.array([visible], float))
    if bbox is not None:
        gt_instances['bboxes'] = np.array([bbox], float)
    if head_size is not None:
        gt_instances['head_size'] = np.array([head_size], float)
    return dict(pred_instances=dict(keypoints=np.array([pred], float)),
                gt_instances=gt_instances)


# sample 1: distances 1, 3, 0; box 20 x 10 (size 20); head 40
# sample 2: distances 3, (hidden), 5; box 10 x 40 (size 40); head 10
SAMPLES = [
    _sample([[1, 0], [10, 3], [0, 10]], [[0, 0], [10, 0], [0, 10]],
            [1, 1, 1], bbox=[0, 0, 20, 10], head_size=40),
    _sample([[3, 0], [100, 100], [5, 0]], [[0, 0], [0, 0], [0, 0]],
            [1, 0, 1], bbox=[0, 0, 10, 40], head_size=10),
]


def _run(metric, samples):
    metric.process([], samples)
    return metric.compute_metrics(metric.results)


def test_pck_bbox_and_head():
    metric = METRICS.build(dict(type='PCKAccuracy', thr=0.1,
                                norm_item=['bbox', 'head']))
    result = _run(metric, SAMPLES)
    # bbox: normalised .05 .15 0 | .075 - .125 -> per joint 1, 0, .5
    assert result['PCK'] == pytest.approx(0.5)
    # head: .025 .075 0 | .3 - .5 -> per joint .5, 1, .5
    assert result['PCKh'] == pytest.approx(2 / 3)
    assert set(result) == {'PCK', 'PCKh'}


def test_torso_and_degenerate_torso():
    gt = np.zeros((6, 2))
    gt[5] = [0, 10]  # torso 10
    pred = gt + [[0.5, 0]] * 6
    assert _run(PCKAccuracy(thr=0.1, norm_item='torso'),
                [_sample(pred, gt, [1] * 6)])['tPCK'] == pytest.approx(1.0)
    # all-zero ground truth: the predicted torso (20) normalises instead
    pred = np.array([[1, 0]] * 4 + [[0, 0], [0, 20]], float)
    with pytest.warns(UserWarning, match='torso'):
        result = _run(PCKAccuracy(thr=0.1, norm_item='torso'),
                      [_sample(pred, np.zeros((6, 2)), [1] * 6)])
    assert result['tPCK'] == pytest.approx(5 / 6)


def test_errors():
    with pytest.raises(KeyError, match="'neck'"):
        PCKAccuracy(norm_item='neck')
    metric = PCKAccuracy(norm_item='bbox')
    with pytest.raises(KeyError, match='gt_instances.bboxes'):
        metric.process([], [_sample([[0, 0]], [[0, 0]], [1])])
    with pytest.raises(ValueError, match='differ'):
        metric.process([], [_sample([[0, 0]], [[0, 0], [1, 1]], [1, 1],
                                    bbox=[0, 0, 1, 1])])
