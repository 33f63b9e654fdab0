"""What an export graph needs to know from a config: the test pipeline's
box padding and crop size, and the dataset's flip indices."""
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from torch import nn

from posekit.registry import DATASETS

DEFAULT_BBOX_PADDING = 1.25
# Where a test pipeline can live in a config, tried in this order.
_PIPELINE_KEYS = (('test_dataloader', 'dataset', 'pipeline'),
                  ('val_dataloader', 'dataset', 'pipeline'),
                  ('test_pipeline', ), ('val_pipeline', ))
_DATASET_KEYS = ('test_dataloader', 'val_dataloader')


@dataclass
class TopdownExportInfo:
    """Pre- and post-processing facts of a top-down model.

    Attributes:
        input_size: ``(w, h)`` of the crop (TopdownAffine's input_size).
        bbox_padding: GetBBoxCenterScale's ``padding`` (box size factor).
        use_udp: TopdownAffine's ``use_udp`` (how the crop is warped).
        flip_indices: the dataset's left/right swap of keypoints, or None
            when the config names no dataset with meta information.
        pipeline: the test pipeline config list (None when absent).
    """

    input_size: Tuple[int, int]
    bbox_padding: float = DEFAULT_BBOX_PADDING
    use_udp: bool = False
    flip_indices: Optional[List[int]] = None
    pipeline: Optional[list] = None


def _as_mapping(cfg: Any) -> Any:
    """An mmengine ``Config`` as a plain dict (ConfigDicts already are)."""
    if not isinstance(cfg, Mapping) and hasattr(cfg, 'to_dict'):
        return cfg.to_dict()
    return cfg


def _get(cfg: Any, keys: Sequence[str]) -> Any:
    node = _as_mapping(cfg)
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _inner_dataset(dataset: Any) -> Any:
    """The dataset config itself (looking through one wrapper such as a
    RepeatDataset, which keeps it under ``dataset``)."""
    if isinstance(dataset, Mapping) and 'pipeline' not in dataset and \
            isinstance(dataset.get('dataset'), Mapping):
        return dataset['dataset']
    return dataset


def find_test_pipeline(cfg: Any) -> Tuple[Optional[list], str]:
    """The first test pipeline found in ``cfg`` and its key path, or
    ``(None, '')``."""
    for keys in _PIPELINE_KEYS:
        if len(keys) == 3:
            pipeline = _get(_inner_dataset(_get(cfg, keys[:2])), keys[2:])
        else:
            pipeline = _get(cfg, keys)
        if isinstance(pipeline, Sequence) and not isinstance(pipeline, str):
            return list(pipeline), '.'.join(keys)
    return None, ''


def _transform_cfg(pipeline: Optional[list], name: str) -> Optional[dict]:
    for step in pipeline or []:
        if isinstance(step, Mapping) and \
                str(step.get('type', '')).split('.')[-1] == name:
            return dict(step)
    return None


def find_flip_indices(cfg: Any = None,
                      model: Optional[nn.Module] = None
                      ) -> Optional[List[int]]:
    """The dataset's flip indices, from the first of: ``model.metainfo``
    (which the estimator writes into every sample), ``model.dataset_meta``
    (set by ``posekit.apis.init_model``), the test (or val) dataset of
    ``cfg`` (its ``metainfo``, or its class's ``METAINFO``). None when
    none names them.

    Raises:
        FileNotFoundError / KeyError / ValueError: the metainfo named by
            the config cannot be read (see ``parse_pose_metainfo``).
    """
    for attr in ('metainfo', 'dataset_meta'):
        meta = getattr(model, attr, None)
        if isinstance(meta, Mapping) and \
                meta.get('flip_indices') is not None:
            return [int(i) for i in meta['flip_indices']]
    if cfg is None:
        return None
    # imported here: only needed when the config is read
    from posekit.datasets.datasets.utils import parse_pose_metainfo
    for key in _DATASET_KEYS:
        dataset = _inner_dataset(_get(cfg, (key, 'dataset')))
        if not isinstance(dataset, Mapping):
            continue
        metainfo = dataset.get('metainfo')
        if metainfo is None and dataset.get('type') is not None:
            cls = DATASETS.get(dataset['type'])
            metainfo = getattr(cls, 'METAINFO', None) or None
        if metainfo:
            return [int(i) for i in
                    parse_pose_metainfo(dict(metainfo))['flip_indices']]
    return None


def topdown_export_info(cfg: Any = None,
                        input_size: Optional[Tuple[int, int]] = None,
                        model: Optional[nn.Module] = None
                        ) -> TopdownExportInfo:
    """Read :class:`TopdownExportInfo` from a config (an mmengine Config or
    dict); missing parts fall back to ``input_size`` (``(w, h)`` of the
    export shape) and a padding of 1.25.

    Raises:
        ValueError: neither the config's TopdownAffine nor ``input_size``
            gives the crop size, or they disagree (the message names the
            config key).
    """
    pipeline, where = find_test_pipeline(cfg) if cfg is not None \
        else (None, '')
    affine = _transform_cfg(pipeline, 'TopdownAffine') or {}
    center_scale = _transform_cfg(pipeline, 'GetBBoxCenterScale') or {}
    cfg_size = affine.get('input_size')
    if cfg_size is not None:
        cfg_size = (int(cfg_size[0]), int(cfg_size[1]))
    if input_size is not None:
        input_size = (int(input_size[0]), int(input_size[1]))
        if cfg_size is not None and cfg_size != input_size:
            raise ValueError(
                f'the export input is (w, h) = {input_size} but the '
                f"config's {where} TopdownAffine.input_size is {cfg_size}; "
                f'export with --shape N 3 {cfg_size[1]} {cfg_size[0]} so '
                'the crops match what the model was trained on')
    size = input_size or cfg_size
    if size is None:
        raise ValueError('the crop size is unknown: give input_size=(w, h) '
                         'or a config whose test pipeline has TopdownAffine')
    return TopdownExportInfo(
        input_size=size,
        bbox_padding=float(center_scale.get('padding',
                                            DEFAULT_BBOX_PADDING)),
        use_udp=bool(affine.get('use_udp', False)),
        flip_indices=find_flip_indices(cfg, model),
        pipeline=pipeline)


__all__ = ['TopdownExportInfo', 'topdown_export_info', 'find_test_pipeline',
           'find_flip_indices', 'DEFAULT_BBOX_PADDING']
