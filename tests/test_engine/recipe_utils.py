"""Shared pieces of the runtime-recipe tests (``test_recipes_*.py``).

The recipes live in ``docs/customize_runtime.md``. A fenced ``python``
block right after ``<!-- recipe: NAME -->`` is a config snippet; one right
after ``<!-- module: NAME.py -->`` is a user's own module. The tests read
both from the doc, so doc and tests cannot drift: :func:`build` writes a
config that inherits posekit's real default runtime
(``configs/_base_/default_runtime.py``) plus a tiny top-down model and
dataset (:data:`BASE`), appends the snippet as a user would, builds a
PoseRunner and the test trains a few iterations.

Every name a test asks for with ``recipe('...')`` / ``user_module('...')``
is collected by ``test_recipes_doc.py``, which fails when the doc holds a
block no test uses.
"""
import importlib.util
import os.path as osp
import re
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.structures import InstanceData, PixelData
from torch.utils.data import Dataset

from posekit.registry import DATASETS, METRICS
from posekit.structures import PoseDataSample

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'customize_runtime.md'
DEFAULT_RUNTIME = REPO / 'configs' / '_base_' / 'default_runtime.py'

_BLOCK = re.compile(
    r'<!-- (recipe|module): ([\w.-]+) -->\s*\n```python\n(.*?)\n```',
    re.DOTALL)

# A tiny top-down model on 32x32 crops: ResNet-18 at 4 base channels with
# stride-1 stages (8x8 features, 32 channels), a 1x1 heatmap head for 3
# keypoints; 4 training samples in batches of 2 (2 iterations per epoch).
BASE = f'''
_base_ = [{str(DEFAULT_RUNTIME)!r}]
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
randomness = dict(seed=0)
codec = dict(type='MSRAHeatmap', input_size=(32, 32), heatmap_size=(8, 8),
             sigma=1)
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[128.0] * 3,
                           std=[64.0] * 3),
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=4,
                  strides=(1, 1, 1, 1)),
    head=dict(type='HeatmapHead', in_channels=32, out_channels=3,
              deconv_out_channels=None,
              loss=dict(type='KeypointMSELoss', use_target_weight=True),
              decoder=codec),
    test_cfg=dict(flip_test=False))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
_loader = dict(batch_size=2, num_workers=0, persistent_workers=False,
               sampler=dict(type='DefaultSampler', shuffle=False))
train_dataloader = dict(dataset=dict(type='RecipeToyDataset', num_samples=4),
                        **_loader)
val_dataloader = dict(dataset=dict(type='RecipeToyDataset', num_samples=2,
                                   test_mode=True), **_loader)
test_dataloader = val_dataloader
val_evaluator = dict(type='RecipeToyMetric')
test_evaluator = dict(type='RecipeToyMetric')
'''


def doc_blocks() -> Dict[str, str]:
    """``{'recipe:NAME': text, 'module:NAME.py': text}`` from the doc."""
    blocks = {}
    for kind, name, text in _BLOCK.findall(DOC.read_text()):
        key = f'{kind}:{name}'
        assert key not in blocks, f'{DOC.name} names {key} twice'
        blocks[key] = text + '\n'
    return blocks


def recipe(name: str) -> str:
    """The config snippet tagged ``<!-- recipe: name -->`` in the doc."""
    blocks = doc_blocks()
    assert f'recipe:{name}' in blocks, f'no recipe {name!r} in {DOC}'
    return blocks[f'recipe:{name}']


def user_module(name: str, folder: Path) -> Path:
    """Write the doc's module block ``name`` (e.g. ``my_hooks.py``) into
    ``folder`` (put ``folder`` on sys.path to import it)."""
    blocks = doc_blocks()
    assert f'module:{name}' in blocks, f'no module {name!r} in {DOC}'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(blocks[f'module:{name}'])
    return path


