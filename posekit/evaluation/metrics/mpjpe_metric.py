"""MPJPE metric for 3D pose lifting (overall and per action)."""
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from posekit.registry import METRICS
from ..functional.mpjpe import keypoint_mpjpe

__all__ = ['MPJPE']


def _action_of(img_path: str) -> str:
    """'S1_Directions_1.54138969_000001.jpg' -> 'Directions_1'."""
    base = osp.basename(str(img_path))
    try:
        _, rest = base.split('_', 1)
        return rest.split('.', 1)[0]
    except ValueError:
        raise ValueError(
            f'MPJPE: cannot read the action from target_img_path {img_path!r};'
            ' expected Human3.6M names like S1_Directions_1.54138969_'
            '000001.jpg') from None


@METRICS.register_module()
class MPJPE(BaseMetric):
    """Mean per-joint position error of ``pred_instances.keypoints``
    against ``gt_instances.lifting_target`` (masked by
    ``lifting_target_visible``), overall and per action category.

    Args:
        mode: 'mpjpe' (no alignment), 'p-mpjpe' (Procrustes: scale,
            rotation, translation) or 'n-mpjpe' (scale only).
        collect_device, prefix: as in mmengine's ``BaseMetric``.
        skip_list: 'S<subject>_<action>' names to skip.

    Metric names: ``MODE`` and ``MODE_<action category>`` with MODE the
    upper-cased mode (e.g. ``P-MPJPE_Walking``).

    Raises:
        KeyError: unknown mode; a sample lacks ``target_img_path``.
    """

    ALIGNMENT = {'mpjpe': 'none', 'p-mpjpe': 'procrustes',
                 'n-mpjpe': 'scale'}

    def __init__(self, mode: str = 'mpjpe', collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 skip_list: Sequence[str] = ()) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if mode not in self.ALIGNMENT:
            raise KeyError(f"MPJPE: mode must be 'mpjpe', 'p-mpjpe' or "
                           f"'n-mpjpe', got {mode!r}")
        self.mode = mode
        self.skip_list = list(skip_list)

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'target_img_path' not in sample:
                raise KeyError(
                    "MPJPE: a data sample lacks 'target_img_path' (add it to "
                    "PackPoseInputs' meta_keys); keys present: "
                    f'{sorted(sample)}')
            paths = sample['target_img_path']
            path = paths if isinstance(paths, str) else list(paths)[0]
            if osp.basename(str(path)).split('.')[0] in self.skip_list:
                continue
            pred = np.asarray(sample['pred_instances']['keypoints'])
            if pred.ndim == 4:
                pred = pred[0]
            gt = np.asarray(sample['gt_instances']['lifting_target'])
            gt = gt.reshape(-1, *gt.shape[-2:])
            mask = np.asarray(sample['gt_instances']['lifting_target_visible']
                              ).astype(bool).reshape(gt.shape[0], -1)
            self.results.append(dict(
                pred=pred.reshape(gt.shape), gt=gt, mask=mask,
                actions=[_action_of(path)] * gt.shape[0]))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = np.concatenate([r['pred'] for r in results])
        gt = np.concatenate([r['gt'] for r in results])
        mask = np.concatenate([r['mask'] for r in results])
        groups = defaultdict(list)
        for i, action in enumerate(a for r in results for a in r['actions']):
            # 'Directions_1' and 'Directions' share the category.
            groups[action.split('_')[0]].append(i)
        name, align = self.mode.upper(), self.ALIGNMENT[self.mode]
        metrics = {name: keypoint_mpjpe(pred, gt, mask, align)}
        for category, idx in groups.items():
            metrics[f'{name}_{category}'] = keypoint_mpjpe(
                pred[idx], gt[idx], mask[idx], align)
        return metrics
