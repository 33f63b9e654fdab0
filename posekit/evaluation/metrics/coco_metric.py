"""COCO keypoint AP/AR (``CocoMetric``), MMPose 1.x compatible.

``process`` keeps each sample's predictions (keypoints in original-image
pixels) and, without an ``ann_file``, its raw annotations. ``compute_metrics``
pools all instances into arrays, rescores them, runs OKS-NMS per image,
writes ``<outfile_prefix>.keypoints.json`` and evaluates with
:class:`KeypointCOCOeval` (pycocotools' COCOeval, vectorised), or with
xtcocotools for CrowdPose's ``iou_type='keypoints_crowd'``.
"""
import contextlib
import io
import json
import logging
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger, print_log

from posekit.registry import METRICS
from ..functional import (KeypointCOCOeval, batched_oks_nms,
                          batched_soft_oks_nms, transform_ann,
                          transform_pred, transform_sigmas)
from .coco_ground_truth import build_coco, gt_from_samples, load_coco_json
from .coco_predictions import PredictionArrays, gather_predictions
from .coco_results_writer import round_fixed, write_keypoint_results

_STATS = ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5',
          'AR .75', 'AR (M)', 'AR (L)']
_CROWD_STATS = ['AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75', 'AP(E)',
                'AP(M)', 'AP(H)']
# Keypoints (x, y, score) are written, and evaluated, with this many
# decimals: 1e-4 px is below float32 resolution beyond 1024 px, and fixed
# decimals let the results file be written with array code.
_DECIMALS = 4
# per-instance rows of a gather_predictions() dict
_PER_INSTANCE = ('keypoints', 'keypoint_scores', 'bbox_scores', 'areas',
                 'bboxes', 'bbox_scales')


def first_instance_per_id(preds: Sequence[dict]) -> list:
    """Keep one instance per (``img_id``, scalar ``id``), the first one
    processed, as MMPose 1.x's CocoMetric does: a sample whose ``id`` is a
    single value stands for one instance (a top-down annotation or box), so
    further instances under the same key (a repeated sample, or extra rows
    of a multi-instance sample) are dropped. Samples whose ``id`` is a list
    or array (bottom-up: one id per ground-truth person) or missing are
    returned unchanged. ``preds`` are :func:`gather_predictions` dicts."""
    seen = set()
    out = []
    dropped = 0
    for pred in preds:
        ident = pred.get('id')
        if ident is None or isinstance(ident, (list, tuple, np.ndarray)):
            out.append(pred)
            continue
        key = (pred['img_id'], ident)
        num = len(pred['keypoints'])
        if key in seen:
            dropped += num
            continue
        seen.add(key)
        if num > 1:
            dropped += num - 1
            pred = {k: v[:1] if k in _PER_INSTANCE or (
                k == 'category_id' and np.ndim(v) > 0) else v
                for k, v in pred.items()}
        out.append(pred)
    if dropped:
        # not silent: a multi-person sample under one scalar id is usually
        # a mistake (bottom-up samples carry one id per person)
        print_log(f'CocoMetric: {dropped} predicted instance(s) share an '
                  '(img_id, id) key with an earlier one and were not '
                  'evaluated (one instance per scalar id, as in MMPose); '
                  'give multi-person samples a list of ids to keep them',
                  logger='current', level=logging.WARNING)
    return out


