import json
from collections import Counter

import numpy as np
import pytest
from mmengine.logging import MessageHub

from posekit.datasets import BaseCocoStyleDataset, CocoDataset
from posekit.registry import DATASETS, TRANSFORMS


@TRANSFORMS.register_module(force=True)
class _CocoTestKeepFields:
    """Returns the fields a transform would see, to check the merge."""

    def __call__(self, results):
        return dict(results, seen_by_test_transform=True)


def _raw(shared_data, name='test_coco.json'):
    with open(shared_data / 'coco' / name) as f:
        return json.load(f)


def _is_valid(ann):
    """A usable top-down instance, written independently of the code."""
    return (not ann.get('iscrowd', 0) and ann['num_keypoints'] > 0
            and ann['bbox'][2] > 0 and ann['bbox'][3] > 0)


def _coco(shared_data, **kwargs):
    kwargs.setdefault('ann_file', 'test_coco.json')
    return CocoDataset(data_root=str(shared_data / 'coco'), **kwargs)


def _infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


# ------------------------------------------------------------------ topdown
def test_topdown_instances_match_raw_count(shared_data):
    raw = _raw(shared_data)
    expected = [a['id'] for a in raw['annotations'] if _is_valid(a)]
    dataset = _coco(shared_data)
    infos = _infos(dataset)
    assert len(dataset) == len(expected) == 12
    assert [i['id'] for i in infos] == expected
    assert dataset.metainfo['sigmas'].shape == (17, )
    assert dataset.metainfo['CLASSES'][0]['name'] == 'person'


def test_topdown_box_and_keypoints_of_one_annotation(shared_data):
    raw = {a['id']: a for a in _raw(shared_data)['annotations']}[442619]
    info = next(i for i in _infos(_coco(shared_data)) if i['id'] == 442619)
    x, y, w, h = raw['bbox']
    assert info['bbox'].shape == (1, 4) and info['bbox'].dtype == np.float32
    np.testing.assert_allclose(info['bbox'][0], [x, y, x + w, y + h],
                               rtol=1e-6)
    kpts = np.array(raw['keypoints'], dtype=np.float32).reshape(17, 3)
    assert info['keypoints'].shape == (1, 17, 2)
    np.testing.assert_array_equal(info['keypoints'][0], kpts[:, :2])
    np.testing.assert_array_equal(info['keypoints_visible'][0],
                                  np.minimum(kpts[:, 2], 1))
    assert info['bbox_score'].tolist() == [1.0]
    assert info['img_id'] == 785 and info['num_keypoints'] == 17
    assert info['img_path'] == str(shared_data / 'coco' / '000000000785.jpg')
    assert info['area'][0] == pytest.approx(raw['area'])
    assert info['raw_ann_info']['id'] == 442619


def test_prepare_data_merges_metainfo(shared_data):
    dataset = _coco(shared_data, pipeline=[dict(type='_CocoTestKeepFields')])
    out = dataset[0]
    assert out['seen_by_test_transform']
    assert out['flip_indices'][1] == 2 and out['flip_indices'][2] == 1
    assert out['dataset_name'] == 'coco'
    assert out['upper_body_ids'] == list(range(11))
    assert out['sigmas'][0] == pytest.approx(0.026)
    assert out['dataset_keypoint_weights'][9] == pytest.approx(1.5)
    # the stored data info is not changed by the merge
    assert 'flip_indices' not in dataset.get_data_info(0)


def test_each_sample_gets_its_own_metainfo_copy(shared_data):
    dataset = _coco(shared_data, pipeline=[dict(type='_CocoTestKeepFields')])
    first = dataset[0]
    first['flip_indices'][1] = 99
    first['sigmas'][0] = -1.
    first['skeleton_links'].clear()
    second = dataset[0]
    assert second['flip_indices'][1] == 2
    assert second['sigmas'][0] == pytest.approx(0.026)
    assert len(second['skeleton_links']) == 19
    assert dataset.metainfo['flip_indices'][1] == 2


