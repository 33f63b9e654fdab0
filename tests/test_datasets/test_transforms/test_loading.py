import json

import cv2
import numpy as np
import pytest

from posekit.datasets.transforms import LoadImage


def _write_png(path, h=7, w=5):
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    assert cv2.imwrite(str(path), img)
    return img


def test_reads_bgr_uint8_and_sets_shapes(tmp_path):
    img = _write_png(tmp_path / 'a.png')
    out = LoadImage()(dict(img_path=str(tmp_path / 'a.png')))
    assert out['img'].dtype == np.uint8
    np.testing.assert_array_equal(out['img'], img)
    assert out['img_shape'] == (7, 5) and out['ori_shape'] == (7, 5)


def test_to_float32_and_grayscale(tmp_path):
    img = _write_png(tmp_path / 'a.png')
    out = LoadImage(to_float32=True)(dict(img_path=str(tmp_path / 'a.png')))
    assert out['img'].dtype == np.float32
    assert out['img'][6, 4, 2] == float(img[6, 4, 2])
    gray = LoadImage(color_type='grayscale')(
        dict(img_path=str(tmp_path / 'a.png')))
    assert gray['img'].shape == (7, 5)


def test_uses_an_existing_image():
    img = np.zeros((11, 13, 3), dtype=np.uint8)
    out = LoadImage()(dict(img=img))
    assert out['img'] is img
    assert out['img_shape'] == (11, 13) and out['img_path'] is None
    with pytest.raises(TypeError, match='must be a numpy array, got list'):
        LoadImage()(dict(img=[[0]]))


def test_missing_file_names_the_path(tmp_path):
    path = str(tmp_path / 'nope' / 'missing.jpg')
    with pytest.raises(FileNotFoundError) as info:
        LoadImage()(dict(img_path=path))
    assert path in str(info.value)
    assert LoadImage(ignore_empty=True)(dict(img_path=path)) is None


def test_undecodable_file_names_the_path(tmp_path):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(b'this is not a jpeg')
    with pytest.raises(IOError, match='broken.jpg'):
        LoadImage()(dict(img_path=str(path)))
    assert LoadImage(ignore_empty=True)(dict(img_path=str(path))) is None


def test_other_decoder_goes_through_mmcv(tmp_path):
    img = _write_png(tmp_path / 'a.png')
    out = LoadImage(imdecode_backend='pillow')(
        dict(img_path=str(tmp_path / 'a.png')))
    np.testing.assert_array_equal(out['img'], img)


def test_missing_key_and_bad_arguments():
    with pytest.raises(KeyError, match="LoadImage needs the key 'img_path'"):
        LoadImage()(dict(id=3))
    with pytest.raises(ValueError, match="color_type .* got 'colour'"):
        LoadImage(color_type='colour')
    with pytest.raises(ValueError, match='imdecode_backend'):
        LoadImage(imdecode_backend='magick')


def test_real_coco_image(shared_data):
    name = '000000196141.jpg'
    with open(shared_data / 'coco' / 'test_coco.json') as f:
        info = next(i for i in json.load(f)['images']
                    if i['file_name'] == name)
    out = LoadImage()(dict(img_path=str(shared_data / 'coco' / name)))
    assert out['ori_shape'] == (info['height'], info['width'])
    assert out['img'].shape == (info['height'], info['width'], 3)
    assert out['img'].dtype == np.uint8
    # a real photo, not a blank image
    assert out['img'].std() > 10
