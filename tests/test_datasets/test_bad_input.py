"""The bad-input table of docs/troubleshooting.md, dataset rows: every
broken input stops (or is skipped and counted) with a message that names
the file, the annotation id or the sample, and says what would be valid."""
import json

import cv2
import numpy as np
import pytest
from torch.utils.data import DataLoader

from posekit.datasets import CocoDataset
from posekit.datasets.datasets.base import BaseCocoStyleDataset

# image size of the generated files (w, h)
W, H = 40, 30


def _info(swap_of_left='r_foot'):
    """Three keypoints: a centre one and a left/right pair."""
    return dict(
        dataset_name='tiny',
        keypoint_info={
            0: dict(name='head', id=0, color=[1, 2, 3], type='upper',
                    swap=''),
            1: dict(name='l_foot', id=1, color=[4, 5, 6], type='lower',
                    swap=swap_of_left),
            2: dict(name='r_foot', id=2, color=[7, 8, 9], type='lower',
                    swap='l_foot')},
        skeleton_info={},
        joint_weights=[1., 1., 1.], sigmas=[.1, .1, .1])


def _ann(ann_id, image_id, bbox=(5, 5, 20, 15),
         keypoints=(10, 8, 2, 12, 15, 2, 18, 15, 1)):
    return dict(id=ann_id, image_id=image_id, category_id=1, bbox=list(bbox),
                keypoints=list(keypoints), num_keypoints=3, iscrowd=0)


def _coco(anns=None, num_images=2):
    images = [dict(id=i + 1, file_name=f'{i + 1}.png', width=W, height=H)
              for i in range(num_images)]
    if anns is None:
        anns = [_ann(10 + i, i + 1) for i in range(num_images)]
    return dict(images=images, annotations=anns,
                categories=[dict(id=1, name='person')])


def _write(tmp_path, data, name='ann.json', images=True):
    """Write ``data`` as ``name`` and its images as small PNG files."""
    path = tmp_path / name
    path.write_text(json.dumps(data))
    if images:
        for img in data.get('images', []):
            value = 40 * int(img['id'])
            cv2.imwrite(str(tmp_path / img['file_name']),
                        np.full((H, W, 3), value, np.uint8))
    return str(path)


def _dataset(ann_file, **kwargs):
    kwargs.setdefault('metainfo', _info())
    kwargs.setdefault('data_prefix', dict(img=str(ann_file).rsplit('/', 1)[0]
                                          + '/'))
    return BaseCocoStyleDataset(ann_file=ann_file, **kwargs)


# ------------------------------------------------------ annotation file
def test_missing_annotation_file_names_the_path(tmp_path):
    path = str(tmp_path / 'nowhere.json')
    with pytest.raises(FileNotFoundError) as info:
        _dataset(path)
    assert str(info.value) == f'annotation file {path!r} does not exist'


