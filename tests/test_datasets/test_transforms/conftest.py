"""A tiny keypoint codec for the transform tests, independent of
posekit.codecs (so these tests do not depend on the codec code)."""
import numpy as np
import pytest

from posekit.registry import KEYPOINT_CODECS


class TinyHeatmapCodec:
    """Heatmaps (K, h, w) with a single 1 at each visible keypoint's
    rounded heatmap position; keypoint_weights = visibility (N, K)."""

    field_mapping_table = dict(heatmaps='heatmaps')
    label_mapping_table = dict(keypoint_weights='keypoint_weights')
    instance_mapping_table: dict = {}
    auxiliary_encode_keys: set = set()

    def __init__(self, input_size, heatmap_size):
        self.input_size = tuple(input_size)
        self.heatmap_size = tuple(heatmap_size)

    def encode(self, keypoints, keypoints_visible=None):
        n, k = keypoints.shape[:2]
        if keypoints_visible is None:
            keypoints_visible = np.ones((n, k), dtype=np.float32)
        w, h = self.heatmap_size
        stride = np.array(self.input_size) / np.array(self.heatmap_size)
        xy = np.round(keypoints[0, :, :2] / stride).astype(int)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & \
            (xy[:, 1] < h) & (keypoints_visible[0] > 0)
        heatmaps = np.zeros((k, h, w), dtype=np.float32)
        idx = np.nonzero(inside)[0]
        heatmaps[idx, xy[idx, 1], xy[idx, 0]] = 1.
        weights = keypoints_visible.astype(np.float32) * inside[None]
        return dict(heatmaps=heatmaps, keypoint_weights=weights)


@pytest.fixture(scope='session', autouse=True)
def tiny_codec():
    KEYPOINT_CODECS.register_module(name='TinyHeatmapCodec', force=True,
                                    module=TinyHeatmapCodec)
    return TinyHeatmapCodec
