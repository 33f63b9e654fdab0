"""ONNX files run with onnxruntime against PyTorch: raw outputs, decoded
image-space keypoints (one export per head family), a dynamic batch, and
the errors for missing packages and bad exporter settings."""
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from posekit.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap
from posekit.export import (export_onnx, onnx_session, run_onnx,
                            verify_decode, verify_raw)
from posekit.export.coord_decoders import SimCCDecoder
from posekit.export.heatmap_decoders import (MSRAHeatmapDecoder,
                                             UDPHeatmapDecoder)

from .conftest import FLIP_INDICES

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

SHAPE = (2, 3, 64, 48)


def test_raw_export_matches_pytorch(tiny_topdown, tmp_path):
    model = tiny_topdown('integral', False)
    result = export_onnx(model, str(tmp_path / 'raw.onnx'), SHAPE)
    assert result.output_names == ['coords', 'heatmaps']
    assert result.exporter == 'torchscript'     # opset 17
    diffs = verify_raw(model, result.path, SHAPE, result.output_names)
    assert set(diffs) == {'coords', 'heatmaps'}
    assert max(diffs.values()) < 1e-4
    session = onnx_session(result.path)
    assert [i.shape for i in session.get_inputs()] == [list(SHAPE)]
    meta = session.get_modelmeta().custom_metadata_map
    assert meta['posekit_graph'] == 'raw'


# one export per head family; flip test on for some, off for others (the
# PyTorch graph is checked for every head with both in test_graphs.py)
@pytest.mark.parametrize('head,flip_test', [
    ('dark', True), ('udp', True), ('udp_combined', False),
    ('simcc_dark', False), ('rle', True), ('integral', False)])
def test_decode_export_matches_predict_path(tiny_topdown, random_image,
                                            tmp_path, head, flip_test):
    model = tiny_topdown(head, flip_test)
    result = export_onnx(model, str(tmp_path / f'{head}.onnx'),
                         (10, 3, 64, 48), with_decode=True,
                         flip_indices=FLIP_INDICES)
    assert result.input_names == ['input', 'bbox']
    assert result.output_names == ['keypoints', 'scores']
    diffs = verify_decode(model, result.path, result.info, random_image,
                          num_boxes=10)
    assert diffs['keypoints'] < 0.01          # image pixels
    assert diffs['scores'] < 1e-4


def test_dynamic_batch_with_the_dynamo_exporter(tiny_topdown, random_image,
                                                tmp_path):
    # the smallest decoding graph: torch.export takes seconds per graph
    model = tiny_topdown('msra', False)
    result = export_onnx(model, str(tmp_path / 'dyn.onnx'), (1, 3, 64, 48),
                         with_decode=True, dynamic_batch=True, opset=18)
    assert result.exporter == 'dynamo'
    session = onnx_session(result.path)
    batch_axis = session.get_inputs()[0].shape[0]
    assert isinstance(batch_axis, str)          # symbolic, not a number
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta['input_size'], meta['bbox_padding'], meta['flip_test']) \
        == ('48,64', '1.25', 'false')
    one = verify_decode(model, result.path, result.info, random_image,
                        num_boxes=3, batch_size=1, seed=1)
    five = verify_decode(model, result.path, result.info, random_image,
                         num_boxes=5, seed=2)
    assert one['keypoints'] < 0.01 and five['keypoints'] < 0.01
    assert not (tmp_path / 'dyn.onnx.data').exists()   # weights inside


class _EdgeDecoders(nn.Module):
    """Decoders whose arg-max can be -1 (no positive value), where the
    numpy codecs read through negative flat indices."""

    def __init__(self):
        super().__init__()
        size = ((48, 64), (12, 16))
        self.msra = MSRAHeatmapDecoder(MSRAHeatmap(*size, sigma=2))
        self.udp = UDPHeatmapDecoder(UDPHeatmap(*size))
        self.combined = UDPHeatmapDecoder(UDPHeatmap(
            *size, heatmap_type='combined', blur_kernel_size=3))
        self.simcc = SimCCDecoder(SimCCLabel((48, 64), sigma=(4.9, 5.66),
                                             use_dark=True))

    def forward(self, maps, maps3, x, y):
        return (*self.msra(maps), *self.udp(maps), *self.combined(maps3),
                *self.simcc(x, y))