def write_config(tmp_path: Path, *snippets: str) -> Path:
    """``tmp_path/recipe.py``: BASE + ``snippets`` (config text, in
    order), as a user's config file inheriting BASE."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / 'base.py').write_text(BASE)
    path = tmp_path / 'recipe.py'
    path.write_text("_base_ = ['./base.py']\n" + '\n'.join(snippets))
    return path


def build(tmp_path: Path, *snippets: str, options: Optional[dict] = None):
    """A PoseRunner for BASE + ``snippets`` (see :func:`write_config`),
    with ``options`` merged last (like --cfg-options), working in
    ``tmp_path/work``."""
    from posekit.apis.training import build_runner
    cfg = Config.fromfile(str(write_config(tmp_path, *snippets)))
    if options:
        cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    # a unique name: mmengine shares loggers/visualizers by name
    cfg.experiment_name = f'recipe_{uuid.uuid4().hex[:8]}'
    with one_thread():
        return build_runner(cfg)


def run_train_tool(argv: List[str]):
    """``tools/train.py`` ``main(argv)`` on one thread, with a unique
    experiment name; returns its runner."""
    spec = importlib.util.spec_from_file_location(
        '_recipe_train_tool', REPO / 'tools' / 'train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    if '--cfg-options' not in argv:
        argv = argv + ['--cfg-options']
    argv = argv + [f'experiment_name=recipe_{uuid.uuid4().hex[:8]}']
    with one_thread():
        return tool.main(argv)


def log_text(runner) -> str:
    """The run's text log."""
    return Path(osp.join(runner.log_dir, f'{runner.timestamp}.log')
                ).read_text()


class StopRun(Exception):
    """Raised by :class:`Recorder` to end a run after ``stop_after``
    iterations (mmengine's epoch loop cannot stop mid-epoch)."""


class Recorder(Hook):
    """Records what the runner really did, per training iteration: the
    learning rate / momentum / weight decay of each param group the
    optimizer steps with, the total gradient norm it sees (after any
    clipping), with ``params=True`` a copy of the parameters at the start
    (``initial``, and ``initial_buffers``) and after each iteration, and
    every validation/test result with the epoch."""

    priority = 'LOWEST'

    def __init__(self, stop_after: Optional[int] = None,
                 params: bool = False):
        self.stop_after = stop_after
        self.keep_params = params
        self.lrs: List[List[float]] = []
        self.momenta: List[List[float]] = []
        self.weight_decays: List[List[float]] = []
        self.step_grad_norms: List[float] = []
        self.params: List[Dict[str, torch.Tensor]] = []
        self.evals: List[tuple] = []

    def before_train(self, runner) -> None:
        if self.keep_params:  # weights and BN statistics at the start
            self.initial = {k: v.detach().clone()
                            for k, v in runner.model.named_parameters()}
            self.initial_buffers = {k: v.detach().clone()
                                    for k, v in runner.model.named_buffers()}
        optimizer = runner.optim_wrapper.optimizer

        def record_grad_norm(opt, args, kwargs):
            grads = [p.grad.detach().flatten() for g in opt.param_groups
                     for p in g['params'] if p.grad is not None]
            self.step_grad_norms.append(
                float(torch.cat(grads).norm()) if grads else 0.0)

        self._handle = optimizer.register_step_pre_hook(record_grad_norm)

    def after_train(self, runner) -> None:
        self._handle.remove()

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        groups = runner.optim_wrapper.optimizer.param_groups
        self.lrs.append([g['lr'] for g in groups])
        self.momenta.append([_momentum(g) for g in groups])
        self.weight_decays.append([g.get('weight_decay') for g in groups])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.keep_params:
            model = runner.model
            self.params.append({k: v.detach().clone()
                                for k, v in model.named_parameters()})
        if self.stop_after is not None and runner.iter + 1 >= self.stop_after:
            raise StopRun

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.evals.append(('val', runner.epoch, dict(metrics or {})))

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.evals.append(('test', runner.epoch, dict(metrics or {})))


