"""OneHand10KDataset on the shared four-image sample, checked against
counts taken directly from the raw json."""
import json

import numpy as np
import pytest

from posekit.datasets import OneHand10KDataset
from posekit.registry import DATASETS


def _raw(shared_data):
    with open(shared_data / 'onehand10k' / 'test_onehand10k.json') as f:
        return json.load(f)


def _onehand(shared_data, **kwargs):
    return DATASETS.build(dict(
        type='OneHand10KDataset', data_root=str(shared_data / 'onehand10k'),
        ann_file='test_onehand10k.json', data_prefix=dict(img=''),
        **kwargs))


def _labelled(ann):
    """Keypoints with v > 0, counted from the flat [x, y, v, ...] list."""
    return sum(1 for v in ann['keypoints'][2::3] if v > 0)


def test_topdown_instances_match_raw_json(shared_data):
    raw = _raw(shared_data)
    expected = [(a['id'], _labelled(a)) for a in raw['annotations']
                if not a['iscrowd'] and _labelled(a) > 0]
    dataset = _onehand(shared_data)
    assert isinstance(dataset, OneHand10KDataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert len(dataset) == len(expected) == 4
    # the sample has no num_keypoints field: the count of labelled points
    assert [(i['id'], i['num_keypoints']) for i in infos] == expected
    assert [int(i['keypoints_visible'].sum()) for i in infos] == [
        n for _, n in expected] == [20, 7, 15, 21]


def test_one_annotation_box_keypoints_and_path(shared_data):
    raw = {a['id']: a for a in _raw(shared_data)['annotations']}[33]
    dataset = _onehand(shared_data)
    info = next(dataset.get_data_info(i) for i in range(len(dataset))
                if dataset.get_data_info(i)['id'] == 33)
    # bbox [61, 154, 34, 68] xywh -> xyxy
    np.testing.assert_allclose(info['bbox'], [[61, 154, 95, 222]])
    assert info['keypoints'].shape == (1, 21, 2)
    flat = np.array(raw['keypoints'], np.float32).reshape(21, 3)
    np.testing.assert_array_equal(info['keypoints'][0], flat[:, :2])
    np.testing.assert_array_equal(info['keypoints'][0, 0], [86, 221])
    assert info['img_path'].endswith('onehand10k/33.jpg')
    assert info['img_id'] == 33


def test_metainfo_matches_the_file_categories(shared_data):
    category = _raw(shared_data)['categories'][0]
    meta = _onehand(shared_data).metainfo
    assert meta['dataset_name'] == 'onehand10k'
    assert meta['num_keypoints'] == 21
    assert [meta['keypoint_id2name'][i] for i in range(21)] == \
        category['keypoints']
    # the json's skeleton is 1-based
    assert sorted(meta['skeleton_links']) == sorted(
        (a - 1, b - 1) for a, b in category['skeleton'])
    # a hand has no left/right pairs: flipping keeps the keypoint order
    assert meta['flip_indices'] == list(range(21))
    assert meta['flip_pairs'] == []
    assert meta['sigmas'].shape == (0, )
    np.testing.assert_array_equal(meta['dataset_keypoint_weights'],
                                  np.ones(21))
    assert meta['keypoint_colors'].shape == (21, 3)
    np.testing.assert_array_equal(meta['keypoint_colors'][0],
                                  [255, 255, 255])
    np.testing.assert_array_equal(meta['skeleton_link_colors'][4],
                                  [255, 153, 255])


def test_bottomup_one_sample_per_image(shared_data):
    dataset = _onehand(shared_data, data_mode='bottomup')
    assert len(dataset) == len(_raw(shared_data)['images']) == 4
    assert dataset.get_data_info(0)['keypoints'].shape == (1, 21, 2)


def test_flip_mirrors_x_and_keeps_order(shared_data):
    pipeline = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
                dict(type='RandomFlip', prob=1.0)]
    dataset = _onehand(shared_data, pipeline=pipeline)
    raw = dataset.get_data_info(3)  # 1402.jpg, 226 pixels wide
    out = dataset[3]
    assert out['img'].shape == (339, 226, 3)
    expected = raw['keypoints'].copy()
    expected[..., 0] = 225 - expected[..., 0]
    np.testing.assert_allclose(out['keypoints'], expected)
    np.testing.assert_array_equal(out['keypoints_visible'],
                                  raw['keypoints_visible'])


def test_coco_file_is_rejected_with_its_name(shared_data):
    # 17-keypoint annotations cannot be read as 21-keypoint hands
    with pytest.raises(ValueError, match='test_coco.json'):
        DATASETS.build(dict(type='OneHand10KDataset',
                            data_root=str(shared_data / 'coco'),
                            ann_file='test_coco.json'))
