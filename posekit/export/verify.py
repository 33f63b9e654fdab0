"""Check an exported ONNX file against the PyTorch model it came from.

Raw export: both get the same random raw-pixel batch; PyTorch runs the
model's data preprocessor and ``forward(mode='tensor')``.

Export with decoding: random boxes on an image are cropped by the test
pipeline (LoadImage -> GetBBoxCenterScale -> TopdownAffine ->
PackPoseInputs); PyTorch runs ``model.test_step`` on the packed samples
(posekit's normal predict path), and onnxruntime gets the very same crops
and the boxes. Both give keypoints in image pixels.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from posekit.datasets.datasets.base.build_pipeline import build_pipeline
from .config_info import TopdownExportInfo
from .graphs import flatten_outputs
from .runtime import onnx_session, run_onnx


def random_boxes(image_shape: Tuple[int, int], num: int,
                 rng: np.random.Generator,
                 min_size: float = 16.) -> np.ndarray:
    """``num`` random xyxy boxes ``(num, 4)`` float32 inside an image of
    ``image_shape`` = (h, w), each side at least ``min_size`` pixels (or
    the image side, when smaller)."""
    h, w = image_shape[:2]
    size = np.array([w, h], dtype=np.float64)
    low = np.minimum(min_size, size)
    wh = rng.uniform(low, np.maximum(size, low), (num, 2))
    xy = rng.uniform(0, 1, (num, 2)) * (size - wh)
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def default_pipeline(info: TopdownExportInfo) -> list:
    """The minimal top-down test pipeline of ``info``."""
    return [dict(type='LoadImage'),
            dict(type='GetBBoxCenterScale', padding=info.bbox_padding),
            dict(type='TopdownAffine', input_size=info.input_size,
                 use_udp=info.use_udp),
            dict(type='PackPoseInputs')]


def crop_with_pipeline(image: np.ndarray, boxes: np.ndarray,
                       info: TopdownExportInfo) -> Tuple[list, list]:
    """Run the test pipeline (``info.pipeline``, else
    :func:`default_pipeline`) on each box of ``image`` (H, W, 3).

    Returns the packed ``inputs`` ((3, h, w) tensors) and
    ``data_samples``.

    Raises:
        ValueError: the pipeline dropped a sample.
    """
    pipeline = build_pipeline(info.pipeline or default_pipeline(info))
    inputs, samples = [], []
    for i, box in enumerate(boxes):
        results = dict(img=image.copy(), bbox=box[None].astype(np.float32),
                       bbox_score=np.ones(1, np.float32), id=i, img_id=0)
        if info.flip_indices is not None:
            results['flip_indices'] = list(info.flip_indices)
        for transform in pipeline:
            results = transform(results)
            if results is None:
                raise ValueError(f'the test pipeline dropped box {i} '
                                 f'{box.tolist()}')
        inputs.append(results['inputs'])
        samples.append(results['data_samples'])
    return inputs, samples


def predict_reference(model: nn.Module, image: np.ndarray,
                      boxes: np.ndarray, info: TopdownExportInfo
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's predictions for ``boxes`` (N, 4) on ``image``.

    Returns keypoints ``(N, K, 2)`` in image pixels, scores ``(N, K)``
    and the crops ``(N, 3, h, w)`` float32 raw pixels that went in.
    """
    inputs, samples = crop_with_pipeline(image, boxes, info)
    with torch.no_grad():
        preds = model.test_step(dict(inputs=inputs, data_samples=samples))
    keypoints = np.concatenate([p.pred_instances.keypoints[..., :2]
                                for p in preds]).astype(np.float32)
    scores = np.concatenate([np.asarray(p.pred_instances.keypoint_scores)
                             for p in preds]).astype(np.float32)
    crops = torch.stack(inputs).float().numpy()
    return keypoints, scores, crops


def verify_decode(model: nn.Module, onnx_file: str, info: TopdownExportInfo,
                  image: Optional[np.ndarray] = None, num_boxes: int = 10,
                  seed: int = 0, device: str = 'cpu',
                  batch_size: Optional[int] = None) -> Dict[str, float]:
    """Max abs differences (``keypoints`` in image pixels, ``scores``)
    between onnxruntime and ``model.test_step`` on ``num_boxes`` random
    boxes of ``image`` (a random 256x320 BGR image when None).
    ``batch_size`` runs onnxruntime in chunks of that many boxes (for a
    graph exported without a dynamic batch, give its N)."""
    rng = np.random.default_rng(seed)
    if image is None:
        image = rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)
    boxes = random_boxes(image.shape, num_boxes, rng)
    ref_kpts, ref_scores, crops = predict_reference(model, image, boxes,
                                                    info)
    session = onnx_session(onnx_file, device)
    step = batch_size or len(boxes)
    outs = [run_onnx(session, input=crops[i:i + step],
                     bbox=boxes[i:i + step])
            for i in range(0, len(boxes), step)]
    kpts = np.concatenate([o['keypoints'] for o in outs])
    scores = np.concatenate([o['scores'] for o in outs])
    return dict(keypoints=float(np.abs(kpts - ref_kpts).max()),
                scores=float(np.abs(scores - ref_scores).max()))


def verify_raw(model: nn.Module, onnx_file: str,
               input_shape: Sequence[int], output_names: Sequence[str],
               seed: int = 0, device: str = 'cpu') -> Dict[str, float]:
    """Max abs difference of each raw output between onnxruntime and the
    model's ``forward(mode='tensor')`` (after its data preprocessor) on
    one random raw-pixel batch of ``input_shape``."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, tuple(input_shape), dtype=np.uint8)
    param = next(model.parameters())
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=torch.from_numpy(pixels).to(param.device)), False)
        ref = flatten_outputs(model(data['inputs'], mode='tensor'))
    got = run_onnx(onnx_session(onnx_file, device),
                   input=pixels.astype(np.float32))
    return {name: float(np.abs(got[name] - r.float().cpu().numpy()).max())
            for name, r in zip(output_names, ref)}


__all__ = ['verify_decode', 'verify_raw', 'predict_reference',
           'crop_with_pipeline', 'random_boxes', 'default_pipeline']
