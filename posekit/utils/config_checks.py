"""Consistency checks of a whole config, run before anything is built:
parts that must agree but are written in different places.

- the input size of the affine transforms (``TopdownAffine``,
  ``BottomupRandomAffine``) against the codecs (``GenerateTarget``'s
  encoder, ``model.head.decoder``);
- the head's keypoint count (``model.head.out_channels`` /
  ``num_keypoints`` / ``num_joints``) against the dataset's.

Each error names both config keys and their values. Classes are looked up
through the registries only (this module sits below datasets and models).
"""
from typing import Any, Iterator, List, Optional, Tuple

from posekit.registry import DATASETS, MODELS

__all__ = ['ConfigCheckError', 'check_config', 'check_input_sizes',
           'check_keypoint_count']

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_AFFINES = ('TopdownAffine', 'BottomupRandomAffine')
# heads whose keypoint count is an argument, by class (or base class) name;
# the argument is read from the config, so subclasses are covered. Lifting
# heads are left out: they may predict K-1 joints (remove_root)
_KEYPOINT_HEADS = (
    'HeatmapHead', 'SimCCHead', 'RTMCCHead', 'CPMHead', 'MSPNHead',
    'ViPNASHead', 'RegressionHead', 'RLEHead', 'IntegralRegressionHead',
    'DSNTHead', 'AssociativeEmbeddingHead', 'HigherHRNetHead',
    'AEHigherResolutionHead', 'CIDHead', 'DEKRHead')
_COUNT_ARGS = ('out_channels', 'num_keypoints', 'num_joints')


class ConfigCheckError(ValueError):
    """Two parts of a config disagree; ``keys`` are the config paths."""

    def __init__(self, message: str, keys: Tuple[str, ...] = ()):
        super().__init__(message)
        self.keys = keys


def _type_name(cfg: Any) -> str:
    t = cfg.get('type') if isinstance(cfg, dict) else None
    return t if isinstance(t, str) else getattr(t, '__name__', '')


def _size(value: Any) -> Optional[Tuple[int, ...]]:
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (int, float)) for v in value):
        return tuple(int(v) for v in value)
    return None


def _datasets(cfg: dict) -> Iterator[Tuple[str, dict]]:
    """``(key path, config)`` of every dataset config under the loaders,
    wrappers (``dataset``) and combinations (``datasets``) included."""
    def walk(path: str, ds: Any) -> Iterator[Tuple[str, dict]]:
        if not isinstance(ds, dict):
            return
        yield path, ds
        yield from walk(f'{path}.dataset', ds.get('dataset'))
        for i, child in enumerate(ds.get('datasets') or []):
            yield from walk(f'{path}.datasets[{i}]', child)
    for loader in _LOADERS:
        if isinstance(cfg.get(loader), dict):
            yield from walk(f'{loader}.dataset', cfg[loader].get('dataset'))


def _pipeline(path: str, ds: dict) -> Iterator[Tuple[str, dict]]:
    pipeline = ds.get('pipeline')
    for i, step in enumerate(pipeline if isinstance(pipeline, (list, tuple))
                             else []):
        if isinstance(step, dict):
            yield f'{path}.pipeline[{i}]', step


def _codec_sizes(cfg: dict) -> List[Tuple[str, Tuple[int, ...]]]:
    """``(key, input_size)`` of the head decoder and every encoder."""
    found = []
    head = (cfg.get('model') or {}).get('head')
    if isinstance(head, dict) and isinstance(head.get('decoder'), dict):
        size = _size(head['decoder'].get('input_size'))
        if size:
            found.append(('model.head.decoder.input_size', size))
    for path, ds in _datasets(cfg):
        for key, step in _pipeline(path, ds):
            if _type_name(step) != 'GenerateTarget':
                continue
            encoder = step.get('encoder')
            listed = encoder if isinstance(encoder, (list, tuple)) \
                else [encoder]
            for j, enc in enumerate(listed):
                size = _size(enc.get('input_size')) \
                    if isinstance(enc, dict) else None
                where = f'{key}.encoder' + (
                    f'[{j}]' if isinstance(encoder, (list, tuple)) else '')
                if size:
                    found.append((f'{where}.input_size', size))
    return found


