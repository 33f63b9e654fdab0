import numpy as np
import pytest

from posekit.datasets.transforms import GenerateTarget
from posekit.registry import KEYPOINT_CODECS

CODEC = dict(type='TinyHeatmapCodec', input_size=(48, 64),
             heatmap_size=(12, 16))


def _results(**extra):
    results = dict(
        img=np.zeros((64, 48, 3), np.uint8), input_size=(48, 64),
        keypoints=np.array([[[400., 400.], [0., 0.], [1., 1.]]], np.float32),
        transformed_keypoints=np.array([[[8., 12.], [20., 40.],
                                         [100., 4.]]], np.float32),
        keypoints_visible=np.array([[1., 1., 0.]], np.float32))
    results.update(extra)
    return results


def test_encodes_transformed_keypoints_and_stores_tables():
    out = GenerateTarget(encoder=CODEC)(_results())
    assert out['heatmaps'].shape == (3, 16, 12)
    # stride 4: (8, 12) -> (2, 3) and (20, 40) -> (5, 10); not `keypoints`
    assert out['heatmaps'][0, 3, 2] == 1 and out['heatmaps'][1, 10, 5] == 1
    assert out['heatmaps'].sum() == 2
    np.testing.assert_allclose(out['keypoint_weights'], [[1, 1, 0]])
    assert out['field_mapping_table'] == dict(heatmaps='heatmaps')
    assert out['label_mapping_table'] == dict(
        keypoint_weights='keypoint_weights')
    # the tiny codec's instance table is empty, so none is stored
    assert 'instance_mapping_table' not in out


def test_falls_back_to_keypoints():
    results = _results(keypoints=np.array([[[4., 4.], [0., 0.], [1., 1.]]],
                                          np.float32))
    del results['transformed_keypoints']
    out = GenerateTarget(encoder=CODEC)(results)
    assert out['heatmaps'][0, 1, 1] == 1


def test_dataset_keypoint_weights():
    gen = GenerateTarget(encoder=CODEC, use_dataset_keypoint_weights=True)
    out = gen(_results(dataset_keypoint_weights=np.array([2., 3., 4.])))
    np.testing.assert_allclose(out['keypoint_weights'], [[2, 3, 0]])
    # posekit's metainfo name for the same list
    out = gen(_results(joint_weights=[1.5, 1., 1.]))
    np.testing.assert_allclose(out['keypoint_weights'], [[1.5, 1, 0]])
    with pytest.raises(KeyError, match='dataset_keypoint_weights or '
                       'joint_weights'):
        gen(_results())


def test_visibility_with_weights_is_split():
    vis = np.array([[[1., 0.5], [1., 1.], [0., 1.]]], np.float32)
    out = GenerateTarget(encoder=CODEC)(_results(keypoints_visible=vis))
    np.testing.assert_allclose(out['keypoints_visible'], [[1, 1, 0]])
    np.testing.assert_allclose(out['keypoints_visible_weights'],
                               [[0.5, 1, 1]])


def test_codec_and_affine_size_mismatch_names_both():
    gen = GenerateTarget(encoder=CODEC)
    with pytest.raises(ValueError) as info:
        gen(_results(input_size=(192, 256)))
    msg = str(info.value)
    assert 'input_size (48, 64)' in msg and 'is (192, 256)' in msg
    assert 'codec.input_size' in msg and "TopdownAffine's input_size" in msg
    # without input_size the image size (w, h) is compared
    results = _results(img=np.zeros((64, 60, 3), np.uint8))
    del results['input_size']
    with pytest.raises(ValueError, match=r'image size.*\(60, 64\)'):
        gen(results)


def test_several_encoders():
    twice = [CODEC, dict(CODEC, heatmap_size=(24, 32))]
    out = GenerateTarget(encoder=twice, multilevel=True)(_results())
    assert [h.shape for h in out['heatmaps']] == [(3, 16, 12), (3, 32, 24)]
    assert len(out['keypoint_weights']) == 2
    with pytest.raises(ValueError, match="encoder\\[1\\] outputs 'heatmaps'"):
        GenerateTarget(encoder=twice)(_results())
    with pytest.raises(ValueError, match='multilevel=True needs a list'):
        GenerateTarget(encoder=CODEC, multilevel=True)
    with pytest.raises(ValueError, match=r'encoder\[1\]\.input_size'):
        GenerateTarget(encoder=[CODEC, dict(CODEC, input_size=(4, 4))],
                       multilevel=True)(_results())


def test_missing_keys():
    results = _results()
    del results['keypoints'], results['transformed_keypoints']
    with pytest.raises(KeyError, match="'transformed_keypoints' .*TopdownAf"
                       "fine.* or 'keypoints'"):
        GenerateTarget(encoder=CODEC)(results)
    results = _results()
    del results['keypoints_visible']
    with pytest.raises(KeyError, match="GenerateTarget needs the key "
                       "'keypoints_visible'"):
        GenerateTarget(encoder=CODEC)(results)


def test_unknown_codec_type_is_reported():
    with pytest.raises(KeyError, match='NoSuchCodec'):
        GenerateTarget(encoder=dict(type='NoSuchCodec'))


def test_target_type_is_deprecated():
    with pytest.warns(DeprecationWarning, match='target_type'):
        GenerateTarget(encoder=CODEC, target_type='heatmap')


def test_with_msra_heatmap_when_available():
    if KEYPOINT_CODECS.get('MSRAHeatmap') is None:
        pytest.skip('posekit.codecs has no MSRAHeatmap yet')
    gen = GenerateTarget(encoder=dict(type='MSRAHeatmap', input_size=(48, 64),
                                      heatmap_size=(12, 16), sigma=2))
    out = gen(_results())
    assert out['heatmaps'].shape == (3, 16, 12)
    assert out['keypoint_weights'].shape == (1, 3)
    # the peak of keypoint 0 is at its heatmap position (2, 3)
    y, x = np.unravel_index(np.argmax(out['heatmaps'][0]), (16, 12))
    assert (x, y) == (2, 3)