def test_decoders_in_onnx_read_missing_keypoints_like_numpy(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :12]
    centres = rng.uniform(2, 10, (2, 3, 2, 1, 1))
    maps = np.exp(-((xx - centres[:, :, 0]) ** 2 +
                    (yy - centres[:, :, 1]) ** 2) / 8).astype(np.float32)
    maps[0, 0] = -1        # channel 0 at -1: DARK-UDP wraps to the end
    maps[1, 2] = -1
    maps3 = np.concatenate([maps, rng.uniform(-1, 1, (2, 6, 16, 12))],
                           1).astype(np.float32)[:, [0, 3, 4, 1, 5, 6, 2,
                                                     7, 8]]
    x, y = (np.exp(-(np.arange(n) - rng.uniform(0, n, (2, 3, 1))) ** 2 /
                   50).astype(np.float32) for n in (96, 128))
    x[0, 1] = -1
    inputs = dict(maps=maps, maps3=maps3, x=x, y=y)
    path = str(tmp_path / 'edge.onnx')
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')   # the tracer's notes on shapes
        torch.onnx.export(_EdgeDecoders(), tuple(
            torch.from_numpy(v) for v in inputs.values()), path,
            input_names=list(inputs), opset_version=17, dynamo=False)
    got = list(run_onnx(onnx_session(path), **inputs).values())
    refs = [MSRAHeatmap((48, 64), (12, 16), sigma=2).batch_decode(maps),
            UDPHeatmap((48, 64), (12, 16)).batch_decode(maps),
            UDPHeatmap((48, 64), (12, 16), heatmap_type='combined',
                       blur_kernel_size=3).batch_decode(maps3),
            SimCCLabel((48, 64), sigma=(4.9, 5.66),
                       use_dark=True).batch_decode((x, y))]
    for i, (kpts, scores) in enumerate(refs):
        np.testing.assert_allclose(got[2 * i], np.concatenate(kpts),
                                   rtol=0, atol=1e-3)
        np.testing.assert_allclose(got[2 * i + 1], np.concatenate(scores),
                                   rtol=1e-5, atol=1e-6)
    # the missing keypoints were really decoded from -1
    assert got[0][0, 0].tolist() == [-4.0, -4.0]


def test_dynamo_below_opset_18_is_refused(tiny_topdown, tmp_path):
    model = tiny_topdown('msra', False)
    with pytest.raises(ValueError, match='dynamo exporter writes opset 18 '
                       'or newer, got opset 17; use --opset 18 or '
                       '--exporter torchscript'):
        export_onnx(model, str(tmp_path / 'm.onnx'), SHAPE,
                    exporter='dynamo', opset=17)
    with pytest.raises(ValueError, match="exporter must be one of"):
        export_onnx(model, str(tmp_path / 'm.onnx'), SHAPE, exporter='tf')


def test_missing_simplifier_names_the_pip_command(tiny_topdown, tmp_path,
                                                  monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxslim', None)
    monkeypatch.setitem(sys.modules, 'onnxsim', None)
    model = tiny_topdown('msra', False)
    path = tmp_path / 'm.onnx'
    with pytest.raises(ImportError, match='--simplify needs onnxslim or '
                       'onnx-simplifier.*pip install onnxslim'):
        export_onnx(model, str(path), SHAPE, simplify=True)
    assert not path.exists()       # refused before exporting


def test_missing_onnxruntime_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match="needs the 'onnxruntime' package"
                       r'.*pip install onnxruntime'):
        onnx_session('model.onnx')
