"""PoseVisualizationHook: draw predictions during validation and test.

The hook lives in the engine layer and so never imports
``posekit.visualization``: it uses whatever visualizer the runner built
(``visualizer.type='PoseLocalVisualizer'`` in the config) through its
``set_dataset_meta`` / ``draw_datasample`` / ``add_image`` / ``show``
methods.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
from mmengine.dist import is_main_process
from mmengine.fileio import get as read_bytes
from mmengine.hooks import Hook

from posekit.registry import HOOKS

_NEEDED = ('set_dataset_meta', 'draw_datasample', 'add_image', 'show')


def read_rgb_image(path: str, backend_args: Optional[dict] = None
                   ) -> np.ndarray:
    """Read the image at ``path`` (any mmengine file backend) as an
    ``(H, W, 3)`` uint8 RGB array.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the bytes are not an image OpenCV can decode.
    """
    data = read_bytes(path, backend_args=backend_args)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'could not decode the image {path}')
    return img[..., ::-1]


def training_iter(runner) -> int:
    """The runner's training iteration, 0 when the train loop is not
    built (reading ``runner.iter`` would build it, dataloader and all)."""
    loop = getattr(runner, '_train_loop', ())
    if loop is None or isinstance(loop, dict):
        return 0
    return int(runner.iter)


@HOOKS.register_module()
class PoseVisualizationHook(Hook):
    """Draw every ``interval``-th predicted sample of validation and test
    on its original image (read from the sample's ``img_path``).

    Args:
        enable: draw at all (off by default).
        interval: draw one sample in every ``interval`` (counted over the
            samples of each validation or test run, starting with the
            first).
        kpt_thr: keypoints with a lower score are not drawn.
        show: display each drawing in a window (then nothing goes to the
            vis backends).
        wait_time: seconds each shown window stays (0: until a key).
        out_dir: write the drawings to
            ``<work_dir>/<timestamp>/<out_dir>`` (an absolute path is used
            as it is): test images as ``<image stem>_<n>.<ext>``,
            validation images under ``val_iter<training iter>/``. Without
            it (and without ``show``) they go to the visualizer's backends
            as ``val_<stem>_<n>``/``test_<stem>_<n>`` at the training
            iteration (``vis_data/vis_image/`` for LocalVisBackend).
        backend_args: file backend arguments for reading the images.

    Raises:
        ValueError: ``interval`` is not a positive integer.
    """

    def __init__(self, enable: bool = False, interval: int = 50,
                 kpt_thr: float = 0.3, show: bool = False,
                 wait_time: float = 0., out_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None):
        if isinstance(interval, bool) or not isinstance(interval, int) \
                or interval < 1:
            raise ValueError('PoseVisualizationHook: interval must be a '
                             f'positive integer, got {interval!r}')
        self.enable = enable
        self.interval = interval
        self.kpt_thr = kpt_thr
        self.show = show
        self.wait_time = wait_time
        self.out_dir = out_dir
        self.backend_args = backend_args
        self._seen = {'val': 0, 'test': 0}

    # -- runner callbacks ---------------------------------------------------
    def before_val(self, runner) -> None:
        self._seen['val'] = 0

    def before_test(self, runner) -> None:
        self._seen['test'] = 0

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        self._visit(runner, 'val', outputs)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        self._visit(runner, 'test', outputs)

    # -- drawing -----------------------------------------------------------
    def _visit(self, runner, phase: str, outputs: Optional[Sequence]
               ) -> None:
        if not self.enable or not outputs:
            return
        first = self._seen[phase]
        self._seen[phase] += len(outputs)
        if not is_main_process():
            return
        chosen = [i for i in range(len(outputs))
                  if (first + i) % self.interval == 0]
        if not chosen:
            return
        visualizer = self._visualizer(runner)
        visualizer.set_dataset_meta(self._dataset_meta(runner, phase))
        for i in chosen:
            self._draw(runner, visualizer, phase, outputs[i], first + i)

    @staticmethod
    def _visualizer(runner):
        visualizer = runner.visualizer
        missing = [m for m in _NEEDED if not hasattr(visualizer, m)]
        if missing:
            raise TypeError(
                'PoseVisualizationHook needs a pose visualizer; the '
                f'runner has {type(visualizer).__name__}, which lacks '
                f"{missing}. Set visualizer.type='PoseLocalVisualizer' in "
                'the config')
        return visualizer

    @staticmethod
    def _dataset_meta(runner, phase: str) -> Optional[dict]:
        evaluator = getattr(runner, f'{phase}_evaluator', None)
        meta = getattr(evaluator, 'dataset_meta', None)
        if meta:
            return meta
        model = getattr(runner.model, 'module', runner.model)
        return getattr(model, 'dataset_meta', None)

    def _target_dir(self, runner, phase: str) -> str:
        root = osp.join(runner.work_dir, runner.timestamp, self.out_dir)
        if phase == 'val':
            root = osp.join(root, f'val_iter{training_iter(runner)}')
        os.makedirs(root, exist_ok=True)
        return root

    def _draw(self, runner, visualizer, phase: str, sample,
              index: int) -> None:
        img_path = sample.metainfo.get('img_path')
        if img_path is None:
            raise KeyError(
                f'PoseVisualizationHook: {phase} sample {index} has no '
                "'img_path' in its metainfo; keep 'img_path' in "
                'PackPoseInputs(meta_keys=...) of the pipeline')
        image = read_rgb_image(img_path, self.backend_args)
        fields = sample.get('pred_fields')
        drawn = visualizer.draw_datasample(
            image, sample, draw_gt=False, draw_pred=True,
            draw_heatmap=fields is not None and 'heatmaps' in fields,
            draw_bbox=True, kpt_thr=self.kpt_thr)
        stem, ext = osp.splitext(osp.basename(img_path))
        if self.show:
            visualizer.show(drawn, win_name=osp.basename(img_path),
                            wait_time=self.wait_time)
        if self.out_dir is not None:
            path = osp.join(self._target_dir(runner, phase),
                            f'{stem}_{index}{ext or ".jpg"}')
            bgr = np.ascontiguousarray(drawn[..., ::-1])
            if not cv2.imwrite(path, bgr):
                raise OSError(f'PoseVisualizationHook could not write {path}')
        elif not self.show:
            visualizer.add_image(f'{phase}_{stem}_{index}', drawn,
                                 step=training_iter(runner))