def test_annotation_file_that_is_not_json(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{"images": [1, 2')
    with pytest.raises(ValueError) as info:
        _dataset(str(path))
    assert str(info.value).startswith(
        f"annotation file '{path}' is not valid JSON: ")


def test_annotation_file_without_a_json_object(tmp_path):
    path = _write(tmp_path, [1, 2, 3], images=False)
    with pytest.raises(ValueError, match=r"must hold a JSON object with "
                       r'images and annotations, got list'):
        _dataset(path)


@pytest.mark.parametrize('key', ['images', 'annotations'])
def test_annotation_file_missing_a_top_level_key(tmp_path, key):
    data = _coco()
    del data[key]
    path = _write(tmp_path, data)
    with pytest.raises(KeyError) as info:
        _dataset(path)
    other = 'annotations' if key == 'images' else 'images'
    assert info.value.args[0] == (
        f"annotation file {path!r} has no {key!r} key; a COCO-format file "
        f"needs 'images' and 'annotations' (found: "
        f"{sorted(['categories', other])})")


# ----------------------------------------------------------- annotations
def test_keypoint_list_of_wrong_length_names_the_annotation(tmp_path):
    anns = [_ann(10, 1), _ann(11, 2, keypoints=[1, 2, 2] * 2)]
    path = _write(tmp_path, _coco(anns))
    with pytest.raises(ValueError) as info:
        _dataset(path)
    assert str(info.value) == (
        f'annotation file {path!r}: annotation id 11 has 6 keypoint '
        'values, expected 3*K = 9 (K=3 keypoints in the metainfo, each as '
        'x, y, v)')


@pytest.mark.parametrize('field, value', [
    ('keypoints', [1, 2, 2, float('nan'), 3, 2, 4, 5, 2]),
    ('bbox', [1, 2, None, 4])])
def test_non_finite_values_name_the_annotation(tmp_path, field, value):
    bad = _ann(11, 2)
    bad[field] = value
    path = _write(tmp_path, _coco([_ann(10, 1), bad]))
    with pytest.raises(ValueError, match=f'annotation id 11 has {field} with '
                       'values that are not finite numbers'):
        _dataset(path)


def test_zero_and_negative_boxes_are_skipped_with_their_ids(tmp_path):
    anns = [_ann(10, 1), _ann(11, 1, bbox=(5, 5, 0, 10)),
            _ann(12, 2, bbox=(30, 5, -20, 10)),
            # entirely right of the image: zero width after clipping
            _ann(13, 2, bbox=(W + 5, 5, 10, 10)), _ann(14, 2)]
    path = _write(tmp_path, _coco(anns))
    dataset = _dataset(path)
    assert [dataset.get_data_info(i)['id'] for i in range(len(dataset))] \
        == [10, 14]
    assert dataset.load_warnings == [
        f'BaseCocoStyleDataset: annotation file {path!r}: skipped 3 '
        'annotation(s) whose box has zero or negative width or height after '
        'clipping to the image (annotation ids 11, 12, 13); a box is '
        '[x, y, w, h] with w > 0 and h > 0, overlapping the image']


def test_keypoints_far_outside_the_image_are_kept_and_named(tmp_path):
    far = [10, 8, 2, 12, 15, 2, 3 * W, 15, 1]  # x beyond twice the width
    unlabelled = [10, 8, 2, 12, 15, 2, -1000, -1000, 0]  # v=0: ignored
    anns = [_ann(10, 1, keypoints=unlabelled), _ann(21, 2, keypoints=far)]
    path = _write(tmp_path, _coco(anns))
    dataset = _dataset(path)
    assert len(dataset) == 2
    assert dataset.get_data_info(1)['keypoints'][0, 2, 0] == 3 * W
    assert len(dataset.load_warnings) == 1
    assert ('1 annotation(s) have labelled keypoints more than an image '
            'width/height outside their image (annotation ids 21)'
            ) in dataset.load_warnings[0]


# ----------------------------------------------------------------- images
def _loading(tmp_path, missing=(), corrupt=(), num_images=4, **kwargs):
    path = _write(tmp_path, _coco(num_images=num_images))
    for i in missing:
        (tmp_path / f'{i}.png').unlink()
    for i in corrupt:
        (tmp_path / f'{i}.png').write_bytes(b'not a png')
    return _dataset(path, pipeline=[dict(type='LoadImage')], **kwargs)


def test_missing_image_names_the_sample_and_the_option(tmp_path):
    dataset = _loading(tmp_path, missing=[2])
    assert dataset[0]['img'].shape == (H, W, 3)
    with pytest.raises(FileNotFoundError) as info:
        dataset.prepare_data(1)
    img = str(tmp_path / '2.png')
    text = str(info.value)
    assert text.startswith(f'BaseCocoStyleDataset sample 1 (image {img!r}, '
                           'annotation id 11): LoadImage: image file')
    assert 'pass skip_invalid=True to the training dataset' in text


def test_unreadable_image_is_an_io_error_naming_the_file(tmp_path):
    dataset = _loading(tmp_path, corrupt=[3])
    with pytest.raises(OSError, match=r"sample 2 \(image '.*3.png', "
                       r'annotation id 12\).*could not decode image'):
        dataset.prepare_data(2)


def _as_list(batch):
    return batch


def test_skip_invalid_counts_and_names_skipped_samples(tmp_path):
    dataset = _loading(tmp_path, missing=[2], corrupt=[4], num_images=6,
                       skip_invalid=True)
    # workers are separate processes: the count must reach this one
    loader = DataLoader(dataset, batch_size=1, num_workers=2,
                        collate_fn=_as_list)
    values = sorted(int(b[0]['img'][0, 0, 0]) for b in loader)
    assert len(values) == 6
    # every sample drawn in place of a broken one is a readable image
    assert set(values) <= {40, 120, 200, 240}
    report = dataset.skipped_report()
    first = f"'{tmp_path / '2.png'}', annotation id 11"
    second = f"'{tmp_path / '4.png'}', annotation id 13"
    assert report == (
        f"BaseCocoStyleDataset (ann_file {str(tmp_path / 'ann.json')!r}): "
        'skipped 2 of 6 samples because their image is missing (1) or '
        f'unreadable (1) (skip_invalid=True): image {first} (missing); '
        f'image {second} (unreadable). Restore or remove these files to '
        'train on every sample')
    # the report starts a new count
    assert dataset.skipped_report() is None


def test_skip_invalid_with_every_image_missing_stops(tmp_path):
    dataset = _loading(tmp_path, missing=[1, 2], num_images=2,
                       skip_invalid=True)
    with pytest.raises(FileNotFoundError, match='Every sample of the '
                       'dataset failed to load'):
        dataset[0]


def test_skip_invalid_is_refused_in_test_mode(tmp_path):
    with pytest.raises(ValueError, match='skip_invalid=True needs '
                       'test_mode=False'):
        _loading(tmp_path, skip_invalid=True, test_mode=True)


# --------------------------------------------------------------- metainfo
def test_flip_pair_naming_an_unknown_keypoint(tmp_path):
    path = _write(tmp_path, _coco())
    with pytest.raises(ValueError) as info:
        _dataset(path, metainfo=_info(swap_of_left='r_fot'))
    assert str(info.value) == (
        "metainfo: keypoint 'l_foot' has swap='r_fot', which is not a "
        "keypoint name; valid names: ['head', 'l_foot', 'r_foot']")


# -------------------------------------------------------------- bbox_file
def test_bbox_file_with_image_ids_not_in_the_annotations(tmp_path):
    path = _write(tmp_path, _coco())
    dets = [dict(image_id=i, bbox=[1, 1, 5, 5], score=.9, category_id=1)
            for i in (1, 7, 9)]
    det_file = _write(tmp_path, dets, name='dets.json', images=False)
    with pytest.raises(ValueError) as info:
        _dataset(path, bbox_file=det_file, test_mode=True)
    assert str(info.value) == (
        f'bbox_file {det_file!r} has detections on 2 image ids that are not '
        'in the annotation file, e.g. [7, 9]; the detections must come from '
        'the same image set as ann_file')


# ------------------------------------------------------------------ empty
def test_empty_dataset_after_filtering_names_file_and_filters(tmp_path):
    anns = [_ann(10, 1, keypoints=[1, 1, 2, 0, 0, 0, 0, 0, 0]),
            dict(_ann(11, 2), iscrowd=1), _ann(12, 2, bbox=(1, 1, 0, 0))]
    anns[0]['num_keypoints'] = 1
    path = _write(tmp_path, _coco(anns))
    with pytest.raises(ValueError) as info:
        _dataset(path, filter_cfg=dict(min_keypoints=2))
    assert str(info.value) == (
        f'BaseCocoStyleDataset: no samples left from ann_file {path!r} after '
        'filtering (2 image(s); 3 annotation(s); 1 dropped as crowd '
        '(iscrowd=1); 1 dropped for fewer than filter_cfg.min_keypoints=2 '
        'labelled keypoints; 1 dropped for a box of zero size; filters: '
        "data_mode='topdown', filter_cfg={'min_keypoints': 2}, "
        'sample_interval=1). Check that the file holds labelled annotations '
        'of this dataset, that sample_interval divides some image ids, and '
        'relax filter_cfg (e.g. lower bbox_score_thr or min_keypoints)')


def test_empty_detections_after_score_filter(tmp_path):
    path = _write(tmp_path, _coco())
    dets = [dict(image_id=1, bbox=[1, 1, 5, 5], score=.2, category_id=1)]
    det_file = _write(tmp_path, dets, name='dets.json', images=False)
    with pytest.raises(ValueError, match=r"no samples left from bbox_file "
                       r".*dets.json.*bbox_score_thr': 0.5"):
        _dataset(path, bbox_file=det_file, test_mode=True,
                 filter_cfg=dict(bbox_score_thr=.5))


def test_coco_dataset_class_reports_with_its_own_name(tmp_path):
    # the real 17-keypoint class: the culprit is named with its class
    anns = [_ann(10, 1, keypoints=[0] * 51)]
    anns[0]['num_keypoints'] = 0
    path = _write(tmp_path, _coco(anns, num_images=1))
    with pytest.raises(ValueError, match=r'^CocoDataset: no samples left'):
        CocoDataset(ann_file=path)
