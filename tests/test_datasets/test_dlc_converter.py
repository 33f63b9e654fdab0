"""DeepLabCut project -> COCO + dataset_info: the real open-field project,
flip-pair inference, the split, multi-animal files and malformed csvs."""
import csv
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from posekit.datasets.converters import (DLCFormatError, build_dataset_info,
                                         convert_dlc_project,
                                         infer_flip_pairs,
                                         read_collected_data, split_coco)
from posekit.datasets.datasets.utils import parse_pose_metainfo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def openfield(shared_data, tmp_path_factory):
    """The open-field project converted once: (summary, out_dir)."""
    out = tmp_path_factory.mktemp('openfield')
    return convert_dlc_project(shared_data / 'dlc_openfield', out), out


def _raw_row(project: Path, image: str):
    """The csv cells of one frame, read without the converter."""
    path = project / 'labeled-data/m4s1/CollectedData_Pranav.csv'
    with open(path, newline='') as f:
        for row in csv.reader(f):
            if row[0] == image:
                return [float(v) for v in row[1:]]
    raise AssertionError(f'{image} not in {path}')


# ---------------------------------------------------------------- openfield
def test_openfield_counts_and_split(openfield):
    summary, out = openfield
    assert summary['num_images'] == summary['num_annotations'] == 116
    # round(0.2 * 116) = 23 held out
    assert (summary['num_train'], summary['num_val']) == (93, 23)
    assert summary['keypoints'] == ['snout', 'leftear', 'rightear',
                                    'tailbase']
    assert summary['flip_pairs'] == [('leftear', 'rightear')]
    train = json.loads((out / 'annotations/train.json').read_text())
    val = json.loads((out / 'annotations/val.json').read_text())
    ids = [img['id'] for img in train['images'] + val['images']]
    assert sorted(ids) == list(range(1, 117))
    assert len(train['annotations']) == 93 and len(val['annotations']) == 23
    assert {img['file_name'] for img in val['images']}.isdisjoint(
        img['file_name'] for img in train['images'])


def test_openfield_known_frame_matches_raw_csv(openfield, shared_data):
    summary, out = openfield
    image = 'labeled-data/m4s1/img0003.png'
    raw = np.array(_raw_row(shared_data / 'dlc_openfield', image)).reshape(
        4, 2)
    coco = {}
    for split in ('train', 'val'):
        data = json.loads((out / f'annotations/{split}.json').read_text())
        for img in data['images']:
            if img['file_name'] == image:
                coco = dict(img=img, ann=next(
                    a for a in data['annotations']
                    if a['image_id'] == img['id']))
    assert coco, f'{image} is in neither split'
    assert (coco['img']['width'], coco['img']['height']) == (640, 480)
    kpts = np.array(coco['ann']['keypoints']).reshape(4, 3)
    np.testing.assert_allclose(kpts[:, :2], raw, atol=1e-9)
    assert kpts[:, 2].tolist() == [2, 2, 2, 2]
    assert coco['ann']['num_keypoints'] == 4
    # the labelled points' box widened by 20 px per side:
    # x 57.39..106.581, y 270.04..374.572
    np.testing.assert_allclose(
        coco['ann']['bbox'], [37.39, 250.04, 89.191, 144.532], atol=1e-3)
    assert coco['ann']['area'] == pytest.approx(89.191 * 144.532, rel=1e-4)
    # the image is reachable through out/images
    assert (out / 'images' / image).is_file()


def test_openfield_box_is_clipped_to_the_image(openfield, shared_data):
    _, out = openfield
    train = json.loads((out / 'annotations/train.json').read_text())
    val = json.loads((out / 'annotations/val.json').read_text())
    anns = train['annotations'] + val['annotations']
    boxes = np.array([a['bbox'] for a in anns])
    assert boxes[:, :2].min() >= 0
    assert (boxes[:, 0] + boxes[:, 2]).max() <= 640 + 1e-6
    assert (boxes[:, 1] + boxes[:, 3]).max() <= 480 + 1e-6
    # frame 0: the smallest x (right ear, 19.984) minus 20 px is clipped to
    # 0; the smallest y (tail base, 152.698) gives a top of 132.698
    images = {i['id']: i['file_name'] for i in train['images']
              + val['images']}
    first = next(a for a in anns if images[a['image_id']].endswith(
        'img0000.png'))
    assert first['bbox'][0] == 0.0
    assert first['bbox'][1] == pytest.approx(132.698, abs=1e-6)
    assert first['bbox'][2] == pytest.approx(87.11 + 20, abs=1e-6)


def test_openfield_dataset_info_parses(openfield):
    _, out = openfield
    meta = parse_pose_metainfo(dict(from_file=str(out / 'dataset_info.py')))
    assert meta['dataset_name'] == 'openfield'  # the config's Task
    assert meta['num_keypoints'] == 4
    assert meta['flip_indices'] == [0, 2, 1, 3]
    np.testing.assert_allclose(meta['sigmas'], [0.05] * 4)
    np.testing.assert_allclose(meta['joint_weights'], [1.0] * 4)
    assert meta['skeleton_links'] == []  # config.yaml has skeleton: []


