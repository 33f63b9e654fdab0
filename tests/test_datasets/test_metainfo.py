import json
from pathlib import Path

import numpy as np
import pytest

from posekit.datasets.datasets.utils import parse_pose_metainfo

COCO_FILE = 'configs/_base_/datasets/coco.py'
REPO_ROOT = Path(__file__).resolve().parents[2]


def _tiny_info(**overrides):
    """Three keypoints: a centre one and a left/right pair."""
    info = dict(
        dataset_name='tiny',
        keypoint_info={
            0: dict(name='head', id=0, color=[1, 2, 3], type='upper',
                    swap=''),
            1: dict(name='l_foot', id=1, color=[4, 5, 6], type='lower',
                    swap='r_foot'),
            2: dict(name='r_foot', id=2, color=[7, 8, 9], type='lower',
                    swap='l_foot'),
        },
        skeleton_info={
            0: dict(link=('head', 'l_foot'), id=0, color=[10, 11, 12]),
            1: dict(link=('head', 'r_foot'), id=1, color=[13, 14, 15]),
        },
        joint_weights=[1., 2., 3.],
        sigmas=[.1, .2, .3])
    info.update(overrides)
    return info


def test_coco_file_fields():
    meta = parse_pose_metainfo(dict(from_file=COCO_FILE))
    assert meta['dataset_name'] == 'coco'
    assert meta['num_keypoints'] == 17
    name2id = meta['keypoint_name2id']
    left, right = name2id['left_eye'], name2id['right_eye']
    assert (left, right) == (1, 2)
    assert meta['flip_indices'][left] == right
    assert meta['flip_indices'][right] == left
    assert meta['flip_indices'][0] == 0  # the nose maps to itself
    assert meta['flip_pairs'] == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10],
                                  [11, 12], [13, 14], [15, 16]]
    assert meta['upper_body_ids'] == list(range(11))
    assert meta['lower_body_ids'] == list(range(11, 17))
    assert meta['num_skeleton_links'] == 19
    assert len(meta['skeleton_links']) == 19
    assert meta['keypoint_colors'].shape == (17, 3)
    assert meta['keypoint_colors'].dtype == np.uint8
    assert meta['skeleton_link_colors'].shape == (19, 3)
    assert meta['sigmas'].shape == (17, )
    assert meta['sigmas'].dtype == np.float32
    assert meta['sigmas'][0] == pytest.approx(0.026)
    assert meta['sigmas'][11] == pytest.approx(0.107)
    weights = meta['dataset_keypoint_weights']
    assert weights.shape == (17, ) and weights.dtype == np.float32
    assert weights[9] == pytest.approx(1.5)  # left wrist
    assert weights[13] == pytest.approx(1.2)  # left knee


def test_coco_file_matches_official_names_and_skeleton(shared_data):
    """The names and the skeleton equal those in a real COCO annotation
    file (whose skeleton is 1-based)."""
    with open(shared_data / 'coco' / 'test_coco.json') as f:
        category = json.load(f)['categories'][0]
    meta = parse_pose_metainfo(dict(from_file=COCO_FILE))
    names = [meta['keypoint_id2name'][i] for i in range(17)]
    assert names == category['keypoints']
    links = {tuple(sorted(link)) for link in meta['skeleton_links']}
    official = {tuple(sorted((a - 1, b - 1))) for a, b in
                category['skeleton']}
    assert links == official


def test_from_file_resolves_against_repo_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    meta = parse_pose_metainfo(dict(from_file=COCO_FILE))
    assert meta['num_keypoints'] == 17


def test_missing_from_file_lists_paths_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        parse_pose_metainfo(dict(from_file='configs/nope.py'))
    msg = str(info.value)
    assert str(tmp_path / 'configs/nope.py') in msg
    assert str(REPO_ROOT / 'configs/nope.py') in msg


def test_inline_dict_and_overrides():
    meta = parse_pose_metainfo(_tiny_info())
    assert meta['num_keypoints'] == 3
    assert meta['flip_indices'] == [0, 2, 1]
    assert meta['flip_pairs'] == [[1, 2]]
    assert meta['skeleton_links'] == [(0, 1), (0, 2)]
    assert meta['upper_body_ids'] == [0]
    assert meta['lower_body_ids'] == [1, 2]
    np.testing.assert_array_equal(meta['keypoint_colors'][2], [7, 8, 9])
    np.testing.assert_allclose(meta['dataset_keypoint_weights'], [1, 2, 3])
    # keys given beside from_file replace the file's
    meta = parse_pose_metainfo(dict(from_file=COCO_FILE, dataset_name='x'))
    assert meta['dataset_name'] == 'x' and meta['num_keypoints'] == 17


def test_empty_sigmas_allowed():
    meta = parse_pose_metainfo(_tiny_info(sigmas=[]))
    assert meta['sigmas'].shape == (0, )


def test_unknown_swap_name():
    info = _tiny_info()
    info['keypoint_info'][1]['swap'] = 'r_fot'
    with pytest.raises(ValueError, match="'l_foot' has swap='r_fot'"):
        parse_pose_metainfo(info)


def test_asymmetric_swap():
    info = _tiny_info()
    info['keypoint_info'][2]['swap'] = ''
    with pytest.raises(ValueError, match='not symmetric') as err:
        parse_pose_metainfo(info)
    assert "'r_foot' has swap=''" in str(err.value)


def test_link_with_unknown_keypoint():
    info = _tiny_info()
    info['skeleton_info'][1]['link'] = ('head', 'tail')
    with pytest.raises(ValueError, match=r"skeleton_info\[1\].*'tail'"):
        parse_pose_metainfo(info)


@pytest.mark.parametrize('field', ['joint_weights', 'sigmas'])
def test_per_keypoint_length_mismatch(field):
    with pytest.raises(ValueError) as info:
        parse_pose_metainfo(_tiny_info(**{field: [1., 1.]}))
    assert str(info.value) == (f'metainfo: `{field}` has length 2 but '
                               'there are 3 keypoints')


def test_missing_fields_and_bad_values():
    info = _tiny_info()
    del info['joint_weights']
    with pytest.raises(KeyError, match='joint_weights'):
        parse_pose_metainfo(info)
    with pytest.raises(KeyError, match='keypoint_info'):
        parse_pose_metainfo(dict(dataset_name='x'))
    info = _tiny_info()
    info['keypoint_info'][2]['name'] = 'head'
    with pytest.raises(ValueError, match="'head' is used by both"):
        parse_pose_metainfo(info)
    info = _tiny_info()
    info['keypoint_info'][0]['type'] = 'middle'
    with pytest.raises(ValueError, match="type 'middle'"):
        parse_pose_metainfo(info)
    info = _tiny_info()
    info['keypoint_info'] = {0: info['keypoint_info'][0],
                             5: info['keypoint_info'][1]}
    with pytest.raises(ValueError, match='indices 0..1'):
        parse_pose_metainfo(info)
    with pytest.raises(TypeError, match='must be a dict'):
        parse_pose_metainfo(COCO_FILE)
