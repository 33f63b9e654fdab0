"""Test doubles for the model tests, registered under names starting with
'_Test' so they cannot clash with real modules. They are written with plain
numpy/torch, independent of the code under test."""
import numpy as np
import torch
from torch import nn

from posekit.models.heads import HeatmapHead
from posekit.registry import KEYPOINT_CODECS, MODELS


@KEYPOINT_CODECS.register_module(name='_TestArgmaxCodec', force=True)
class ArgmaxCodec:
    """Decodes (K, h, w) heatmaps to the argmax pixel scaled to the input
    size: keypoints (1, K, 2), scores (1, K) = the maxima."""

    def __init__(self, input_size, heatmap_size):
        self.input_size = tuple(input_size)
        self.heatmap_size = tuple(heatmap_size)

    def decode(self, heatmaps):
        k, h, w = heatmaps.shape
        flat = heatmaps.reshape(k, -1)
        ys, xs = np.unravel_index(flat.argmax(1), (h, w))
        stride = np.array(self.input_size, float) / self.heatmap_size
        kpts = np.stack([xs, ys], -1) * stride
        return kpts[None].astype(np.float32), flat.max(1)[None]


@MODELS.register_module(name='_TestIdentityBackbone', force=True)
class IdentityBackbone(nn.Module):
    """Returns the input as the only feature map; records what it saw."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.clone())
        return (x, )


@MODELS.register_module(name='_TestSideHead', force=True)
class SideHead(HeatmapHead):
    """A flip-equivariant stand-in for a trained model on one-channel
    inputs: keypoint 0 ('left') is the input's left half, keypoint 1
    ('right') its right half."""

    def __init__(self, decoder):
        super().__init__(in_channels=1, out_channels=2,
                         deconv_out_channels=None, final_layer=None,
                         decoder=decoder)

    def forward(self, feats):
        x = feats[-1][:, :1]
        w = x.shape[-1]
        left = torch.zeros_like(x)
        left[..., :w // 2] = 1
        return torch.cat([x * left, x * (1 - left)], dim=1)


@MODELS.register_module(name='_TestRaisingHead', force=True)
class RaisingHead(nn.Module):
    """A training-only head: loss() returns fixed values, anything else
    raises so a test fails if it is run outside 'loss' mode."""

    def __init__(self, value=1.0):
        super().__init__()
        self.value = value
        self.scale = nn.Parameter(torch.ones(()))

    def loss(self, feats, data_samples, train_cfg=None):
        return dict(loss_guide=self.scale * self.value,
                    acc_guide=torch.tensor(0.5))

    def forward(self, *args, **kwargs):
        raise AssertionError('auxiliary head forward() must not run')

    def predict(self, *args, **kwargs):
        raise AssertionError('auxiliary head predict() must not run')
