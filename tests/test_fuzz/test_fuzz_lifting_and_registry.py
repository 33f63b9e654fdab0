"""Fuzzing RandomFlipAroundRoot (pose lifting), and a guard that every
registered transform and codec is fuzzed somewhere in this folder."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from posekit.datasets.transforms import RandomFlipAroundRoot
from posekit.registry import KEYPOINT_CODECS, TRANSFORMS


import _posekit_fuzz_inputs as fz  # noqa: E402  (conftest.py)


@st.composite
def lifting_samples(draw):
    t, k = draw(st.integers(1, 3)), draw(st.integers(2, 5))
    return dict(keypoints=draw(fz.keypoints(t, k)),
                keypoints_visible=draw(fz.visibility(t, k)),
                lifting_target=draw(fz.keypoints(1, k, dims=3)),
                lifting_target_visible=draw(fz.visibility(1, k)),
                flip_indices=draw(fz.flip_indices(k)),
                camera_param=dict(c=np.array([draw(fz.coordinates()), 3.]),
                                  p=np.array([0.1, 0.2])))


@fz.fuzz_settings(60)
@given(lifting_samples(), st.sampled_from(['static', 'root']),
       st.sampled_from([0.5, -1e3, 0.]))
def test_random_flip_around_root(sample, mode, center_x):
    cfg = dict(center_mode=mode, center_x=center_x, center_index=0)
    flip = RandomFlipAroundRoot(cfg, cfg, flip_prob=1., flip_camera=True)
    original = {k: np.copy(v) for k, v in sample.items()
                if isinstance(v, np.ndarray)}
    out = flip(dict(sample))
    idx = sample['flip_indices']
    for key in ('keypoints', 'lifting_target'):
        assert out[key].shape == original[key].shape
        fz.assert_finite(key, out[key])
        # y (and z) are only reordered
        np.testing.assert_array_equal(out[key][..., 1:],
                                      original[key][:, idx, 1:])
    np.testing.assert_array_equal(out['keypoints_visible'],
                                  original['keypoints_visible'][:, idx])
    assert out['camera_param']['c'][0] == -sample['camera_param']['c'][0]
    if mode == 'static':
        # mirroring about a fixed line twice gives the input back
        twice = flip(dict(out))
        for key in ('keypoints', 'lifting_target'):
            np.testing.assert_allclose(twice[key], original[key],
                                       rtol=1e-6, atol=1e-3)


# Which test file fuzzes each registered component (LoadImage runs with
# an in-memory image at the head of the top-down and bottom-up pipelines).
FUZZED_TRANSFORMS = {
    'LoadImage', 'GetBBoxCenterScale', 'RandomFlip', 'RandomHalfBody',
    'RandomBBoxTransform', 'TopdownAffine', 'GenerateTarget',
    'PackPoseInputs', 'BottomupRandomAffine', 'BottomupResize',
    'BottomupGetHeatmapMask', 'RandomFlipAroundRoot'}
FUZZED_CODECS = {
    'MSRAHeatmap', 'UDPHeatmap', 'IntegralRegressionLabel', 'SimCCLabel',
    'RegressionLabel', 'AssociativeEmbedding', 'ImagePoseLifting',
    'VideoPoseLifting'}


def test_every_registered_transform_and_codec_is_fuzzed():
    # Test-only registrations (a tiny codec of the transform tests) live
    # outside the posekit package.
    def ours(registry):
        return {name for name, cls in registry.module_dict.items()
                if cls.__module__.startswith('posekit.')}

    missing = ours(TRANSFORMS) - FUZZED_TRANSFORMS
    assert not missing, f'add {sorted(missing)} to tests/test_fuzz'
    missing = ours(KEYPOINT_CODECS) - FUZZED_CODECS
    assert not missing, f'add {sorted(missing)} to tests/test_fuzz'
    # and the lists name only registered components
    assert FUZZED_TRANSFORMS <= set(TRANSFORMS.module_dict)
    assert FUZZED_CODECS <= set(KEYPOINT_CODECS.module_dict)
