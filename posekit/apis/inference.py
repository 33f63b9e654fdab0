"""Inference on images with a model from :func:`init_model`: top-down
(one person box at a time, batched) and bottom-up (whole image).

Both run the model's own test pipeline
(``model.cfg.test_dataloader.dataset.pipeline``) and ``model.test_step``
(data preprocessor included), so a prediction equals the one the
validation loop makes for the same image and box.
"""
import copy
import os
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from posekit.structures import PoseDataSample, merge_data_samples
from .model_init import init_model

__all__ = ['init_model', 'inference_topdown', 'inference_bottomup',
           'merge_data_samples', 'build_test_pipeline']

ImageLike = Union[str, Path, np.ndarray]
_BBOX_FORMATS = ('xyxy', 'xywh')


def build_test_pipeline(model: nn.Module) -> List[Callable[[dict], Any]]:
    """The transforms of ``model.cfg.test_dataloader.dataset.pipeline``
    (else ``val_dataloader``'s), built with posekit's TRANSFORMS.

    Raises:
        AttributeError: ``model`` has no ``cfg`` (build it with
            :func:`init_model`).
        KeyError: the config names no test pipeline.
    """
    from posekit.datasets.datasets.base.build_pipeline import build_pipeline
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise AttributeError('the model has no `cfg`; build it with '
                             'posekit.apis.init_model(config, checkpoint)')
    for loader in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        if dataset.get('pipeline'):
            return build_pipeline(dataset['pipeline'])
    raise KeyError('the model config has no test_dataloader.dataset.'
                   'pipeline (nor val_dataloader.dataset.pipeline); '
                   'inference runs that pipeline on each input')


def pipeline_meta(model: nn.Module) -> dict:
    """The dataset meta fields the transforms read (``flip_indices`` ...),
    from ``model.dataset_meta``, as the dataset adds them to each sample:
    fresh copies, so that a sample (whose metainfo keeps them) never
    shares them with the model or with another sample."""
    from posekit.datasets.datasets.base.pipeline_meta import \
        PIPELINE_META_KEYS
    meta = getattr(model, 'dataset_meta', None) or {}
    return copy.deepcopy({k: meta[k] for k in PIPELINE_META_KEYS
                          if k in meta})


def run_pipeline(pipeline: Sequence[Callable[[dict], Any]],
                 info: dict) -> dict:
    """Apply the transforms to ``info`` in order.

    Raises:
        ValueError: a transform dropped the sample (returned None).
    """
    for transform in pipeline:
        out = transform(info)
        if out is None:
            raise ValueError(f'{type(transform).__name__} in the test '
                             'pipeline dropped the input (returned None)')
        info = out
    return info


def run_test_step(model: nn.Module, packed: List[dict]
                  ) -> List[PoseDataSample]:
    """Collate packed samples into one batch and run ``model.test_step``
    without gradients."""
    from mmengine.dataset import pseudo_collate
    with torch.no_grad():
        return list(model.test_step(pseudo_collate(packed)))


def _load_image(img: ImageLike, pipeline: Sequence[Callable]
                ) -> Tuple[np.ndarray, Optional[str]]:
    """``(image, path)``: a path is decoded by the pipeline's LoadImage
    (else a default one); an array is checked and kept.

    Raises:
        FileNotFoundError: the image file does not exist.
        TypeError, ValueError: not a path or an (H, W, 3) uint8 array.
    """
    from posekit.datasets.transforms.loading import LoadImage
    if isinstance(img, (str, Path)):
        path = os.path.expanduser(str(img))
        if '://' not in path and not os.path.isfile(path):
            raise FileNotFoundError(f'image file {path} does not exist')
        loader = next((t for t in pipeline if isinstance(t, LoadImage)),
                      None) or LoadImage()
        return loader(dict(img_path=path))['img'], path
    if not isinstance(img, np.ndarray):
        raise TypeError('img must be an image file path or an (H, W, 3) '
                        f'BGR uint8 numpy array, got {type(img).__name__}')
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise ValueError('img must be an (H, W, 3) BGR uint8 array, got '
                         f'shape {img.shape}')
    if img.dtype != np.uint8:
        raise TypeError('img must be an (H, W, 3) BGR uint8 array, got '
                        f'dtype {img.dtype}')
    return img, None