# --------------------------------------------------------------- flip pairs
@pytest.mark.parametrize('names, pairs', [
    (['snout', 'leftear', 'rightear', 'tailbase'],
     [('leftear', 'rightear')]),
    (['Right_Paw', 'nose', 'Left_Paw'], [('Right_Paw', 'Left_Paw')]),
    (['l_hip', 'r_hip', 'paw-L', 'paw-R', 'tail_1'],
     [('l_hip', 'r_hip'), ('paw-L', 'paw-R')]),
    (['LEFTEYE', 'righteye'], [('LEFTEYE', 'righteye')]),
    # no mirror present, or letters inside words: no pair
    (['left_eye', 'nose'], []),
    (['earl', 'earr', 'rear', 'lear'], []),
])
def test_infer_flip_pairs(names, pairs):
    assert infer_flip_pairs(names) == pairs


def test_given_flip_pairs_override_and_are_checked():
    info = build_dataset_info(['a', 'b', 'left', 'right'], 'x',
                              flip_pairs=[('a', 'b')])
    assert [k['swap'] for k in info['keypoint_info'].values()] == [
        'b', 'a', '', '']
    none = build_dataset_info(['left', 'right'], 'x', flip_pairs=[])
    assert [k['swap'] for k in none['keypoint_info'].values()] == ['', '']
    with pytest.raises(ValueError, match=r"'c' .*not a keypoint.*\['a', "):
        build_dataset_info(['a', 'b'], 'x', flip_pairs=[('a', 'c')])


# -------------------------------------------------------------------- split
def _coco(num_images):
    return dict(
        images=[dict(id=i + 1, file_name=f'{i}.png', width=4, height=4)
                for i in range(num_images)],
        annotations=[dict(id=10 * (i + 1), image_id=i + 1)
                     for i in range(num_images)],
        categories=[dict(id=1)])


def test_split_is_deterministic_and_complete():
    train, val = split_coco(_coco(50), 0.2, seed=3)
    again_train, again_val = split_coco(_coco(50), 0.2, seed=3)
    assert [i['id'] for i in val['images']] == [
        i['id'] for i in again_val['images']]
    assert len(val['images']) == 10 and len(train['images']) == 40
    ids = {i['id'] for i in train['images']} | {i['id'] for i in
                                                 val['images']}
    assert ids == set(range(1, 51))
    # annotations follow their images
    assert {a['image_id'] for a in val['annotations']} == {
        i['id'] for i in val['images']}
    _, other = split_coco(_coco(50), 0.2, seed=4)
    assert {i['id'] for i in other['images']} != {i['id'] for i in
                                                   val['images']}


def test_split_rejects_empty_parts():
    with pytest.raises(ValueError, match='val_fraction must be in'):
        split_coco(_coco(5), 1.0)
    with pytest.raises(ValueError, match='gives 0 validation images'):
        split_coco(_coco(5), 0.05)


# ------------------------------------------------- small projects from here
def _project(tmp_path, lines, images=('img0.png', 'img1.png')):
    """A DeepLabCut project with 64x48 frames and the given csv lines."""
    folder = tmp_path / 'proj' / 'labeled-data' / 'vid'
    folder.mkdir(parents=True)
    for name in images:
        cv2.imwrite(str(folder / name), np.zeros((48, 64, 3), np.uint8))
    csv_path = folder / 'CollectedData_me.csv'
    csv_path.write_text('\n'.join(lines) + '\n')
    return tmp_path / 'proj', csv_path


HEADER = ['scorer,me,me,me,me', 'bodyparts,leftear,leftear,rightear,rightear',
          'coords,x,y,x,y']


def test_wrong_header_row_names_file_and_row(tmp_path):
    project, path = _project(tmp_path, [
        'scorer,me,me', 'coords,x,y', 'bodyparts,a,a',
        'labeled-data/vid/img0.png,1,2'])
    with pytest.raises(DLCFormatError) as err:
        read_collected_data(path, project)
    message = str(err.value)
    assert str(path) in message and 'row 2' in message
    assert "'bodyparts'" in message and "got 'coords'" in message


def test_missing_image_names_file_row_and_path(tmp_path):
    project, path = _project(tmp_path, HEADER + [
        'labeled-data/vid/img0.png,1,2,3,4',
        'labeled-data/vid/img9.png,1,2,3,4'])
    with pytest.raises(FileNotFoundError) as err:
        read_collected_data(path, project)
    message = str(err.value)
    assert str(path) in message and 'row 5' in message
    assert 'labeled-data/vid/img9.png' in message


def test_non_numeric_cell_names_file_row_and_column(tmp_path):
    project, path = _project(tmp_path, HEADER + [
        'labeled-data/vid/img0.png,1,2,3,4',
        'labeled-data/vid/img1.png,1,2,abc,4'])
    with pytest.raises(DLCFormatError) as err:
        read_collected_data(path, project)
    message = str(err.value)
    assert str(path) in message and 'row 5' in message
    assert "'abc'" in message and 'rightear x' in message


