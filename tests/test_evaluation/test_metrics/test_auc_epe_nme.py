"""AUC, EPE and NME on hand-built keypoints with hand-computed values."""
import numpy as np
import pytest
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

from posekit.registry import METRICS
from posekit.structures import PoseDataSample

# Two samples of three keypoints. Prediction errors (pixels):
#   sample 1: 1 (1, 0), 3 (0, 3), 6 (6, 0)
#   sample 2: 0, hidden keypoint (off by 50, 50), 8 (-4.8, 6.4)
GT = [np.array([[0, 0], [10, 0], [0, 10]], float),
      np.array([[0, 0], [5, 5], [0, 20]], float)]
PRED = [GT[0] + [[1, 0], [0, 3], [6, 0]],
        GT[1] + [[0, 0], [50, 50], [-4.8, 6.4]]]
VISIBLE = [[1, 1, 1], [1, 0, 1]]
BOXES = [[0, 0, 20, 10], [0, 0, 10, 50]]  # longer sides 20 and 50
HEAD = [10, 4]


def _samples(heads=HEAD, with_boxes=True):
    out = []
    for i in range(2):
        gt = dict(keypoints=GT[i][None], keypoints_visible=np.array(
            [VISIBLE[i]], float), head_size=np.array([heads[i]], float))
        if with_boxes:
            gt['bboxes'] = np.array([BOXES[i]], float)
        out.append(dict(img_id=i, gt_instances=gt,
                        pred_instances=dict(keypoints=PRED[i][None])))
    return out


def _run(cfg, samples=None, meta=None):
    metric = METRICS.build(cfg)
    metric.dataset_meta = meta
    metric.process([], _samples() if samples is None else samples)
    return metric.compute_metrics(metric.results)


# ---------------------------------------------------------------- AUC, EPE
def test_auc_thresholds_by_hand():
    # thresholds 0, 2.5, 5, 7.5 px; per keypoint {1, 0}, {3}, {6, 8}:
    # PCK 0, (1+0+0)/3, (1+1+0)/3, (1+1+.5)/3 -> mean 11/24
    result = _run(dict(type='AUC', norm_factor=10, num_thrs=4))
    assert result == {'AUC': pytest.approx(11 / 24)}


def test_auc_defaults_are_mmpose_values():
    metric = METRICS.build(dict(type='AUC'))
    assert (metric.norm_factor, metric.num_thrs) == (30, 20)
    # thresholds 1.5 i px: keypoint 0 from i=1, 1 from i=3, the 6-pixel
    # error from i=5 and the 8-pixel one from i=6 -> per-i PCK
    # 0, 1/3, 1/3, 2/3, 2/3, 5/6, then 1 for the 14 others
    expected = (0 + 1 / 3 + 1 / 3 + 2 / 3 + 2 / 3 + 5 / 6 + 14) / 20
    metric.process([], _samples())
    assert metric.compute_metrics(metric.results)['AUC'] == pytest.approx(
        expected)


def test_epe_mean_distance_of_visible_keypoints():
    assert _run(dict(type='EPE')) == {'EPE': pytest.approx(18 / 5)}


def test_all_hidden_gives_zero():
    samples = _samples()
    for s in samples:
        s['gt_instances']['keypoints_visible'][:] = 0
    assert _run(dict(type='EPE'), samples)['EPE'] == 0
    assert _run(dict(type='AUC'), samples)['AUC'] == 0


# --------------------------------------------------------------------- NME
def test_nme_bbox_size():
    # 1/20 + 3/20 + 6/20 + 0/50 + 8/50 = 0.66 over 5 keypoints
    result = _run(dict(type='NME', norm_mode='use_norm_item',
                       norm_item='bbox_size'))
    assert result == {'NME': pytest.approx(0.66 / 5)}