def test_filters(shared_data):
    raw = _raw(shared_data)
    at_least_16 = [a for a in raw['annotations']
                   if _is_valid(a) and a['num_keypoints'] >= 16]
    dataset = _coco(shared_data, filter_cfg=dict(min_keypoints=16))
    assert len(dataset) == len(at_least_16) == 5
    every_other = [a for a in raw['annotations']
                   if _is_valid(a) and a['image_id'] % 2 == 0]
    dataset = _coco(shared_data, sample_interval=2)
    assert {i['img_id'] for i in _infos(dataset)} == {197388}
    assert len(dataset) == len(every_other) == 5


def test_build_from_registry_and_lazy_init(shared_data):
    dataset = DATASETS.build(dict(
        type='CocoDataset', ann_file='test_coco.json', lazy_init=True,
        data_root=str(shared_data / 'coco')))
    assert isinstance(dataset, BaseCocoStyleDataset)
    assert not dataset._fully_initialized
    assert len(dataset) == 12


def test_test_mode_records_ann_file(shared_data):
    dataset = _coco(shared_data, test_mode=True)
    hub = MessageHub.get_current_instance()
    assert hub.get_info('coco_ann_file') == dataset.ann_file
    assert dataset.ann_file.endswith('coco/test_coco.json')


# ----------------------------------------------------------------- bottomup
def test_bottomup_groups_by_image(shared_data):
    raw = _raw(shared_data)
    valid = Counter(a['image_id'] for a in raw['annotations'] if _is_valid(a))
    invalid = Counter(a['image_id'] for a in raw['annotations']
                      if not _is_valid(a))
    dataset = _coco(shared_data, data_mode='bottomup')
    infos = _infos(dataset)
    assert [i['img_id'] for i in infos] == [im['id'] for im in raw['images']]
    for info in infos:
        n = valid[info['img_id']]
        assert info['keypoints'].shape == (n, 17, 2)
        assert info['keypoints_visible'].shape == (n, 17)
        assert info['bbox'].shape == (n, 4)
        assert info['bbox_score'].shape == (n, )
        assert len(info['id']) == n and len(info['num_keypoints']) == n
        assert len(info['invalid_segs']) == invalid[info['img_id']]
    assert sum(valid.values()) == 12 and sum(invalid.values()) == 2


def _write(path, data):
    path.write_text(json.dumps(data))
    return str(path)


def _tiny_coco(num_keypoints=17, **ann_overrides):
    kpts = [10, 20, 2] * num_keypoints
    ann = dict(id=7, image_id=1, category_id=1, bbox=[-5, 10, 50, 500],
               keypoints=kpts, num_keypoints=num_keypoints, area=100.,
               iscrowd=0)
    ann.update(ann_overrides)
    return dict(images=[dict(id=1, file_name='a.jpg', width=40, height=60),
                        dict(id=2, file_name='b.jpg', width=40, height=60)],
                annotations=[ann], categories=[dict(id=1, name='person')])


def test_bottomup_test_mode_keeps_empty_images(tmp_path):
    ann_file = _write(tmp_path / 'a.json', _tiny_coco())
    train = CocoDataset(ann_file=ann_file, data_mode='bottomup')
    assert len(train) == 1
    test = CocoDataset(ann_file=ann_file, data_mode='bottomup',
                       test_mode=True)
    empty = test.get_data_info(1)
    assert empty['img_id'] == 2 and empty['keypoints'].shape == (0, 17, 2)
    assert empty['bbox'].shape == (0, 4) and empty['id'] == []


def test_box_is_clipped_to_image(tmp_path):
    dataset = CocoDataset(ann_file=_write(tmp_path / 'a.json', _tiny_coco()))
    # x: -5 -> 0, x + w = 45 -> 39; y + h = 510 -> 59
    np.testing.assert_array_equal(dataset.get_data_info(0)['bbox'],
                                  [[0, 10, 39, 59]])


