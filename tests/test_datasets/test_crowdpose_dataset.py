"""CrowdPoseDataset on the shared two-image sample, and the CrowdPose
metric (AP over crowd-index ranges) scored on its own ground truth."""
import json

import numpy as np
import pytest

from posekit.datasets import CrowdPoseDataset
from posekit.evaluation import CocoMetric
from posekit.registry import DATASETS


def _raw(shared_data):
    with open(shared_data / 'crowdpose' / 'test_crowdpose.json') as f:
        return json.load(f)


def _crowdpose(shared_data, **kwargs):
    return DATASETS.build(dict(
        type='CrowdPoseDataset', data_root=str(shared_data / 'crowdpose'),
        ann_file='test_crowdpose.json', data_prefix=dict(img=''), **kwargs))


def test_metainfo_is_crowdpose(shared_data):
    meta = _crowdpose(shared_data).metainfo
    assert meta['dataset_name'] == 'crowdpose'
    assert meta['num_keypoints'] == 14
    # left/right limb joints swap pairwise; head top and neck stay
    assert meta['flip_indices'] == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10,
                                    12, 13]
    assert meta['keypoint_id2name'][12] == 'top_head'
    assert meta['keypoint_id2name'][13] == 'neck'
    assert len(meta['skeleton_links']) == 15
    assert meta['sigmas'][6] == pytest.approx(0.107)
    assert len(meta['sigmas']) == len(meta['dataset_keypoint_weights']) == 14


def test_topdown_instances_match_raw_json(shared_data):
    raw = _raw(shared_data)
    expected = sorted(a['id'] for a in raw['annotations']
                      if not a['iscrowd'] and a['num_keypoints'] > 0)
    dataset = _crowdpose(shared_data)
    assert isinstance(dataset, CrowdPoseDataset)
    ids = sorted(dataset.get_data_info(i)['id'] for i in range(len(dataset)))
    assert ids == expected
    crowd = {img['id']: img['crowdIndex'] for img in raw['images']}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert info['crowd_index'] == crowd[info['img_id']]


def test_bottomup_sample_has_one_crowd_index_per_image(shared_data):
    raw = _raw(shared_data)
    dataset = _crowdpose(shared_data, data_mode='bottomup')
    assert len(dataset) == len(raw['images']) == 2
    info = dataset.get_data_info(0)
    first = raw['images'][0]
    assert info['img_id'] == first['id']
    assert info['crowd_index'] == first['crowdIndex'] == 0.33
    n = sum(1 for a in raw['annotations'] if a['image_id'] == first['id']
            and not a['iscrowd'] and a['num_keypoints'] > 0)
    assert info['keypoints'].shape == (n, 14, 2)


def _evaluate(dataset, noise=0.0):
    metric = CocoMetric(ann_file=str(dataset.ann_file),
                        iou_type='keypoints_crowd', use_area=False,
                        nms_mode='none', score_mode='bbox')
    metric.dataset_meta = dataset.metainfo
    rng = np.random.default_rng(0)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        kpts = info['keypoints'] + rng.normal(
            0, noise, info['keypoints'].shape) * (noise > 0)
        metric.process([], [dict(
            img_id=info['img_id'], id=info['id'],
            pred_instances=dict(
                keypoints=kpts,
                keypoint_scores=info['keypoints_visible'].astype(float),
                bboxes=info['bbox'],
                bbox_scores=np.ones(len(kpts))))])
    return metric.compute_metrics(metric.results)


def test_ground_truth_as_predictions_scores_ap_one(shared_data):
    dataset = _crowdpose(shared_data, data_mode='bottomup')
    stats = _evaluate(dataset)
    assert list(stats) == ['AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75',
                           'AP(E)', 'AP(M)', 'AP(H)']
    assert stats['AP'] == pytest.approx(1.0)
    # crowd indices 0.33 and 0.39 are both "medium" (0.1 to 0.8): the
    # easy and hard ranges hold no image and report -1
    assert stats['AP(M)'] == pytest.approx(1.0)
    assert stats['AP(E)'] == -1 and stats['AP(H)'] == -1
    noisy = _evaluate(dataset, noise=8.0)
    assert noisy['AP'] < 0.9
