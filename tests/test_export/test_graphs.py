"""The export graphs in PyTorch (before any ONNX): pre-processing equal to
the data preprocessor, decoding equal to posekit's predict path, and the
errors for what cannot be exported."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from posekit.export import (TopdownDecodeModel, UnsupportedModelError,
                            topdown_export_info)
from posekit.export.config_info import TopdownExportInfo
from posekit.export.graphs import InputNormalizer, RawExportModel
from posekit.export.verify import predict_reference, random_boxes
from posekit.registry import MODELS

from .conftest import FLIP_INDICES, HEADS, INPUT_SIZE, tiny_topdown_cfg

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/td-hm_res18-small_synthetic-128x96.py'
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


@pytest.mark.parametrize('divisor', [1, 32])
def test_normalizer_equals_the_data_preprocessor(divisor):
    pre = MODELS.build(dict(type='PoseDataPreprocessor',
                            mean=[123.675, 116.28, 103.53],
                            std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                            pad_size_divisor=divisor, pad_value=7))
    pixels = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8)
    want = pre(dict(inputs=pixels), False)['inputs']
    got = InputNormalizer(pre)(pixels.float())
    assert got.shape == want.shape == (2, 3, 64, 48 if divisor == 1 else 64)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize('flip_test', [False, True])
@pytest.mark.parametrize('head', HEADS)
def test_decode_graph_matches_the_predict_path(tiny_topdown, random_image,
                                               head, flip_test):
    model = tiny_topdown(head, flip_test)
    info = TopdownExportInfo(input_size=INPUT_SIZE,
                             flip_indices=FLIP_INDICES)
    boxes = random_boxes(random_image.shape, 10, np.random.default_rng(0))
    want_k, want_s, crops = predict_reference(model, random_image, boxes,
                                              info)
    graph = TopdownDecodeModel(model, INPUT_SIZE, 1.25, FLIP_INDICES)
    with torch.no_grad():
        got_k, got_s = graph(torch.from_numpy(crops), torch.from_numpy(boxes))
    assert got_k.shape == (10, 5, 2) and got_s.shape == (10, 5)
    assert np.abs(got_k.numpy() - want_k).max() < 0.01     # image pixels
    np.testing.assert_allclose(got_s.numpy(), want_s, rtol=1e-4, atol=1e-6)
    # the keypoints really are in image space: they follow the boxes
    assert np.ptp(want_k[..., 0]) > 20


def test_decode_graph_keeps_output_keypoint_indices(tiny_topdown,
                                                    random_image):
    model = tiny_topdown('msra', False)
    full = TopdownDecodeModel(model, INPUT_SIZE)
    model.test_cfg['output_keypoint_indices'] = [4, 1]
    kept = TopdownDecodeModel(model, INPUT_SIZE)
    crops = torch.rand(3, 3, 64, 48) * 255
    boxes = torch.tensor([[10., 20., 60., 120.]]).repeat(3, 1)
    with torch.no_grad():
        (k_all, s_all), (k_kept, s_kept) = full(crops, boxes), kept(crops,
                                                                    boxes)
    assert k_kept.shape == (3, 2, 2)
    torch.testing.assert_close(k_kept, k_all[:, [4, 1]])
    torch.testing.assert_close(s_kept, s_all[:, [4, 1]])


def test_auxiliary_heads_are_not_run():
    cfg = tiny_topdown_cfg('msra', True)
    cfg['auxiliary_head'] = dict(type='_TestExportAuxHead')
    model = MODELS.build(cfg).eval()
    assert model.with_auxiliary_head      # built, but must not be called
    pixels = torch.rand(2, 3, 64, 48) * 255
    boxes = torch.tensor([[0., 0., 40., 80.], [5., 5., 30., 30.]])
    with torch.no_grad():
        keypoints, _ = TopdownDecodeModel(model, INPUT_SIZE, 1.25,
                                          FLIP_INDICES)(pixels, boxes)
        heatmaps, = RawExportModel(model)(pixels)
    assert keypoints.shape == (2, 5, 2)
    assert heatmaps.shape == (2, 5, 16, 12)


def test_flip_test_without_flip_indices_is_an_error(tiny_topdown):
    model = tiny_topdown('msra', True)
    with pytest.raises(ValueError, match='flip_test is True but the flip '
                       'indices are unknown'):
        TopdownDecodeModel(model, INPUT_SIZE)


def test_bottomup_model_is_refused_with_what_is_supported():
    cfg = Config.fromfile(str(REPO / 'configs/quickstart/'
                              'ae_res18-small_synthetic-256x192.py'))
    model = MODELS.build(cfg.model)
    with pytest.raises(UnsupportedModelError) as err:
        TopdownDecodeModel(model, (256, 256))
    message = str(err.value)
    assert 'top-down models only, got BottomupPoseEstimator' in message
    assert 'HeatmapHead + MSRAHeatmap' in message
    assert 'without --with-decode' in message
    # the raw network can still be exported
    raw = RawExportModel(model.eval())
    with torch.no_grad():
        outputs = raw(torch.rand(1, 3, 64, 64) * 255)
    assert len(outputs) >= 1 and outputs[0].shape[0] == 1


def test_unsupported_codec_is_refused():
    cfg = tiny_topdown_cfg('msra', False)
    cfg['head']['decoder'] = dict(type='RegressionLabel',
                                  input_size=INPUT_SIZE)
    model = MODELS.build(cfg)
    with pytest.raises(UnsupportedModelError,
                       match='cannot decode HeatmapHead with model.head.'
                       'decoder of type RegressionLabel; supported:'):
        TopdownDecodeModel(model, INPUT_SIZE)


def test_export_info_from_the_quickstart_config():
    cfg = Config.fromfile(str(QUICKSTART))
    info = topdown_export_info(cfg, (96, 128))
    assert info.input_size == (96, 128)
    assert info.bbox_padding == 1.25 and info.use_udp is False
    assert info.flip_indices == COCO_FLIP
    # padding and UDP as written in the test pipeline
    cfg = copy.deepcopy(cfg)
    pipeline = cfg.test_dataloader.dataset.pipeline
    pipeline[1]['padding'] = 1.5
    pipeline[2]['use_udp'] = True
    info = topdown_export_info(cfg, (96, 128))
    assert (info.bbox_padding, info.use_udp) == (1.5, True)


def test_export_info_rejects_a_shape_that_is_not_the_crop():
    cfg = Config.fromfile(str(QUICKSTART))
    with pytest.raises(ValueError, match=r'\(w, h\) = \(192, 256\) but the '
                       r"config's test_dataloader.dataset.pipeline "
                       r'TopdownAffine.input_size is \(96, 128\); export '
                       r'with --shape N 3 128 96'):
        topdown_export_info(cfg, (192, 256))