# --------------------------------------------------------------- bbox_file
def test_detection_file_in_test_mode(shared_data):
    dets = _raw(shared_data, 'test_coco_det_AP_H_56.json')
    dataset = _coco(shared_data, test_mode=True,
                    bbox_file=str(shared_data / 'coco' /
                                  'test_coco_det_AP_H_56.json'))
    assert len(dataset) == len(dets) == 118
    info = dataset.get_data_info(5)
    assert info['id'] == 5 and info['img_id'] == dets[5]['image_id']
    assert info['bbox_score'][0] == pytest.approx(dets[5]['score'])
    x, y, w, h = dets[5]['bbox']
    np.testing.assert_allclose(info['bbox'][0], [x, y, x + w, y + h],
                               rtol=1e-6)
    assert info['keypoints'].shape == (1, 17, 2)
    assert not info['keypoints'].any() and not info['keypoints_visible'].any()

    thr = _coco(shared_data, test_mode=True, filter_cfg=dict(
        bbox_score_thr=0.5), bbox_file=str(
            shared_data / 'coco' / 'test_coco_det_AP_H_56.json'))
    assert len(thr) == sum(d['score'] >= 0.5 for d in dets)
    assert len(thr) < 118


def test_detection_file_with_unknown_image_ids(shared_data, tmp_path):
    det = dict(image_id=999, bbox=[0, 0, 5, 5], score=.9, category_id=1)
    bbox_file = _write(tmp_path / 'det.json', [det, dict(det, image_id=998)])
    with pytest.raises(ValueError, match=r'2 image ids .* \[998, 999\]'):
        _coco(shared_data, test_mode=True, bbox_file=bbox_file)


def test_bbox_file_only_in_topdown_test_mode(shared_data):
    with pytest.raises(ValueError, match='test_mode=True'):
        _coco(shared_data, bbox_file='x.json')
    with pytest.raises(ValueError, match="data_mode='topdown'"):
        _coco(shared_data, bbox_file='x.json', test_mode=True,
              data_mode='bottomup')
    with pytest.raises(ValueError, match="data_mode='sideways' is invalid"):
        _coco(shared_data, data_mode='sideways')


# ------------------------------------------------------------------ errors
def test_missing_and_non_json_files(tmp_path):
    missing = str(tmp_path / 'missing.json')
    with pytest.raises(FileNotFoundError, match='missing.json'):
        CocoDataset(ann_file=missing)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(ValueError, match='bad.json.* is not valid JSON'):
        CocoDataset(ann_file=str(bad))


@pytest.mark.parametrize('key', ['images', 'annotations'])
def test_missing_top_level_key(tmp_path, key):
    data = _tiny_coco()
    del data[key]
    with pytest.raises(KeyError, match=f"has no '{key}' key"):
        CocoDataset(ann_file=_write(tmp_path / 'a.json', data))


def test_wrong_keypoint_length_names_annotation(tmp_path):
    data = _tiny_coco(keypoints=[1, 2, 2] * 14)
    with pytest.raises(ValueError) as info:
        CocoDataset(ann_file=_write(tmp_path / 'a.json', data))
    assert 'annotation id 7 has 42 keypoint values, expected 3*K = 51' in \
        str(info.value)


def test_unknown_image_id_names_annotation(tmp_path):
    data = _tiny_coco(image_id=5)
    with pytest.raises(ValueError, match='annotation id 7 refers to '
                       'image_id 5'):
        CocoDataset(ann_file=_write(tmp_path / 'a.json', data))


def test_bad_filter_cfg(shared_data):
    with pytest.raises(ValueError, match=r"\['min_kpts'\] are not supported"):
        _coco(shared_data, filter_cfg=dict(min_kpts=3))
    with pytest.raises(ValueError, match='bbox_score_thr needs'):
        _coco(shared_data, data_mode='bottomup',
              filter_cfg=dict(bbox_score_thr=.3))


def test_dataset_needs_metainfo():
    with pytest.raises(ValueError, match='no keypoint definition'):
        BaseCocoStyleDataset(ann_file='x.json')


def test_unknown_transform_names_pipeline_entry(shared_data):
    pipeline = [dict(type='_CocoTestKeepFields'),
                dict(type='_CocoTestKeepField')]
    with pytest.raises(KeyError) as info:
        _coco(shared_data, pipeline=pipeline)
    msg = str(info.value)
    assert msg.startswith("pipeline[1].type: unknown type "
                          "'_CocoTestKeepField'")
    assert "Did you mean '_CocoTestKeepFields'" in msg
    with pytest.raises(KeyError) as info:
        DATASETS.build(dict(type='CocoDataset', ann_file='x.json',
                            pipeline=pipeline))
    assert str(info.value).startswith('dataset.pipeline[1].type: unknown')
