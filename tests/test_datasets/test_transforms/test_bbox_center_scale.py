import numpy as np
import pytest

from posekit.datasets.transforms import GetBBoxCenterScale


def test_center_and_padded_scale():
    out = GetBBoxCenterScale()(
        dict(bbox=np.array([[10., 20., 110., 220.], [0., 0., 8., 4.]])))
    np.testing.assert_allclose(out['bbox_center'], [[60, 120], [4, 2]])
    np.testing.assert_allclose(out['bbox_scale'], [[125, 250], [10, 5]])
    assert out['bbox_center'].dtype == np.float32
    out = GetBBoxCenterScale(padding=1.)(dict(bbox=[[0, 0, 8, 4]]))
    np.testing.assert_allclose(out['bbox_scale'], [[8, 4]])


def test_existing_center_scale_are_kept_and_padded():
    results = dict(bbox=np.array([[0., 0., 10., 10.]]),
                   bbox_center=np.array([[3., 4.]]),
                   bbox_scale=np.array([[8., 6.]]))
    with pytest.warns(UserWarning, match='existing'):
        out = GetBBoxCenterScale(padding=1.5)(results)
    np.testing.assert_allclose(out['bbox_center'], [[3, 4]])
    np.testing.assert_allclose(out['bbox_scale'], [[12, 9]])


def test_errors():
    with pytest.raises(KeyError,
                       match="GetBBoxCenterScale needs the key 'bbox'"):
        GetBBoxCenterScale()(dict(img=0))
    with pytest.raises(ValueError, match=r'\(N, 4\).*\(4,\)'):
        GetBBoxCenterScale()(dict(bbox=np.zeros(4)))
    with pytest.raises(ValueError, match='padding must be > 0'):
        GetBBoxCenterScale(padding=0)
