"""Compare a trained top-down model with a mean-pose baseline on the
validation set of a config: RMSE in pixels and PCK@thr.

    python tools/analysis/eval_dlc_baseline.py CONFIG CHECKPOINT
        [--thr 0.2] [--batch-size 16] [--out results.json]
        [--cfg-options k=v ...]

The **mean-pose baseline** gets the same ground-truth box as the model: each
training keypoint is expressed in the coordinates of its crop box (the box
padded by ``GetBBoxCenterScale`` and widened to the input aspect ratio by
``TopdownAffine``), ``u = (p - center) / scale``; the baseline predicts the
per-keypoint mean ``u`` placed in each validation crop box,
``center + mean_u * scale``. It knows where the animal is, not how it is
posed.

Metrics, over the labelled validation keypoints (in image pixels):
- ``rmse``: sqrt(mean squared Euclidean distance);
- ``mean_error``: mean Euclidean distance (what DeepLabCut reports as
  "RMSE");
- ``pck``: share of keypoints closer than ``thr`` times the longer side of
  the instance's ground-truth box (PCKAccuracy's ``norm_item='bbox'``).
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from posekit.apis.training import load_config  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Model vs. mean-pose baseline: RMSE (px) and PCK')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--thr', type=float, default=0.2,
                        help='PCK threshold, a fraction of the box size')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--out', help='write the results to this json')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE')
    return parser.parse_args(argv)


def _pipeline_arg(pipeline, type_name: str, key: str, default=None):
    """``key`` of the ``type_name`` step of a pipeline config (``default``
    when the step leaves it at the transform's default).

    Raises:
        KeyError: no such step, or it lacks ``key`` and there is no default.
    """
    for step in pipeline:
        if step.get('type') == type_name:
            if key not in step and default is None:
                raise KeyError(f'the validation pipeline step {type_name} '
                               f'has no {key!r}')
            return step.get(key, default)
    raise KeyError(f'the validation pipeline has no {type_name} step; the '
                   'baseline needs it to place its box (a top-down config '
                   'is expected)')


def crop_boxes(bboxes: np.ndarray, padding: float,
               input_size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Centers and (w, h) scales (N, 2) of the model's crops of (N, 4) xyxy
    boxes: padded, then widened to the input aspect ratio."""
    from posekit.structures import bbox_xyxy2cs, fix_aspect_ratio
    center, scale = bbox_xyxy2cs(bboxes, padding=padding)
    return center, fix_aspect_ratio(scale, input_size[0] / input_size[1])


def mean_pose_baseline(train_kpts: np.ndarray, train_vis: np.ndarray,
                       train_boxes: np.ndarray, val_boxes: np.ndarray,
                       padding: float,
                       input_size: Tuple[int, int]) -> np.ndarray:
    """(M, K, 2) predictions for M validation boxes from the mean of the
    N training poses (N, K, 2) in crop-box coordinates.

    Raises:
        ValueError: a keypoint is never labelled in the training set.
    """
    center, scale = crop_boxes(train_boxes, padding, input_size)
    rel = (train_kpts - center[:, None]) / scale[:, None]
    vis = train_vis > 0
    count = vis.sum(0)
    if (count == 0).any():
        raise ValueError('keypoints {} are never labelled in the training '
                         'set'.format(np.flatnonzero(count == 0).tolist()))
    mean_rel = (rel * vis[..., None]).sum(0) / count[:, None]
    val_center, val_scale = crop_boxes(val_boxes, padding, input_size)
    return val_center[:, None] + mean_rel[None] * val_scale[:, None]


def errors(pred: np.ndarray, gt: np.ndarray, vis: np.ndarray,
           bboxes: np.ndarray, thr: float) -> Dict[str, float]:
    """RMSE and mean error (pixels) and PCK@thr over labelled keypoints."""
    from posekit.evaluation.functional import keypoint_pck_accuracy
    mask = vis > 0
    dist = np.linalg.norm(pred - gt, axis=-1)[mask]
    side = (bboxes[:, 2:] - bboxes[:, :2]).max(1)
    _, pck, _ = keypoint_pck_accuracy(pred, gt, mask, thr,
                                      np.repeat(side[:, None], 2, axis=1))
    per_kpt = np.sqrt((np.linalg.norm(pred - gt, axis=-1) ** 2 * mask).sum(0)
                      / np.maximum(mask.sum(0), 1))
    return dict(rmse=float(np.sqrt((dist ** 2).mean())),
                mean_error=float(dist.mean()), pck=float(pck),
                rmse_per_keypoint=per_kpt.round(3).tolist())


def predict(cfg, checkpoint: str, dataset, batch_size: int) -> np.ndarray:
    """(N, K, 2) model predictions in image pixels, in dataset order."""
    import torch
    from mmengine.dataset import pseudo_collate

    from posekit.models.utils.model_check import check_model
    from posekit.registry import MODELS
    from posekit.utils.checkpoint import safe_load
    model = MODELS.build(check_model(cfg.model).model_cfg)
    state = safe_load(checkpoint)
    model.load_state_dict(state.get('state_dict', state))
    model.eval()
    preds = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = pseudo_collate([dataset[i] for i in range(
                start, min(start + batch_size, len(dataset)))])
            for sample in model.test_step(batch):
                preds.append(np.asarray(sample.pred_instances.keypoints))
    return np.concatenate(preds).astype(np.float64)


def main(argv=None) -> Dict:
    args = parse_args(argv)
    import posekit
    from posekit.registry import DATASETS
    posekit.register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)

    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    train_cfg = dict(cfg.train_dataloader.dataset, pipeline=[])
    train_set = DATASETS.build(train_cfg)
    val_pipeline = cfg.val_dataloader.dataset.pipeline
    padding = _pipeline_arg(val_pipeline, 'GetBBoxCenterScale', 'padding',
                            1.25)
    input_size = tuple(_pipeline_arg(val_pipeline, 'TopdownAffine',
                                     'input_size'))

    def stacked(dataset, key):
        return np.concatenate([dataset.get_data_info(i)[key]
                               for i in range(len(dataset))]).astype(
                                   np.float64)

    gt, vis, boxes = (stacked(val_set, k) for k in (
        'keypoints', 'keypoints_visible', 'bbox'))
    baseline = mean_pose_baseline(
        stacked(train_set, 'keypoints'),
        stacked(train_set, 'keypoints_visible'), stacked(train_set, 'bbox'),
        boxes, padding, input_size)
    model_pred = predict(cfg, args.checkpoint, val_set, args.batch_size)

    results = dict(
        num_train=len(train_set), num_val=len(val_set),
        num_keypoints=int((vis > 0).sum()), thr=args.thr,
        model=errors(model_pred, gt, vis, boxes, args.thr),
        mean_pose_baseline=errors(baseline, gt, vis, boxes, args.thr))
    results['rmse_ratio'] = (results['mean_pose_baseline']['rmse']
                             / max(results['model']['rmse'], 1e-12))
    print(f"{results['num_val']} validation instances "
          f"({results['num_keypoints']} labelled keypoints), "
          f"{results['num_train']} training instances")
    print(f"{'':20s}{'RMSE px':>10s}{'mean err px':>13s}"
          f"{'PCK@' + str(args.thr):>10s}")
    for name in ('model', 'mean_pose_baseline'):
        r = results[name]
        print(f"{name:20s}{r['rmse']:10.2f}{r['mean_error']:13.2f}"
              f"{r['pck']:10.3f}")
    print(f"baseline RMSE / model RMSE = {results['rmse_ratio']:.2f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