def _choice(name: str, value, allowed: Sequence[str]):
    if value not in allowed:
        raise ValueError(f'CocoMetric: {name} must be one of '
                         f'{list(allowed)}, got {value!r}')
    return value


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO keypoint detection AP and AR over OKS thresholds.

    Args:
        ann_file: COCO-format ground truth. If None, the dataset's
            ``<dataset_name>_ann_file`` entry in the MessageHub is used if
            present, else the ground truth is assembled from the samples'
            ``raw_ann_info``.
        use_area: OKS scale from the annotations' ``area`` (else 0.53 * box
            area; CrowdPose and AIC have no area).
        iou_type: ``'keypoints'`` or ``'keypoints_crowd'`` (CrowdPose,
            evaluated by xtcocotools).
        score_mode: instance score: ``'bbox'``, ``'keypoint'`` (mean
            keypoint score), ``'bbox_keypoint'`` (bbox score times the mean
            of keypoint scores above ``keypoint_score_thr``) or
            ``'bbox_rle'`` (bbox score + mean + max keypoint score).
        nms_mode: ``'oks_nms'``, ``'soft_oks_nms'`` or ``'none'``, with OKS
            threshold ``nms_thr``.
        format_only: only write the results json (needs ``outfile_prefix``).
        pred_converter / gt_converter: ``dict(num_keypoints, mapping)`` to
            re-index predictions / ground truth to another keypoint layout.
        outfile_prefix: results go to ``<prefix>.keypoints.json`` (and the
            assembled ground truth to ``<prefix>.gt.json``); a temporary
            directory when None.
        collect_device, prefix: see mmengine's ``BaseMetric``.

    Raises:
        ValueError: an option is not one of its allowed values, or
            ``format_only`` without ``outfile_prefix``.
    """
    default_prefix: Optional[str] = 'coco'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 use_area: bool = True,
                 iou_type: str = 'keypoints',
                 score_mode: str = 'bbox_keypoint',
                 keypoint_score_thr: float = 0.2,
                 nms_mode: str = 'oks_nms',
                 nms_thr: float = 0.9,
                 format_only: bool = False,
                 pred_converter: Optional[Dict] = None,
                 gt_converter: Optional[Dict] = None,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_type = _choice('iou_type', iou_type,
                                ('keypoints', 'keypoints_crowd'))
        self.score_mode = _choice(
            'score_mode', score_mode,
            ('bbox', 'bbox_keypoint', 'bbox_rle', 'keypoint'))
        self.nms_mode = _choice('nms_mode', nms_mode,
                                ('oks_nms', 'soft_oks_nms', 'none'))
        if format_only and outfile_prefix is None:
            raise ValueError('CocoMetric: format_only=True needs an '
                             'outfile_prefix (a temporary file would be '
                             'deleted right away)')
        for name, conv in (('pred_converter', pred_converter),
                           ('gt_converter', gt_converter)):
            if conv is not None and not {'num_keypoints', 'mapping'} <= set(
                    conv):
                raise ValueError(f'CocoMetric: {name} must be a dict with '
                                 f"'num_keypoints' and 'mapping', got {conv}")
        self.ann_file = ann_file
        self.use_area = use_area
        self.keypoint_score_thr = keypoint_score_thr
        self.nms_thr = nms_thr
        self.format_only = format_only
        self.pred_converter = pred_converter
        self.gt_converter = gt_converter
        self.outfile_prefix = outfile_prefix
        self._gt_json: Optional[Dict] = None
        self._gt_converted: Optional[Dict] = None
        self._coco_cache: Dict[str, object] = {}
        self._seen_images: set = set()
        if ann_file is not None:
            self._gt_json = load_coco_json(ann_file, not format_only)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The dataset's metainfo (``sigmas``, ``num_keypoints``, ...)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        meta = None if dataset_meta is None else dict(dataset_meta)
        if meta is not None and self.gt_converter is not None:
            conv = self.gt_converter
            meta['sigmas'] = transform_sigmas(
                meta['sigmas'], conv['num_keypoints'], conv['mapping'])
            meta['num_keypoints'] = len(meta['sigmas'])
        self._dataset_meta = meta
        if meta is not None and self._gt_json is None:
            # the dataset may have published its annotation file
            hub_file = MessageHub.get_current_instance().get_info(
                f"{meta.get('dataset_name')}_ann_file", None)
            if hub_file is not None:
                self._gt_json = load_coco_json(hub_file, not self.format_only)
                self._gt_converted = None
                self._coco_cache.clear()
                print_log(f'CocoMetric: ground truth of dataset '
                          f"{meta.get('dataset_name')!r} read from "
                          f'{hub_file}', 'current')

    # -------------------------------------------------------------- process
    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep the predictions (and, without ann_file, the ground truth)
        of a batch of data samples given as dicts.

        Raises:
            KeyError: a sample lacks ``img_id``/``pred_instances`` (or
                ``raw_ann_info``/``ori_shape`` when they are needed).
            ValueError: keypoints are not (N, K, 2) or keypoint_scores not
                (N, K).
        """
        if not self.results:
            self._seen_images.clear()
        need_gt = self._gt_json is None and not self.format_only
        for sample in data_samples:
            pred = gather_predictions(sample)
            gt = None
            if need_gt:
                gt = self._sample_gt(sample)
            self.results.append((pred, gt))

    def _sample_gt(self, sample: dict) -> dict:
        img_id = sample['img_id']
        if 'raw_ann_info' not in sample or sample['raw_ann_info'] is None:
            raise KeyError(
                f"CocoMetric: sample of image {img_id} has no 'raw_ann_info';"
                ' without ann_file the ground truth comes from it (set '
                'ann_file to the annotation json instead)')
        anns = sample['raw_ann_info']
        gt = dict(img_id=img_id,
                  raw_ann_info=anns if isinstance(anns, list) else [anns])
        if img_id not in self._seen_images:
            # image-level fields once per image
            self._seen_images.add(img_id)
            if 'ori_shape' not in sample:
                raise KeyError(f'CocoMetric: sample of image {img_id} has no '
                               "'ori_shape' (h, w), needed for the ground "
                               'truth image entry')
            gt['height'], gt['width'] = sample['ori_shape'][:2]
            if self.iou_type == 'keypoints_crowd':
                if 'crowd_index' not in sample:
                    raise KeyError(
                        f'CocoMetric: sample of image {img_id} has no '
                        "'crowd_index', which iou_type='keypoints_crowd' "
                        'needs')
                gt['crowd_index'] = sample['crowd_index']
        return gt

    # -------------------------------------------------------------- compute
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Rescore, NMS, write the results json and evaluate.

        Returns:
            OrderedDict of the COCO stats (``AP``, ``AP .5``, ...; empty
            with ``format_only``).

        Raises:
            ValueError: no results, keypoint counts that disagree with
                ``dataset_meta['sigmas']``, or predictions for images the
                ground truth lacks.
            KeyError: ``dataset_meta`` has no ``sigmas``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if not results:
            raise ValueError('CocoMetric: no results to evaluate; process() '
                             'was not called with any data sample')
        sigmas = self._sigmas()
        preds, gts = zip(*results)
        arrays = PredictionArrays.from_results(first_instance_per_id(preds))
        if self.pred_converter is not None:
            conv = transform_pred(
                dict(keypoints=arrays.keypoints,
                     keypoint_scores=arrays.keypoint_scores),
                self.pred_converter['num_keypoints'],
                self.pred_converter['mapping'])
            arrays.keypoints = conv['keypoints']
            arrays.keypoint_scores = conv['keypoint_scores']
        num_kpts = arrays.keypoints.shape[1]
        if num_kpts != len(sigmas):
            raise ValueError(
                f'CocoMetric: predictions have {num_kpts} keypoints but '
                f"dataset_meta['sigmas'] has {len(sigmas)} (dataset "
                f"{self.dataset_meta.get('dataset_name')!r}); use the "
                'matching dataset metainfo or a pred_converter')
        arrays.fill_areas()
        scores = self._rescore(arrays)
        keep = self._nms(arrays, scores, sigmas)

        tmp_dir = None
        prefix = self.outfile_prefix
        if prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            prefix = osp.join(tmp_dir.name, 'results')
        try:
            dets = self._write_results(arrays, scores, keep, prefix)
            if self.format_only:
                logger.info(f'CocoMetric: results saved to {prefix}'
                            '.keypoints.json')
                return {}
            gt_json = self._ground_truth(gts, prefix)
            self._check_images(dets['image_id'], gt_json)
            if self.iou_type == 'keypoints_crowd':
                stats = self._eval_crowd(gt_json, prefix, sigmas)
                names = _CROWD_STATS
            else:
                stats = self._eval_keypoints(gt_json, dets, sigmas)
                names = _STATS
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()
        return OrderedDict(
            (name, float(value)) for name, value in zip(names, stats))

    def _sigmas(self) -> np.ndarray:
        meta = self.dataset_meta
        if meta is None or meta.get('sigmas') is None:
            raise KeyError(
                "CocoMetric needs dataset_meta['sigmas'] (one OKS sigma per "
                'keypoint); set metric.dataset_meta = dataset.metainfo (the '
                'Runner does this) with a metainfo that defines sigmas')
        return np.asarray(meta['sigmas'], dtype=np.float64).reshape(-1)

    def _rescore(self, arrays: PredictionArrays) -> np.ndarray:
        kpt_scores = arrays.keypoint_scores.astype(np.float64)
        bbox_scores = arrays.bbox_scores
        if self.score_mode == 'bbox':
            return bbox_scores.copy()
        if self.score_mode == 'keypoint':
            return kpt_scores.mean(1)
        if self.score_mode == 'bbox_rle':
            return bbox_scores + kpt_scores.mean(1) + kpt_scores.max(1)
        above = kpt_scores > self.keypoint_score_thr
        count = above.sum(1)
        total = np.where(above, kpt_scores, 0.).sum(1)
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.)
        return bbox_scores * mean

    def _nms(self, arrays: PredictionArrays, scores: np.ndarray,
             sigmas: np.ndarray) -> np.ndarray:
        if self.nms_mode == 'none':
            return np.arange(len(scores))
        args = (arrays.image_rank, arrays.keypoints, scores, arrays.areas,
                self.nms_thr)
        if self.nms_mode == 'oks_nms':
            return batched_oks_nms(*args, sigmas=sigmas)
        return batched_soft_oks_nms(*args, sigmas=sigmas)

    def _write_results(self, arrays: PredictionArrays, scores: np.ndarray,
                       keep: np.ndarray, prefix: str) -> dict:
        """Write the kept instances as COCO results; return them as arrays
        holding exactly the written values."""
        kpts = round_fixed(np.concatenate([
            arrays.keypoints[keep], arrays.keypoint_scores[keep, :, None]
        ], axis=-1), _DECIMALS)
        dets = dict(image_id=arrays.img_ids[keep],
                    category_id=arrays.category_ids[keep], keypoints=kpts,
                    score=scores[keep])
        bboxes = arrays.bboxes[keep] if arrays.has_bbox.any() else None
        write_keypoint_results(f'{prefix}.keypoints.json', dets['image_id'],
                               dets['category_id'], kpts, dets['score'],
                               bboxes, _DECIMALS)
        return dets

    def _ground_truth(self, gts: Sequence[Optional[dict]],
                      prefix: str) -> Dict:
        """The ground truth as a COCO dict, in the evaluated layout."""
        if self._gt_json is None:
            gt_json = gt_from_samples(
                gts, self.use_area, self.iou_type == 'keypoints_crowd',
                (self.dataset_meta or {}).get('CLASSES'))
            with open(f'{prefix}.gt.json', 'w', encoding='utf-8') as f:
                json.dump(gt_json, f)
            return self._convert_gt(gt_json)
        if self._gt_converted is None:
            # converted once: the file's ground truth does not change
            self._gt_converted = self._convert_gt(self._gt_json)
        return self._gt_converted

    def _convert_gt(self, gt_json: Dict) -> Dict:
        if self.gt_converter is None:
            return gt_json
        anns = [dict(a) for a in gt_json['annotations']]
        transform_ann(anns, self.gt_converter['num_keypoints'],
                      self.gt_converter['mapping'])
        return dict(gt_json, annotations=anns)

    def _coco(self, gt_json: Dict, library: str):
        """COCO index of the ground truth; the one of a fixed annotation
        file is kept for later evaluations."""
        if gt_json is not self._gt_converted:
            return build_coco(gt_json, library)
        if library not in self._coco_cache:
            self._coco_cache[library] = build_coco(gt_json, library)
        return self._coco_cache[library]

    def _check_images(self, image_ids: np.ndarray, gt_json: Dict) -> None:
        known = np.array([img['id'] for img in gt_json['images']])
        unknown = np.setdiff1d(np.unique(image_ids), known)
        if len(unknown):
            source = self.ann_file or 'the raw_ann_info of the samples'
            raise ValueError(
                f'CocoMetric: predictions for image ids '
                f'{unknown[:5].tolist()} which are not in the ground truth '
                f'({source}); check that the metric and the dataset use the '
                'same annotation file')

    def _eval_keypoints(self, gt_json: Dict, dets: dict,
                        sigmas: np.ndarray) -> np.ndarray:
        coco_eval = KeypointCOCOeval(
            self._coco(gt_json, 'pycocotools'), sigmas=sigmas,
            use_area=self.use_area)
        coco_eval.load_detections(dets['image_id'], dets['category_id'],
                                  dets['keypoints'], dets['score'])
        return self._run_eval(coco_eval)

    def _eval_crowd(self, gt_json: Dict, prefix: str,
                    sigmas: np.ndarray) -> np.ndarray:
        """CrowdPose AP/AR with xtcocotools, whose easy/medium/hard split
        re-reads the ground truth from a file (written to
        ``<prefix>.gt.json``)."""
        try:
            from xtcocotools.cocoeval import COCOeval as XtCOCOeval
        except ImportError as err:
            raise ImportError(
                "CocoMetric(iou_type='keypoints_crowd') evaluates CrowdPose "
                'with xtcocotools, which could not be imported '
                f'({err}); install it with `pip install xtcocotools`'
            ) from None
        gt_file, res_file = f'{prefix}.gt.json', f'{prefix}.keypoints.json'
        with open(gt_file, 'w', encoding='utf-8') as f:
            json.dump(gt_json, f)
        coco = build_coco(gt_json, 'xtcocotools')
        coco.anno_file = [gt_file]
        with contextlib.redirect_stdout(io.StringIO()):
            coco_det = coco.loadRes(res_file)
        coco_eval = XtCOCOeval(coco, coco_det, 'keypoints_crowd', sigmas,
                               self.use_area)
        coco_eval.params.useSegm = None
        return self._run_eval(coco_eval)

    @staticmethod
    def _run_eval(coco_eval) -> np.ndarray:
        """evaluate/accumulate/summarize with the printed summary sent to
        the logger instead of stdout."""
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        summary = '\n'.join(line for line in buf.getvalue().splitlines()
                            if line.lstrip().startswith('Average'))
        print_log('\n' + summary, 'current')
        return coco_eval.stats
