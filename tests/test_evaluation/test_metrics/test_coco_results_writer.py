import json

import numpy as np

from posekit.evaluation.metrics.coco_results_writer import (
    format_fixed, round_fixed, write_keypoint_results)


def test_format_fixed_text():
    values = np.array([0., -0.00004, 1.23456, -12.5, 1234.00004, -0.5])
    text = [row.tobytes().decode() for row in format_fixed(values, 4)]
    assert [t.strip() for t in text] == [
        '0.0000', '0.0000', '1.2346', '-12.5000', '1234.0000', '-0.5000']
    assert len({len(t) for t in text}) == 1  # fixed width
    assert [t.strip() for t in (r.tobytes().decode() for r in
                                format_fixed(np.array([7.6, -3.]), 0))] == [
        '8', '-3']


def test_written_file_is_json_with_rounded_values(tmp_path):
    rng = np.random.default_rng(0)
    kpts = rng.uniform(-50, 5000, (3, 17, 3))
    boxes = np.array([[1., 2., 3., 4.], [np.nan] * 4, [-1.5, 0., 10., 2.]])
    path = str(tmp_path / 'r.json')
    write_keypoint_results(path, np.array([5, 5, 9]), np.array([1, 1, 2]),
                           kpts, np.array([0.5, 1 / 3, 0.25]), boxes)
    data = json.load(open(path))
    assert [d['image_id'] for d in data] == [5, 5, 9]
    assert [d['category_id'] for d in data] == [1, 1, 2]
    assert data[1]['score'] == 1 / 3  # scores keep full precision
    assert 'bbox' not in data[1]
    assert data[2]['bbox'] == [-1.5, 0.0, 10.0, 2.0]
    got = np.array([d['keypoints'] for d in data]).reshape(3, 17, 3)
    np.testing.assert_array_equal(got, round_fixed(kpts, 4))
    assert np.abs(got - kpts).max() <= 0.5e-4 + 1e-9


def test_non_finite_values_fall_back_to_json(tmp_path):
    kpts = np.zeros((1, 2, 3))
    kpts[0, 0, 0] = np.nan
    path = str(tmp_path / 'r.json')
    write_keypoint_results(path, np.array([1]), np.array([1]), kpts,
                           np.array([0.5]))
    text = open(path).read()
    assert 'NaN' in text
    assert json.loads(text)[0]['keypoints'][1:] == [0.0] * 5