def _check_bboxes(bboxes: Any, bbox_format: str) -> np.ndarray:
    """``bboxes`` as an ``(N, 4)`` float32 xyxy array.

    Raises:
        ValueError: not ``(N, 4)``, not finite, or a box of zero or
            negative width or height.
    """
    try:
        boxes = np.asarray(bboxes, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f'bboxes must be an (N, 4) array of numbers: '
                         f'{err}') from None
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        hint = ' (drop the score column: bboxes[:, :4])' \
            if boxes.ndim == 2 and boxes.shape[1] == 5 else ''
        raise ValueError(f'bboxes must be (N, 4) {bbox_format} boxes, got '
                         f'shape {boxes.shape}{hint}')
    if not np.isfinite(boxes).all():
        raise ValueError('bboxes contain NaN or infinite values')
    if bbox_format == 'xywh':
        boxes = boxes.copy()
        boxes[:, 2:] += boxes[:, :2]
    bad = np.flatnonzero((boxes[:, 2] <= boxes[:, 0]) |
                         (boxes[:, 3] <= boxes[:, 1]))
    if bad.size:
        given = np.asarray(bboxes)[bad[0]]
        raise ValueError(f'bboxes[{int(bad[0])}] = {given} ({bbox_format}) '
                         'has zero or negative width or height')
    return boxes


def inference_topdown(model: nn.Module, img: ImageLike,
                      bboxes: Optional[Any] = None,
                      bbox_format: str = 'xyxy') -> List[PoseDataSample]:
    """Estimate the pose of each person box in one image with a top-down
    model.

    Args:
        model: a top-down model from :func:`init_model`.
        img: image file path, or an ``(H, W, 3)`` BGR uint8 array (not
            modified).
        bboxes: ``(N, 4)`` boxes in image pixels, ``xyxy`` or ``xywh`` per
            ``bbox_format``; None means one box covering the whole image.
            N = 0 gives an empty list.
        bbox_format: ``'xyxy'`` or ``'xywh'``.

    Returns:
        One :class:`PoseDataSample` per box, in order, whose
        ``pred_instances`` hold ``keypoints (1, K, 2)`` in image pixels,
        ``keypoint_scores (1, K)``, ``bboxes (1, 4)`` xyxy and
        ``bbox_scores (1,)``. All boxes run as one batch.

    Raises:
        ValueError: unknown ``bbox_format``, ``bboxes`` not ``(N, 4)`` or
            empty boxes, a bad image array.
        FileNotFoundError: the image file does not exist.
    """
    if bbox_format not in _BBOX_FORMATS:
        raise ValueError(f'bbox_format must be one of {_BBOX_FORMATS}, got '
                         f'{bbox_format!r}')
    pipeline = build_test_pipeline(model)
    image, path = _load_image(img, pipeline)
    if bboxes is None:
        h, w = image.shape[:2]
        boxes = np.array([[0, 0, w, h]], dtype=np.float32)
    else:
        boxes = _check_bboxes(bboxes, bbox_format)
    if len(boxes) == 0:
        return []
    packed = []
    for i, box in enumerate(boxes):
        info = dict(img=image, img_path=path, id=i, bbox=box[None],
                    bbox_score=np.ones(1, dtype=np.float32),
                    **pipeline_meta(model))
        packed.append(run_pipeline(pipeline, info))
    samples = run_test_step(model, packed)
    for sample, box in zip(samples, boxes):
        pred = sample.pred_instances
        if 'bboxes' not in pred:  # an estimator that does not copy them
            pred.bboxes = box[None]
    return samples


def inference_bottomup(model: nn.Module, img: ImageLike
                       ) -> List[PoseDataSample]:
    """Estimate every person's pose in one image with a bottom-up model.

    Args:
        model: a bottom-up model from :func:`init_model`.
        img: image file path, or an ``(H, W, 3)`` BGR uint8 array.

    Returns:
        A list with one :class:`PoseDataSample` whose ``pred_instances``
        hold all N persons: ``keypoints (N, K, 2)`` in image pixels,
        ``keypoint_scores (N, K)``, ``bboxes (N, 4)`` (the keypoints'
        extents) and ``bbox_scores (N,)``.

    Raises:
        FileNotFoundError: the image file does not exist.
        TypeError, ValueError: a bad image array.
    """
    pipeline = build_test_pipeline(model)
    image, path = _load_image(img, pipeline)
    info = dict(img=image, img_path=path, id=0, **pipeline_meta(model))
    return run_test_step(model, [run_pipeline(pipeline, info)])