def test_half_labelled_point_and_prediction_file_are_rejected(tmp_path):
    project, path = _project(tmp_path, HEADER + [
        'labeled-data/vid/img0.png,1,,3,4'])
    with pytest.raises(DLCFormatError, match=r"row 4: .*'leftear' has only"):
        read_collected_data(path, project)
    path.write_text('scorer,me,me,me\nbodyparts,a,a,a\n'
                    'coords,x,y,likelihood\nlabeled-data/vid/img0.png,1,2,1\n')
    with pytest.raises(DLCFormatError, match='row 3: .*predictions file'):
        read_collected_data(path, project)


def test_multi_animal_split_index_and_missing_points(tmp_path):
    """Four header rows, the image path over three index columns, empty
    cells for unlabelled points, an animal without labels in one frame."""
    project, path = _project(tmp_path, [
        'scorer,,,me,me,me,me,me,me,me,me',
        'individuals,,,m1,m1,m1,m1,m2,m2,m2,m2',
        'bodyparts,,,nose,nose,tail,tail,nose,nose,tail,tail',
        'coords,,,x,y,x,y,x,y,x,y',
        'labeled-data,vid,img0.png,10,12,30,20,,,,',
        'labeled-data,vid,img1.png,5,6,,,40,30,50,44'])
    labels = read_collected_data(path, project)
    assert labels.individuals == ['m1', 'm2'] and labels.bodyparts == [
        'nose', 'tail']
    assert labels.keypoints.shape == (2, 2, 2, 2)
    assert labels.image_paths == ['labeled-data/vid/img0.png',
                                  'labeled-data/vid/img1.png']
    assert labels.rows == [5, 6]

    from posekit.datasets.converters import dlc_labels_to_coco
    coco = dlc_labels_to_coco(labels, project, bbox_margin=5)
    anns = coco['annotations']
    # frame 0: only m1; frame 1: m1 (nose only) and m2
    assert [(a['image_id'], a['individual']) for a in anns] == [
        (1, 'm1'), (2, 'm1'), (2, 'm2')]
    assert anns[1]['keypoints'] == [5.0, 6.0, 2, 0.0, 0.0, 0]
    assert anns[1]['num_keypoints'] == 1
    # m2 box: x 40..50, y 30..44, +5 px, clipped to the 64x48 image
    assert anns[2]['bbox'] == pytest.approx([35.0, 25.0, 20.0, 23.0])
    assert coco['images'][0]['width'] == 64
    assert coco['images'][0]['height'] == 48


def test_cli_writes_layout_with_copied_images(tmp_path):
    project, _ = _project(tmp_path, HEADER + [
        'labeled-data/vid/img0.png,1,2,3,4',
        'labeled-data/vid/img1.png,5,6,7,8',
        'labeled-data/vid/img2.png,,,,'],
        images=('img0.png', 'img1.png', 'img2.png'))
    spec = importlib.util.spec_from_file_location(
        '_dlc2coco', REPO / 'tools/dataset_converters/dlc2coco.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'out'
    summary = tool.main([str(project), str(out), '--val-fraction', '0.5',
                         '--no-flip', '--copy-images', '--name', 'mice'])
    # the frame without labels is left out
    assert (summary['num_images'], summary['num_unlabelled_frames']) == (2, 1)
    assert (summary['num_train'], summary['num_val']) == (1, 1)
    assert summary['flip_pairs'] == []
    assert (out / 'images/labeled-data/vid/img1.png').is_file()
    assert not (out / 'images').is_symlink()
    meta = parse_pose_metainfo(dict(from_file=str(out / 'dataset_info.py')))
    assert meta['dataset_name'] == 'mice'
    assert meta['flip_indices'] == [0, 1]  # --no-flip: nothing swaps


def test_config_body_parts_must_match_the_csv(tmp_path):
    project, _ = _project(tmp_path, HEADER + [
        'labeled-data/vid/img0.png,1,2,3,4',
        'labeled-data/vid/img1.png,5,6,7,8'])
    (project / 'config.yaml').write_text(
        'Task: t\nscorer: me\nbodyparts:\n- nose\n- rightear\n')
    with pytest.raises(ValueError, match=r"config.yaml: bodyparts \['nose', "
                       r"'rightear'\] differ .*\['leftear', 'rightear'\]"):
        convert_dlc_project(project, tmp_path / 'out', val_fraction=0.5)
    (project / 'config.yaml').write_text(
        'scorer: me\nbodyparts:\n- leftear\n- rightear\n'
        'skeleton:\n- - leftear\n  - tail\n')
    with pytest.raises(ValueError, match=r"skeleton link \['leftear', "
                       r"'tail'\] must name two labelled body parts"):
        convert_dlc_project(project, tmp_path / 'out', val_fraction=0.5)
