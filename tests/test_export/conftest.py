"""Tiny top-down models for the export tests.

Every model is a ResNet-18 with 8 base channels cut after stage 2 (stride
16), so a 64x48 crop gives 4x3 features, on one of the supported heads
with K = 5 keypoints. Random-init heatmaps are nearly flat noise, where
sub-pixel refinements are ill-conditioned (a 1e-7 rounding change moves a
DARK step by whole cells, in numpy as much as in any graph); so the final
layers are replaced by smooth, positive ones (see :func:`make_peaky`),
which gives heatmaps and SimCC vectors with clear, separate peaks, like a
trained model's.
"""
import logging

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger

from posekit.registry import MODELS

K = 5
FLIP_INDICES = [0, 2, 1, 4, 3]
INPUT_SIZE = (48, 64)          # (w, h) of the crop
HEATMAP_SIZE = (12, 16)
FEAT_SIZE = (3, 4)             # (w, h) of the stride-16 features
IN_CHANNELS = 32               # ResNet-18, base 8, stage 2

_HEADS = {
    'msra': dict(type='HeatmapHead', in_channels=IN_CHANNELS, out_channels=K,
                 deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
                 final_layer=dict(kernel_size=5, padding=2),
                 decoder=dict(type='MSRAHeatmap', input_size=INPUT_SIZE,
                              heatmap_size=HEATMAP_SIZE, sigma=2)),
    'dark': dict(type='HeatmapHead', in_channels=IN_CHANNELS, out_channels=K,
                 deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
                 final_layer=dict(kernel_size=5, padding=2),
                 decoder=dict(type='MSRAHeatmap', input_size=INPUT_SIZE,
                              heatmap_size=HEATMAP_SIZE, sigma=2,
                              unbiased=True)),
    'udp': dict(type='HeatmapHead', in_channels=IN_CHANNELS, out_channels=K,
                deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
                final_layer=dict(kernel_size=5, padding=2),
                decoder=dict(type='UDPHeatmap', input_size=INPUT_SIZE,
                             heatmap_size=HEATMAP_SIZE, sigma=2)),
    'udp_combined': dict(
        type='HeatmapHead', in_channels=IN_CHANNELS, out_channels=3 * K,
        deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
        final_layer=dict(kernel_size=5, padding=2),
        decoder=dict(type='UDPHeatmap', input_size=INPUT_SIZE,
                     heatmap_size=HEATMAP_SIZE, heatmap_type='combined',
                     blur_kernel_size=3)),
    'simcc': dict(type='SimCCHead', in_channels=IN_CHANNELS, out_channels=K,
                  input_size=INPUT_SIZE, in_featuremap_size=FEAT_SIZE,
                  deconv_out_channels=None,
                  decoder=dict(type='SimCCLabel', input_size=INPUT_SIZE,
                               sigma=(4.9, 5.66), simcc_split_ratio=2.0)),
    'simcc_dark': dict(type='SimCCHead', in_channels=IN_CHANNELS,
                       out_channels=K, input_size=INPUT_SIZE,
                       in_featuremap_size=FEAT_SIZE,
                       deconv_out_channels=None,
                       decoder=dict(type='SimCCLabel', input_size=INPUT_SIZE,
                                    sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                                    use_dark=True)),
    'regression': dict(type='RegressionHead', in_channels=IN_CHANNELS,
                       num_joints=K,
                       decoder=dict(type='RegressionLabel',
                                    input_size=INPUT_SIZE)),
    'rle': dict(type='RLEHead', in_channels=IN_CHANNELS, num_joints=K,
                decoder=dict(type='RegressionLabel', input_size=INPUT_SIZE)),
    'integral': dict(type='IntegralRegressionHead', in_channels=IN_CHANNELS,
                     in_featuremap_size=FEAT_SIZE, num_joints=K,
                     deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
                     decoder=dict(type='IntegralRegressionLabel',
                                  input_size=INPUT_SIZE,
                                  heatmap_size=HEATMAP_SIZE, sigma=2)),
}
HEADS = tuple(_HEADS)
# flip-test settings of the published configs of each family
_FLIP_CFG = {'msra': dict(shift_heatmap=True),
             'dark': dict(shift_heatmap=True),
             'udp': dict(shift_heatmap=False),
             'udp_combined': dict(flip_mode='udp_combined',
                                  shift_heatmap=False)}