def check_input_sizes(cfg: dict) -> None:
    """Every ``TopdownAffine``/``BottomupRandomAffine`` ``input_size`` of
    the dataloaders' pipelines equals every codec ``input_size`` (head
    decoder, ``GenerateTarget`` encoders): the affine crop is the image the
    codec encodes targets for and decodes predictions from.

    Raises:
        ConfigCheckError: a pair differs (names both keys and values).
    """
    codecs = _codec_sizes(cfg)
    if not codecs:
        return
    for path, ds in _datasets(cfg):
        for key, step in _pipeline(path, ds):
            if _type_name(step) not in _AFFINES:
                continue
            size = _size(step.get('input_size'))
            for codec_key, codec_size in codecs:
                if size and size != codec_size:
                    raise ConfigCheckError(
                        f'{key}.input_size is {size} ({_type_name(step)}) '
                        f'but {codec_key} is {codec_size}; both are the '
                        'network input size (w, h) and must be equal. Set '
                        "them from one value, e.g. input_size=codec["
                        "'input_size']", keys=(f'{key}.input_size',
                                               codec_key))


def _dataset_keypoints(cfg: dict) -> Optional[Tuple[str, int, str]]:
    """``(key, K, where K comes from)`` for the first dataloader whose
    keypoint count can be told, else None."""
    for loader in _LOADERS:
        for path, ds in _datasets({loader: cfg.get(loader)}):
            for key, step in _pipeline(path, ds):
                # a converter maps the dataset's keypoints to another set
                if _type_name(step) == 'KeypointConverter' and isinstance(
                        step.get('num_keypoints'), int):
                    return (f'{key}.num_keypoints', step['num_keypoints'],
                            'KeypointConverter')
            cls = _registered(DATASETS, ds)
            loader_fn = getattr(cls, '_load_metainfo', None)
            metainfo = ds.get('metainfo')
            if loader_fn is None or not (metainfo or
                                         getattr(cls, 'METAINFO', None)):
                continue
            if hasattr(metainfo, 'to_dict'):
                metainfo = metainfo.to_dict()
            try:
                parsed = loader_fn(dict(metainfo) if metainfo else None)
            except Exception:  # a broken metainfo: the dataset reports it
                continue
            if isinstance(parsed, dict) and 'num_keypoints' in parsed:
                source = (metainfo or cls.METAINFO).get('from_file') or \
                    parsed.get('dataset_name')
                return (path, int(parsed['num_keypoints']),
                        f'{_type_name(ds)}, metainfo {source!r}')
    return None


def _registered(registry, cfg: dict) -> Optional[type]:
    obj_type = cfg.get('type')
    if isinstance(obj_type, type):
        return obj_type
    if isinstance(obj_type, str):
        try:
            return registry.get(obj_type)
        except Exception:  # unknown types are the registry's to report
            return None
    return None


def check_keypoint_count(cfg: dict) -> None:
    """The keypoint count of ``model.head`` (``out_channels``,
    ``num_keypoints`` or ``num_joints``; ``model.head.pose_cfg.*`` for
    ``VisPredictHead``) equals the dataset's (its metainfo, or a
    ``KeypointConverter`` in its pipeline). Heads outside posekit's
    keypoint heads (and their subclasses) are not checked.

    Raises:
        ConfigCheckError: the counts differ (names both keys and values).
    """
    head = (cfg.get('model') or {}).get('head')
    prefix = 'model.head'
    if isinstance(head, dict) and isinstance(head.get('pose_cfg'), dict):
        head, prefix = head['pose_cfg'], 'model.head.pose_cfg'
    if not isinstance(head, dict):
        return
    cls = _registered(MODELS, head)
    names = {c.__name__ for c in getattr(cls, '__mro__', ())}
    if not names & set(_KEYPOINT_HEADS):
        return
    arg = next((a for a in _COUNT_ARGS if isinstance(head.get(a), int)),
               None)
    if arg is None:
        return
    found = _dataset_keypoints(cfg)
    if found is None or found[1] == head[arg]:
        return
    key, num, source = found
    raise ConfigCheckError(
        f'{prefix}.{arg} is {head[arg]} but {key} ({source}) has {num} '
        f'keypoints; the head predicts one output per keypoint. Set '
        f'{prefix}.{arg}={num}, or use a dataset (metainfo) with '
        f'{head[arg]} keypoints', keys=(f'{prefix}.{arg}', key))


def check_config(cfg: dict) -> None:
    """Run every check of this module on a loaded config (call before
    building the Runner).

    Raises:
        ConfigCheckError: see :func:`check_input_sizes` and
            :func:`check_keypoint_count`.
    """
    check_input_sizes(cfg)
    check_keypoint_count(cfg)
