"""Base class of datasets whose annotations are COCO-format keypoint files."""
import logging
import os.path as osp
from copy import deepcopy
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MessageHub, print_log

from posekit.registry import DATASETS
from ..utils import parse_pose_metainfo
from .build_pipeline import build_pipeline
from .data_infos import detection_data_infos, stack_instances
from .coco_files import CocoAnnotations, load_coco_annotations, load_detections
from .filter_cfg import parse_filter_cfg
from .pipeline_meta import PipelineMeta
from .image_groups import image_groups
from .load_checks import (BAD_BOX, CROWD, FEW_KEYPOINTS, LoadReport,
                          far_outside_image)
from .skipped_samples import SkippedSamples

__all__ = ['BaseCocoStyleDataset']

_DATA_MODES = ('topdown', 'bottomup')


@DATASETS.register_module()
class BaseCocoStyleDataset(BaseDataset):
    """A keypoint dataset read from a COCO-format json.

    Top-down mode yields one sample per person instance; bottom-up mode one
    sample per image with its instances stacked along the first axis. The
    data-info keys and shapes are those of ``docs/data_flow.md`` §1.

    Args:
        ann_file: COCO keypoint json (joined with ``data_root`` if relative).
        bbox_file: COCO detection-result json; only with ``test_mode`` and
            ``data_mode='topdown'``. Each detection becomes a sample with
            zero keypoints and visibility, ``bbox_score`` from the file and
            ``id`` its running index.
        data_mode: ``'topdown'`` or ``'bottomup'``.
        metainfo: ``dict(from_file=...)`` or a ``dataset_info`` dict; the
            class's ``METAINFO`` when None (see :func:`parse_pose_metainfo`).
        data_root, data_prefix, indices, serialize_data, test_mode,
            lazy_init, max_refetch: as in mmengine's ``BaseDataset``;
            ``data_prefix['img']`` is the image folder.
        filter_cfg: optional dict with ``bbox_score_thr`` (top-down: keep
            boxes with score >= thr), ``min_keypoints`` (an instance needs
            at least this many labelled keypoints; default 1) and
            ``filter_empty_gt`` (bottom-up: drop images without a valid
            instance; default True in training, False in ``test_mode``).
        pipeline: transform configs (built with posekit's TRANSFORMS) or
            callables.
        sample_interval: keep only images whose id is a multiple of it.
        skip_invalid: in training, a sample whose image is missing or
            unreadable is skipped (another one is drawn) instead of
            stopping; the skipped samples are counted and
            :meth:`skipped_report` names them (``SkippedSamplesHook`` logs
            it at the end of every epoch). Not allowed with ``test_mode``.
            The count is shared with data-loader workers when the dataset
            is initialised before they start (not with ``lazy_init``).

    Annotations are dropped as in MMPose (crowd, fewer labelled keypoints
    than ``min_keypoints``, a box of zero size after clipping to the
    image); zero-size boxes and labelled keypoints far outside the image
    are logged as warnings with their annotation ids
    (:attr:`load_warnings`).

    Raises:
        ValueError: bad ``data_mode``, ``bbox_file`` outside top-down
            testing, unknown ``filter_cfg`` keys, ``skip_invalid`` with
            ``test_mode``, bad annotation files (see
            :func:`load_coco_annotations`), or no samples left after
            filtering (names the file, the filters and what each removed).
        FileNotFoundError, OSError: a sample's image is missing or
            unreadable (without ``skip_invalid``; names the sample).
        ConfigBuildError: a ``pipeline`` entry names an unknown type.
    """

    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str = '',
                 bbox_file: Optional[str] = None,
                 data_mode: str = 'topdown',
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = '',
                 data_prefix: dict = dict(img=''),
                 filter_cfg: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = [],
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000,
                 sample_interval: int = 1,
                 skip_invalid: bool = False):
        name = type(self).__name__
        if data_mode not in _DATA_MODES:
            raise ValueError(f'{name}: data_mode={data_mode!r} is invalid; '
                             f'use one of {_DATA_MODES}')
        if bbox_file and data_mode != 'topdown':
            raise ValueError(f'{name}: bbox_file is only supported with '
                             f"data_mode='topdown', got {data_mode!r}")
        if bbox_file and not test_mode:
            raise ValueError(f'{name}: bbox_file is only supported with '
                             'test_mode=True (detected boxes carry no '
                             'keypoints to train on)')
        if not isinstance(sample_interval, int) or sample_interval < 1:
            raise ValueError(f'{name}: sample_interval must be an int >= 1, '
                             f'got {sample_interval!r}')
        if not isinstance(data_prefix, dict) or 'img' not in data_prefix:
            raise KeyError(f"{name}: data_prefix needs an 'img' key (the "
                           f'image folder), got {data_prefix!r}')
        if skip_invalid and test_mode:
            raise ValueError(f'{name}: skip_invalid=True needs test_mode='
                             'False: an evaluation must see every sample, '
                             'so a missing image is an error there')
        self.data_mode = data_mode
        self.skip_invalid = bool(skip_invalid)
        self._skipped: Optional[SkippedSamples] = None
        self._pipeline_meta: Optional[PipelineMeta] = None
        self._image_groups: Optional[np.ndarray] = None
        self.load_warnings: List[str] = []
        self.bbox_file = bbox_file
        self.sample_interval = sample_interval
        self._min_keypoints, self._filter_empty_gt = parse_filter_cfg(
            type(self).__name__, filter_cfg, data_mode, bbox_file, test_mode)

        super().__init__(
            ann_file=ann_file, metainfo=metainfo, data_root=data_root or '',
            data_prefix=data_prefix, filter_cfg=filter_cfg, indices=indices,
            serialize_data=serialize_data,
            pipeline=build_pipeline(pipeline), test_mode=test_mode,
            lazy_init=lazy_init, max_refetch=max_refetch)

        if self.test_mode:
            # CocoMetric finds the ground-truth file here when its own
            # ann_file is not set.
            MessageHub.get_current_instance().update_info_dict(
                {f"{self._metainfo['dataset_name']}_ann_file": self.ann_file})

    # ------------------------------------------------------------ metainfo
    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        """Parse ``metainfo`` (or ``cls.METAINFO``) and check it fits."""
        if metainfo is None:
            metainfo = deepcopy(cls.METAINFO)
        if not isinstance(metainfo, dict):
            raise TypeError(f'{cls.__name__}: metainfo must be a dict, got '
                            f'{type(metainfo).__name__}')
        if not metainfo:
            raise ValueError(
                f'{cls.__name__} has no keypoint definition: pass '
                "metainfo=dict(from_file='configs/_base_/datasets/xxx.py') "
                'or set the class attribute METAINFO')
        parsed = parse_pose_metainfo(metainfo)
        num, flip = parsed['num_keypoints'], np.asarray(parsed['flip_indices'])
        if len(flip) != num or (len(flip) and
                                (flip.min() < 0 or flip.max() >= num)):
            raise ValueError(f'{cls.__name__}: metainfo flip_indices {flip} '
                             f'do not fit its {num} keypoints')
        return parsed

    # ------------------------------------------------------------- samples
    def full_init(self) -> None:
        """mmengine's loading, filtering, sub-setting and serialising,
        with a check that samples are left and, with ``skip_invalid``, the
        skip flags (allocated here, before data-loader workers start).

        Raises:
            ValueError: no samples are left (see :class:`LoadReport`).
        """
        if self._fully_initialized:
            return
        self._load_report = LoadReport(type(self).__name__, self.ann_file)
        # mmengine's steps, with the emptiness check before serialising
        self.data_list = self.load_data_list()
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.data_list = self._get_unserialized_subset(self._indices)
        for text in self._load_report.warnings():
            self.load_warnings.append(text)
            print_log(text, logger='current', level=logging.WARNING)
        if not self.data_list:
            raise ValueError(self._load_report.empty_message(
                self.data_mode, self.filter_cfg, self._min_keypoints,
                self.sample_interval, self._indices, self.bbox_file))
        if self.skip_invalid:
            self._skipped = SkippedSamples(len(self.data_list))
        self._image_groups = image_groups(self.data_list)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    def sample_image_groups(self) -> np.ndarray:
        """``(len(self), )`` int64: samples with equal values show the
        same image (for :class:`~posekit.datasets.ImageGroupedSampler`)."""
        self.full_init()
        return self._image_groups

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on a copy of sample ``idx`` with the metainfo
        fields of ``PIPELINE_META_KEYS`` added (see :class:`PipelineMeta`).

        With ``skip_invalid``, a missing or unreadable image (an
        ``OSError`` from the pipeline) marks the sample and returns None,
        so that mmengine draws another one.

        Raises:
            KeyError: the data info already holds one of those keys.
            FileNotFoundError, OSError: the image is missing or unreadable
                (the message adds the sample and the ``skip_invalid``
                option), or every sample's image failed.
        """
        if self._pipeline_meta is None:
            self._pipeline_meta = PipelineMeta(type(self).__name__,
                                               self._metainfo)
        data_info = self._pipeline_meta.add_to(self.get_data_info(idx), idx)
        try:
            return self.pipeline(data_info)
        except OSError as err:
            where = (f'{type(self).__name__} sample {idx} '
                     f'({self._describe(idx)})')
            if self._skipped is None:
                raise type(err)(
                    f'{where}: {err}. Fix the file, or pass '
                    'skip_invalid=True to the training dataset to skip such '
                    'samples (counted and reported at the end of every '
                    'epoch)') from err
            self._skipped.mark(idx, err)
            if self._skipped.all_skipped():
                raise type(err)(f'{where}: {err}. Every sample of the '
                                'dataset failed to load, so none can be '
                                'skipped to; check data_root and '
                                "data_prefix['img']") from err
            return None

    def _describe(self, idx: int) -> str:
        """The image path and annotation id of sample ``idx``."""
        info = self.get_data_info(idx)
        ann_id = info.get('id')
        if isinstance(ann_id, list):  # bottom-up: one id per instance
            ann_id = ann_id[:3]
        return f"image {info.get('img_path')!r}, annotation id {ann_id}"

    def skipped_report(self, reset: bool = True) -> Optional[str]:
        """With ``skip_invalid``: a sentence with the number of samples
        skipped since the last report and the first few of them (image
        path, annotation id, missing or unreadable); None when none was
        skipped. ``reset`` starts a new count."""
        if self._skipped is None:
            return None
        return self._skipped.report(
            f'{type(self).__name__} (ann_file {self.ann_file!r})',
            self._describe, reset=reset)

    def load_data_list(self) -> List[dict]:
        """Read ``ann_file`` (and ``bbox_file``) into data infos."""
        coco = load_coco_annotations(self.ann_file,
                                     self._metainfo['num_keypoints'])
        report = self._report()
        report.num_images = len(coco.images)
        report.num_annotations = sum(
            len(anns) for anns in coco.anns_by_image.values())
        if coco.categories:
            self._metainfo['CLASSES'] = deepcopy(coco.categories)
        if self.bbox_file:
            return self._load_detection_results(coco)
        if self.data_mode == 'topdown':
            return [info for _, infos in self._iter_instances(coco)
                    for info in infos if self._is_valid_instance(info)]
        return self._get_bottomup_data_infos(coco)

    def _report(self) -> LoadReport:
        # load_data_list may be called without full_init (subclasses, tests)
        if getattr(self, '_load_report', None) is None:
            self._load_report = LoadReport(type(self).__name__,
                                           self.ann_file)
        return self._load_report

    def _sampled(self, img_id: Any) -> bool:
        # Ids need not be ints unless sub-sampling is asked for.
        return self.sample_interval == 1 or img_id % self.sample_interval == 0

    def _iter_instances(self, coco: CocoAnnotations):
        """Per kept image: the list of its parsed instances."""
        for img in coco.images:
            if not self._sampled(img['id']):
                continue
            img_info = dict(img, img_id=img['id'], img_path=osp.join(
                self.data_prefix['img'], img['file_name']))
            infos = []
            for ann in coco.anns_by_image[img['id']]:
                info = self.parse_data_info(
                    dict(raw_ann_info=ann, raw_img_info=img_info))
                # A subclass may return None to drop an annotation.
                if info is None:
                    continue
                self._record(info, img)
                infos.append(info)
            yield img_info, infos

    def _record(self, info: dict, img: dict) -> None:
        """Note in the load report why ``info`` is dropped, or that it
        has labelled keypoints far outside its image."""
        report = self._report()
        reason = self._invalid_reason(info)
        if reason is not None:
            report.dropped[reason].append(info.get('id'))
        elif 'keypoints' in info and far_outside_image(
                info['keypoints'], info['keypoints_visible'],
                img['width'], img['height']):
            report.far_outside.append(info.get('id'))

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        """One instance's data info from ``raw_ann_info`` (a COCO
        annotation) and ``raw_img_info`` (its image, with ``img_id`` and
        ``img_path``). Boxes are clipped to the image; ``num_keypoints`` is
        the annotation's, else the count of keypoints with v > 0."""
        ann = raw_data_info['raw_ann_info']
        img = raw_data_info['raw_img_info']
        x, y, w, h = (float(v) for v in ann['bbox'])
        bbox = np.array([x, y, x + w, y + h], dtype=np.float32)
        # Clip to the last pixel index, as MMPose does, so that boxes match.
        bbox[0::2] = np.clip(bbox[0::2], 0, img['width'] - 1)
        bbox[1::2] = np.clip(bbox[1::2], 0, img['height'] - 1)
        kpts = np.asarray(ann['keypoints'], dtype=np.float32).reshape(1, -1, 3)
        num_keypoints = ann.get('num_keypoints',
                                int(np.count_nonzero(kpts[0, :, 2] > 0)))
        info = dict(
            id=ann['id'], img_id=img['img_id'], img_path=img['img_path'],
            bbox=bbox.reshape(1, 4), bbox_score=np.ones(1, dtype=np.float32),
            keypoints=kpts[..., :2].copy(),
            keypoints_visible=np.minimum(1, kpts[..., 2]),
            num_keypoints=num_keypoints,
            # Without an 'area' the box area stands in, as COCO tools do.
            area=np.array([ann.get('area', w * h)], dtype=np.float32),
            iscrowd=ann.get('iscrowd', 0),
            segmentation=ann.get('segmentation', None),
            category_id=ann['category_id'],
            raw_ann_info=deepcopy(ann))
        if 'crowdIndex' in img:
            info['crowd_index'] = img['crowdIndex']
        return info

    def _is_valid_instance(self, info: Dict) -> bool:
        """Not crowd, enough labelled keypoints, a box of positive size."""
        return self._invalid_reason(info) is None

    def _invalid_reason(self, info: Dict) -> Optional[str]:
        """Why ``info`` is dropped (in MMPose's order of checks), or
        None for a valid instance."""
        if info.get('iscrowd', 0):
            return CROWD
        if info.get('num_keypoints', 0) < self._min_keypoints:
            return FEW_KEYPOINTS
        bbox = info['bbox'][0]
        if not (bbox[2] > bbox[0] and bbox[3] > bbox[1]):
            return BAD_BOX
        return None

    def _get_bottomup_data_infos(self, coco: CocoAnnotations) -> List[dict]:
        """One data info per image; valid instances stacked along axis 0,
        the segmentations of the others in ``invalid_segs``."""
        data_list = []
        for img_info, infos in self._iter_instances(coco):
            valid = [i for i in infos if self._is_valid_instance(i)]
            if not valid and self._filter_empty_gt:
                continue
            data_info = dict(img_id=img_info['img_id'],
                             img_path=img_info['img_path'])
            data_info.update(self._stack_instances(valid))
            # An image-level value, not one per instance (CrowdPose).
            data_info.pop('crowd_index', None)
            if 'crowdIndex' in img_info:
                data_info['crowd_index'] = img_info['crowdIndex']
            data_info['invalid_segs'] = [
                i['segmentation'] for i in infos
                if not self._is_valid_instance(i)
                and i.get('segmentation') is not None]
            data_list.append(data_info)
        return data_list

    def _stack_instances(self, infos: List[dict]) -> dict:
        """Arrays concatenated along axis 0, other values listed."""
        return stack_instances(infos, self._metainfo['num_keypoints'])

    def _load_detection_results(self, coco: CocoAnnotations) -> List[dict]:
        """One top-down sample per detected box of ``bbox_file``."""
        category_ids = {c['id'] for c in coco.categories if 'id' in c}
        dets = load_detections(self.bbox_file, coco.image_ids, category_ids)
        return detection_data_infos(
            dets, {img['id']: img for img in coco.images},
            self.data_prefix['img'], self._metainfo['num_keypoints'],
            self._sampled)

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg.bbox_score_thr`` (top-down: keep boxes with
        ``bbox_score >= thr``); the other filters act while loading."""
        thr = (self.filter_cfg or {}).get('bbox_score_thr')
        if thr is None:
            return self.data_list
        return [d for d in self.data_list if d['bbox_score'][0] >= thr]
