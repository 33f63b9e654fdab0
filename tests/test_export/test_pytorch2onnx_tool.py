"""tools/deployment/pytorch2onnx.py end to end on the (shrunk) quickstart
config, and the onnxruntime-only example of docs/deployment.md run on its
output against posekit's PyTorch predictions."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posekit.apis import init_model
from posekit.export import UnsupportedModelError, topdown_export_info
from posekit.export.verify import predict_reference

from .conftest import make_peaky

pytest.importorskip('onnxruntime')

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / 'configs/quickstart/'
                 'td-hm_res18-small_synthetic-128x96.py')
# a narrow quickstart model whose final 5x5 layer make_peaky smooths
TINY = ['model.backbone.base_channels=8', 'model.head.in_channels=64',
        'model.head.deconv_out_channels=(8,8,8)',
        'model.head.final_layer.kernel_size=5',
        'model.head.final_layer.padding=2']
COCO_IMAGE = '000000040083.jpg'


def load_script(name: str):
    path = REPO / 'tools' / 'deployment' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'_deploy_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_and_boxes(folder: Path, shared: Path):
    """The COCO sample image with its person boxes (xyxy) when the shared
    data is there, else a generated image and boxes."""
    ann = shared / 'coco' / 'test_coco.json'
    if ann.is_file():
        data = json.loads(ann.read_text())
        image_id = next(i['id'] for i in data['images']
                        if i['file_name'] == COCO_IMAGE)
        boxes = np.float32([a['bbox'] for a in data['annotations']
                            if a['image_id'] == image_id])
        boxes[:, 2:] += boxes[:, :2]
        return str(shared / 'coco' / COCO_IMAGE), boxes
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8),
                       (320, 240))
    path = folder / 'generated.png'
    cv2.imwrite(str(path), image)
    return str(path), np.float32([[20, 30, 120, 200], [150, 40, 300, 230]])


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """Run the tool once: a peaked tiny quickstart checkpoint exported with
    decoding and a dynamic batch, checked on the sample image."""
    folder = tmp_path_factory.mktemp('export')
    model = init_model(QUICKSTART, cfg_options=TINY)
    make_peaky(model)
    checkpoint = folder / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    shared = os.environ.get('POSEKIT_SHARED_DATA') or \
        REPO.parent / 'shared' / 'data'
    image, boxes = image_and_boxes(folder, Path(shared))
    onnx_file = folder / 'tiny.onnx'
    diffs = load_script('pytorch2onnx').main([
        QUICKSTART, str(checkpoint), '--shape', '1', '3', '128', '96',
        '--output-file', str(onnx_file), '--with-decode', '--dynamic-batch',
        '--verify-image', image, '--cfg-options', *TINY])
    return dict(diffs=diffs, onnx=str(onnx_file), checkpoint=str(checkpoint),
                image=image, boxes=boxes)


def test_tool_exports_and_verifies_against_pytorch(exported):
    assert set(exported['diffs']) == {'keypoints', 'scores'}
    assert exported['diffs']['keypoints'] < 0.01     # image pixels
    assert exported['diffs']['scores'] < 1e-4


def test_onnxruntime_example_matches_posekit_predictions(exported, capsys):
    example = load_script('onnx_infer_example')
    coords = [str(v) for v in exported['boxes'].reshape(-1)]
    keypoints, scores = example.main([exported['onnx'], exported['image'],
                                      *coords])
    num = len(exported['boxes'])
    assert keypoints.shape == (num, 17, 2) and scores.shape == (num, 17)
    # posekit in PyTorch: the config's test pipeline crops, test_step
    model = init_model(QUICKSTART, exported['checkpoint'], cfg_options=TINY)
    info = topdown_export_info(model.cfg, (96, 128), model)
    want_k, want_s, _ = predict_reference(
        model, cv2.imread(exported['image']), exported['boxes'], info)
    assert np.abs(keypoints - want_k).max() < 0.01
    np.testing.assert_allclose(scores, want_s, rtol=1e-4, atol=1e-6)
    printed = capsys.readouterr().out.splitlines()
    lines = [line for line in printed if line.startswith('box ')]
    assert len(lines) == num and lines[0].count('(') == 17


def test_docs_show_the_tested_example():
    script = (REPO / 'tools/deployment/onnx_infer_example.py').read_text()
    code = script.split('# --- example start ---\n')[1].split(
        '# --- example end ---')[0].strip()
    docs = (REPO / 'docs/deployment.md').read_text()
    blocks = [b.split('\n', 1)[1].strip() for b in docs.split('```')[1::2]
              if b.startswith('python\n')]
    assert code in blocks


def test_tool_refuses_bottomup_with_decode(tmp_path):
    config = str(REPO / 'configs/quickstart/'
                 'ae_res18-small_synthetic-256x192.py')
    with pytest.raises(UnsupportedModelError,
                       match='top-down models only, got '
                       'BottomupPoseEstimator; supported: '):
        load_script('pytorch2onnx').main([
            config, 'none', '--shape', '1', '3', '128', '128',
            '--output-file', str(tmp_path / 'ae.onnx'), '--with-decode'])
    assert not (tmp_path / 'ae.onnx').exists()


def test_tool_without_onnxruntime_stops_before_exporting(tmp_path,
                                                        monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match=r'pip install onnxruntime'):
        load_script('pytorch2onnx').main([
            QUICKSTART, 'none', '--shape', '1', '3', '128', '96',
            '--output-file', str(tmp_path / 'm.onnx')])
    assert not (tmp_path / 'm.onnx').exists()