@contextmanager
def one_thread():
    """Run torch on one thread: these models are tiny, and on a shared
    machine two threads mostly wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(runner, recorder: Optional[Recorder] = None) -> Recorder:
    """Register ``recorder`` (a new one by default) and train on one
    thread; a :class:`StopRun` from it ends the run quietly."""
    recorder = recorder or Recorder()
    runner.register_hook(recorder)
    with one_thread():
        try:
            runner.train()
        except StopRun:
            pass
    return recorder


def _momentum(group: dict) -> Optional[float]:
    return group['betas'][0] if 'betas' in group else group.get('momentum')


def fast_forward(runner, start: int, stop: int) -> tuple:
    """Learning rates and momenta of param group 0 at iterations
    ``start..stop-1`` (0-based; ``start`` = iterations already trained),
    stepping the runner's own schedulers through its ParamSchedulerHook
    as the training loop would, without training."""
    from mmengine.hooks import ParamSchedulerHook
    hook = next(h for h in runner.hooks if isinstance(h, ParamSchedulerHook))
    per_epoch = len(runner.train_dataloader)
    group = runner.optim_wrapper.optimizer.param_groups[0]
    lrs, momenta = [], []
    for it in range(start, stop):
        lrs.append(group['lr'])
        momenta.append(_momentum(group))
        hook.after_train_iter(runner, batch_idx=it % per_epoch)
        if (it + 1) % per_epoch == 0:
            hook.after_train_epoch(runner)
    return lrs, momenta


def param_names_of_groups(runner) -> List[List[str]]:
    """The parameter names in each optimizer param group."""
    names = {id(p): n for n, p in runner.model.named_parameters()}
    return [[names[id(p)] for p in g['params']]
            for g in runner.optim_wrapper.optimizer.param_groups]


def syspath(folder: Path) -> None:
    """Put ``folder`` first on sys.path (idempotent)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@DATASETS.register_module(force=True)
class RecipeToyDataset(Dataset):
    """``num_samples`` packed top-down samples, generated on the fly from
    ``seed`` and the index: a random uint8 ``(3, 32, 32)`` crop, random
    ``(K, 8, 8)`` target heatmaps with unit keypoint weights, and the
    metainfo the estimator's predict step needs."""

    def __init__(self, num_samples: int = 4, num_keypoints: int = 3,
                 input_size: Sequence[int] = (32, 32),
                 heatmap_size: Sequence[int] = (8, 8), seed: int = 0,
                 test_mode: bool = False, **kwargs):
        self.num_samples = num_samples
        self.num_keypoints = num_keypoints
        self.input_size = tuple(input_size)
        self.heatmap_size = tuple(heatmap_size)
        self.seed = seed
        self.test_mode = test_mode

    @property
    def metainfo(self) -> dict:
        return dict(dataset_name='recipe_toy',
                    num_keypoints=self.num_keypoints)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, index])
        (w, h), (hw, hh) = self.input_size, self.heatmap_size
        k = self.num_keypoints
        image = rng.integers(0, 256, (3, h, w), dtype=np.uint8)
        sample = PoseDataSample(metainfo=dict(
            id=index, img_id=index, input_size=np.array([w, h]),
            input_center=np.array([w / 2, h / 2], dtype=np.float32),
            input_scale=np.array([w, h], dtype=np.float32)))
        sample.gt_fields = PixelData(heatmaps=torch.from_numpy(
            rng.random((k, hh, hw), dtype=np.float32)))
        sample.gt_instance_labels = InstanceData(
            keypoint_weights=torch.ones(1, k))
        sample.gt_instances = InstanceData(
            bboxes=np.array([[0, 0, w, h]], dtype=np.float32),
            bbox_scores=np.ones(1, dtype=np.float32))
        return dict(inputs=torch.from_numpy(image), data_samples=sample)


@METRICS.register_module(force=True)
class RecipeToyMetric(BaseMetric):
    """Counts the predictions and reports ``coco/AP`` from ``ap_values``,
    one value per evaluation in turn (the last one repeats), so tests
    know which epoch is best."""

    default_prefix = 'coco'

    def __init__(self, ap_values: Sequence[float] = (0.5, ), **kwargs):
        super().__init__(**kwargs)
        self.ap_values = list(ap_values)
        self.calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(
            len(s['pred_instances']['keypoints']) for s in data_samples)

    def compute_metrics(self, results: list) -> dict:
        ap = self.ap_values[min(self.calls, len(self.ap_values) - 1)]
        self.calls += 1
        return dict(AP=ap, num_predictions=float(sum(results)))