@MODELS.register_module(name='_TestExportAuxHead', force=True)
class AuxiliaryHead(torch.nn.Module):
    """A training-only head: anything but ``loss`` fails the test."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))

    def loss(self, feats, data_samples, train_cfg=None):
        return dict(loss_aux=self.weight)

    def forward(self, *args, **kwargs):
        raise AssertionError('an auxiliary head ran outside training')

    predict = forward


def tiny_topdown_cfg(head: str, flip_test: bool) -> dict:
    """The model config of a tiny top-down model with head ``head`` (a key
    of ``_HEADS``)."""
    cfg = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(2, )),
        head=dict(_HEADS[head]),
        test_cfg=dict(flip_test=flip_test, **_FLIP_CFG.get(head, {})))
    if head in ('regression', 'rle'):
        cfg['neck'] = dict(type='GlobalAveragePooling')
    return cfg


def _smooth_rows(rows: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian-smooth ``rows`` (M, L) along M (zero outside)."""
    m = rows.shape[0]
    offsets = torch.arange(m, dtype=torch.float32)
    weights = torch.exp(-(offsets[:, None] - offsets[None]) ** 2 /
                        (2 * sigma ** 2))
    return weights @ rows


@torch.no_grad()
def make_peaky(model, seed: int = 0) -> None:
    """Give the model's last layers smooth, positive weights and scale
    them so the outputs peak at about 1 (see the module docstring)."""
    gen = torch.Generator().manual_seed(seed)
    head = model.head
    conv = getattr(head, 'final_layer', None)
    if isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (5, 5):
        taps = torch.exp(-torch.arange(-2., 3.) ** 2 / 2.)
        mix = torch.rand(conv.weight.shape[:2], generator=gen)
        conv.weight.copy_(mix[..., None, None] * torch.outer(taps, taps))
        conv.bias.zero_()
    for name in ('mlp_head_x', 'mlp_head_y'):
        linear = getattr(head, name, None)
        if linear is not None:
            rows = torch.randn(linear.weight.shape, generator=gen)
            linear.weight.copy_(_smooth_rows(rows, 10.0))
            linear.bias.fill_(0.)
    # scale the final outputs (first output for tuples) to peak near 1
    w, h = head.decoder.input_size
    pixels = torch.randint(0, 256, (4, 3, h, w), generator=gen,
                           dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=pixels), False)
    out = model(data['inputs'], mode='tensor')
    out = out[0] if isinstance(out, tuple) else out
    peak = float(out.abs().amax())
    # the layers that produce the outputs: SimCC's MLPs, else the conv
    last = [getattr(head, n) for n in ('mlp_head_x', 'mlp_head_y')
            if hasattr(head, n)] or [conv]
    for layer in last:
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)) and \
                peak > 0:
            layer.weight.mul_(1.0 / peak)
    if hasattr(head, 'mlp_head_x'):
        head.mlp_head_x.bias.fill_(0.3)
        head.mlp_head_y.bias.fill_(0.3)


def build_tiny_topdown(head: str, flip_test: bool = False, seed: int = 0):
    """A tiny top-down model in eval mode (see the module docstring)."""
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    torch.manual_seed(seed)
    model = MODELS.build(tiny_topdown_cfg(head, flip_test))
    model.init_weights()
    model.eval()
    make_peaky(model, seed)
    return model


@pytest.fixture
def peaky():
    """``peaky(model, seed)``: :func:`make_peaky`."""
    return make_peaky


@pytest.fixture
def tiny_topdown():
    """``tiny_topdown(head, flip_test)`` builds a tiny model."""
    return build_tiny_topdown


@pytest.fixture
def random_image() -> np.ndarray:
    """A 160x200 BGR uint8 image of smooth random blobs."""
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (10, 8, 3), dtype=np.uint8)
    import cv2
    return cv2.resize(small, (160, 200), interpolation=cv2.INTER_LINEAR)
