import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmengine.visualization import Visualizer

from posekit.engine.hooks import PoseVisualizationHook
from posekit.registry import HOOKS
from posekit.structures import PoseDataSample
from posekit.visualization import PoseLocalVisualizer

RED = (255, 0, 0)


def _tools_conftest():
    """tests/test_tools/conftest.py as a module (its quickstart helpers)."""
    path = Path(__file__).resolve().parents[1] / 'test_tools' / 'conftest.py'
    spec = importlib.util.spec_from_file_location('_tools_conftest_hook', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runner(tmp_path, visualizer=None):
    if visualizer is None:
        visualizer = PoseLocalVisualizer(
            name=f'hook_test_{id(tmp_path)}', kpt_color=RED, radius=2,
            bbox_color=(0, 0, 255), vis_backends=[dict(
                type='LocalVisBackend')], save_dir=str(tmp_path / 'logs'))
    return SimpleNamespace(
        visualizer=visualizer, work_dir=str(tmp_path), timestamp='ts',
        iter=12, model=SimpleNamespace(dataset_meta=None),
        val_evaluator=SimpleNamespace(dataset_meta=None),
        test_evaluator=SimpleNamespace(dataset_meta=None))


def _samples(tmp_path, n, with_path=True):
    img_path = tmp_path / 'frame.png'
    if not img_path.exists():
        cv2.imwrite(str(img_path), np.zeros((30, 50, 3), np.uint8))
    out = []
    for i in range(n):
        sample = PoseDataSample(
            metainfo=dict(img_path=str(img_path)) if with_path else {})
        sample.pred_instances = InstanceData(
            keypoints=np.array([[[10. + i, 15.]]], np.float32),
            keypoint_scores=np.ones((1, 1), np.float32))
        out.append(sample)
    return out


def test_registered_off_by_default_and_validates_interval():
    hook = HOOKS.build(dict(type='PoseVisualizationHook'))
    assert (hook.enable, hook.interval, hook.kpt_thr) == (False, 50, 0.3)
    with pytest.raises(ValueError, match='interval must be a positive'):
        PoseVisualizationHook(interval=0)


def test_disabled_hook_draws_nothing(tmp_path):
    runner = _runner(tmp_path)
    hook = PoseVisualizationHook(out_dir='vis')
    hook.after_test_iter(runner, 0, None, _samples(tmp_path, 2))
    assert not (tmp_path / 'ts').exists()


def test_every_interval_th_test_sample_goes_to_out_dir(tmp_path):
    runner = _runner(tmp_path)
    hook = PoseVisualizationHook(enable=True, interval=2, out_dir='vis')
    hook.before_test(runner)
    samples = _samples(tmp_path, 5)
    hook.after_test_iter(runner, 0, None, samples[:3])
    hook.after_test_iter(runner, 1, None, samples[3:])
    out = tmp_path / 'ts' / 'vis'
    assert sorted(p.name for p in out.iterdir()) == [
        'frame_0.png', 'frame_2.png', 'frame_4.png']
    drawn = cv2.imread(str(out / 'frame_4.png'))[..., ::-1]
    assert drawn.shape == (30, 50, 3)
    assert tuple(drawn[15, 14]) == RED  # sample 4's keypoint at x = 14
    assert tuple(drawn[15, 10]) == (0, 0, 0)


def test_validation_goes_to_the_backends_without_out_dir(tmp_path):
    runner = _runner(tmp_path)
    hook = PoseVisualizationHook(enable=True, interval=3)
    hook.before_val(runner)
    hook.after_val_iter(runner, 0, None, _samples(tmp_path, 4))
    stored = sorted(p.name for p in (tmp_path / 'logs' / 'vis_data' /
                                     'vis_image').iterdir())
    # samples 0 and 3, at the training iteration 12
    assert stored == ['val_frame_0_12.png', 'val_frame_3_12.png']


def test_missing_img_path_and_plain_visualizer_are_explained(tmp_path):
    hook = PoseVisualizationHook(enable=True, interval=1)
    with pytest.raises(KeyError, match="img_path.*PackPoseInputs"):
        hook.after_test_iter(_runner(tmp_path), 0, None,
                             _samples(tmp_path, 1, with_path=False))
    plain = _runner(tmp_path, Visualizer(name=f'plain_{id(tmp_path)}'))
    with pytest.raises(TypeError, match="PoseLocalVisualizer"):
        hook.after_test_iter(plain, 0, None, _samples(tmp_path, 1))


def test_quickstart_test_run_writes_drawn_images(tmp_path, monkeypatch):
    """The runtime's PoseLocalVisualizer plus the hook switched on by
    cfg-options: val and test runs of a random-init tiny model write one
    drawing per sample, and the json scalars are still written."""
    from posekit.apis.training import build_runner, load_config
    tools = _tools_conftest()
    monkeypatch.chdir(tmp_path)
    opts = tools.tiny_quickstart_options(tmp_path / 'data', epochs=1) + [
        'default_hooks.visualization.enable=True',
        'default_hooks.visualization.interval=1',
        'default_hooks.visualization.kpt_thr=0.0',
        'default_hooks.visualization.out_dir=vis']
    cfg = load_config(str(tools.QUICKSTART), opts)
    cfg.work_dir = str(tmp_path / 'work')
    # save_best needs the train loop's setup; this run only validates
    cfg.default_hooks.checkpoint.save_best = None
    runner = build_runner(cfg)
    runner.val()
    runner.test()
    run_dir = next((tmp_path / 'work').glob('2*'))
    num = len(runner.test_dataloader.dataset)
    tested = sorted((run_dir / 'vis').glob('*.jpg'))
    validated = sorted((run_dir / 'vis' / 'val_iter0').glob('*.jpg'))
    assert len(tested) == len(validated) == num == 5
    assert cv2.imread(str(tested[0])).shape == (96, 96, 3)
    scalars = json.loads((run_dir / 'vis_data' / 'scalars.json')
                         .read_text().splitlines()[0])
    assert 'coco/AP' in scalars