def test_nme_any_gt_field_and_zero_size_drops_instance():
    cfg = dict(type='NME', norm_mode='use_norm_item', norm_item='head_size')
    # 1/10 + 3/10 + 6/10 + 0/4 + 8/4 = 3 over 5 keypoints
    assert _run(cfg)['NME'] == pytest.approx(3 / 5)
    # a zero size leaves the whole instance out: (.1 + .3 + .6) / 3
    assert _run(cfg, _samples(heads=[10, 0]))['NME'] == pytest.approx(1 / 3)


def test_nme_keypoint_distance():
    # keypoints 0-2 are 10 and 20 apart: (.1 + .3 + .6 + 0 + .4) / 5
    result = _run(dict(type='NME', norm_mode='keypoint_distance',
                       keypoint_indices=[0, 2]))
    assert result['NME'] == pytest.approx(1.4 / 5)


def test_nme_default_pair_from_dataset_name():
    # horse10 uses keypoints 0 and 1: 10 and sqrt(50) apart
    meta = dict(dataset_name='horse10', keypoint_id2name={0: 'a', 1: 'b',
                                                          2: 'c'})
    result = _run(dict(type='NME', norm_mode='keypoint_distance'),
                  meta=meta)
    assert result['NME'] == pytest.approx((1.0 + 8 / np.sqrt(50)) / 5)


def test_nme_errors():
    with pytest.raises(KeyError, match="'eyes'"):
        METRICS.build(dict(type='NME', norm_mode='eyes'))
    with pytest.raises(KeyError, match='needs norm_item'):
        METRICS.build(dict(type='NME', norm_mode='use_norm_item'))
    with pytest.raises(ValueError, match='pair'):
        METRICS.build(dict(type='NME', norm_mode='keypoint_distance',
                           keypoint_indices=[3]))
    with pytest.raises(KeyError, match="dataset 'coco' has no default"):
        _run(dict(type='NME', norm_mode='keypoint_distance'),
             meta=dict(dataset_name='coco'))
    with pytest.raises(ValueError, match=r'\[0, 5\] do not fit the 3'):
        _run(dict(type='NME', norm_mode='keypoint_distance',
                  keypoint_indices=[0, 5]))
    with pytest.raises(KeyError, match='gt_instances.bboxes'):
        _run(dict(type='NME', norm_mode='use_norm_item',
                  norm_item='bbox_size'), _samples(with_boxes=False))
    with pytest.raises(KeyError, match='gt_instances.eye_dist'):
        _run(dict(type='NME', norm_mode='use_norm_item',
                  norm_item='eye_dist'))


def test_auc_epe_errors():
    with pytest.raises(ValueError, match='norm_factor'):
        METRICS.build(dict(type='AUC', norm_factor=0))
    with pytest.raises(ValueError, match='num_thrs'):
        METRICS.build(dict(type='AUC', num_thrs=0))
    metric = METRICS.build(dict(type='EPE'))
    with pytest.raises(ValueError, match='no results'):
        metric.compute_metrics([])
    with pytest.raises(KeyError, match='pred_instances.keypoints'):
        metric.process([], [dict(gt_instances=dict(keypoints=GT[0][None]),
                                 pred_instances=dict())])


# ------------------------------------------------- the OneHand10K evaluator
def test_onehand10k_evaluator_on_data_samples():
    """The three metrics of the OneHand10K configs, through mmengine's
    Evaluator with PoseDataSample objects as a test loop passes them."""
    evaluator = Evaluator([dict(type='PCKAccuracy', thr=0.2),
                           dict(type='AUC'), dict(type='EPE')])
    evaluator.dataset_meta = dict(dataset_name='onehand10k')
    samples = []
    for s in _samples():
        sample = PoseDataSample()
        sample.gt_instances = InstanceData(**s['gt_instances'])
        sample.pred_instances = InstanceData(**s['pred_instances'])
        samples.append(sample)
    evaluator.process(samples)
    result = evaluator.evaluate(2)
    # PCK@0.2: 4 px then 10 px -> keypoints 1, 1, (no, yes) -> 2.5 / 3
    assert result['PCK'] == pytest.approx(5 / 6)
    assert result['EPE'] == pytest.approx(3.6)
    assert set(result) == {'PCK', 'AUC', 'EPE'}
