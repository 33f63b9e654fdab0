"""Parsing of pose-dataset meta information.

A dataset's meta information is written as an MMPose-style ``dataset_info``
dict (usually in a Python file under ``configs/_base_/datasets/``) that names
keypoints and links by name. :func:`parse_pose_metainfo` turns it into the
index-based fields the transforms, codecs, metrics and visualisers read.
"""
import os
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np

__all__ = ['parse_pose_metainfo', 'resolve_metainfo_file']

_KEYPOINT_TYPES = ('upper', 'lower', '')
_DEFAULT_KEYPOINT_COLOR = (255, 128, 0)
_DEFAULT_LINK_COLOR = (96, 96, 255)


def _repo_root() -> Path:
    import posekit
    return Path(posekit.__file__).resolve().parents[1]


def resolve_metainfo_file(from_file: str) -> Path:
    """Find a metainfo file: as given (absolute, or relative to the current
    directory), then relative to the repository root (the folder holding the
    ``posekit`` package).

    Raises:
        FileNotFoundError: no candidate exists; the message lists them all.
    """
    path = Path(os.path.expanduser(str(from_file)))
    candidates = [path] if path.is_absolute() else [
        Path.cwd() / path, _repo_root() / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ', '.join(str(c) for c in candidates)
    raise FileNotFoundError(
        f'metainfo from_file={str(from_file)!r} was not found; tried: '
        f'{tried}. Give an absolute path or one relative to the current '
        'directory or the repository root (e.g. '
        "'configs/_base_/datasets/coco.py').")


def _load_dataset_info(metainfo: Mapping) -> Dict[str, Any]:
    """Return the ``dataset_info`` dict, reading ``from_file`` if given.

    Keys given beside ``from_file`` override those of the file.
    """
    metainfo = dict(metainfo)
    if 'from_file' not in metainfo:
        return metainfo
    from mmengine.config import Config
    path = resolve_metainfo_file(metainfo.pop('from_file'))
    cfg = Config.fromfile(str(path))
    if 'dataset_info' not in cfg:
        raise KeyError(f'metainfo file {path} defines no `dataset_info` '
                       f'dict; it defines: {sorted(cfg.keys())}')
    info = cfg['dataset_info'].to_dict()
    info.update(metainfo)
    return info


def _color_array(colors: List[Any], what: str) -> np.ndarray:
    """(n, 3) uint8 array of ``colors``; ValueError if any is not RGB."""
    try:
        arr = np.asarray(colors, dtype=np.float64).reshape(len(colors), 3)
    except (TypeError, ValueError):
        arr = None
    if arr is None or ((arr < 0) | (arr > 255)).any():
        raise ValueError(f'metainfo: every {what} color must be 3 numbers in '
                         f'[0, 255], got {colors}')
    return arr.astype(np.uint8)


def _parse_keypoints(keypoint_info: Mapping) -> Dict[str, Any]:
    """Names, colours, body halves and flip partners of all keypoints."""
    num = len(keypoint_info)
    try:
        ids = sorted(int(k) for k in keypoint_info)
    except (TypeError, ValueError):
        raise ValueError(
            'metainfo: keypoint_info keys must be the keypoint indices '
            f'0..K-1, got {list(keypoint_info)}') from None
    if ids != list(range(num)):
        raise ValueError('metainfo: keypoint_info keys must be the keypoint '
                         f'indices 0..{num - 1}, got {list(keypoint_info)}')
    infos = {int(k): v for k, v in keypoint_info.items()}

    id2name: Dict[int, str] = {}
    name2id: Dict[str, int] = {}
    colors, upper, lower = [], [], []
    for idx in range(num):
        kpt = infos[idx]
        if 'name' not in kpt:
            raise KeyError(f'metainfo: keypoint_info[{idx}] has no `name`')
        name = kpt['name']
        if name in name2id:
            raise ValueError(f'metainfo: keypoint name {name!r} is used by '
                             f'both keypoint {name2id[name]} and {idx}')
        if 'id' in kpt and int(kpt['id']) != idx:
            raise ValueError(f'metainfo: keypoint_info[{idx}] ({name!r}) has '
                             f'id={kpt["id"]}; it must equal its key {idx}')
        kpt_type = kpt.get('type', '')
        if kpt_type not in _KEYPOINT_TYPES:
            raise ValueError(f'metainfo: keypoint {name!r} has type '
                             f'{kpt_type!r}; valid types: {_KEYPOINT_TYPES}')
        id2name[idx] = name
        name2id[name] = idx
        colors.append(kpt.get('color', _DEFAULT_KEYPOINT_COLOR))
        (upper if kpt_type == 'upper' else
         lower if kpt_type == 'lower' else []).append(idx)

    flip_indices = []
    for idx in range(num):
        name, swap = id2name[idx], infos[idx].get('swap', '') or ''
        if swap == '':
            flip_indices.append(idx)
            continue
        if swap not in name2id:
            raise ValueError(
                f'metainfo: keypoint {name!r} has swap={swap!r}, which is not '
                f'a keypoint name; valid names: {list(name2id)}')
        partner = infos[name2id[swap]].get('swap', '') or ''
        if partner != name:
            raise ValueError(
                f'metainfo: swap is not symmetric: keypoint {name!r} has '
                f'swap={swap!r}, but {swap!r} has swap={partner!r}')
        flip_indices.append(name2id[swap])
    flip_pairs = [[i, j] for i, j in enumerate(flip_indices) if i < j]

    return dict(num_keypoints=num, keypoint_id2name=id2name,
                keypoint_name2id=name2id, upper_body_ids=upper,
                lower_body_ids=lower, flip_indices=flip_indices,
                flip_pairs=flip_pairs,
                keypoint_colors=_color_array(colors, 'keypoint'))


def _parse_skeleton(skeleton_info: Mapping,
                    name2id: Dict[str, int]) -> Dict[str, Any]:
    links: List[Tuple[int, int]] = []
    colors = []
    for key in sorted(skeleton_info, key=int):
        link_info = skeleton_info[key]
        link = link_info.get('link') if isinstance(link_info, Mapping) \
            else None
        if link is None or len(link) != 2:
            raise ValueError(f'metainfo: skeleton_info[{key}] needs '
                             "link=(name_a, name_b), got "
                             f'{link_info!r}')
        for name in link:
            if name not in name2id:
                raise ValueError(
                    f'metainfo: skeleton_info[{key}] link {tuple(link)} names '
                    f'unknown keypoint {name!r}; valid names: '
                    f'{list(name2id)}')
        links.append((name2id[link[0]], name2id[link[1]]))
        colors.append(link_info.get('color', _DEFAULT_LINK_COLOR))
    return dict(num_skeleton_links=len(links), skeleton_links=links,
                skeleton_link_colors=_color_array(colors, 'skeleton link'))


def _per_keypoint(info: Mapping, field: str, num: int,
                  allow_empty: bool) -> np.ndarray:
    if field not in info:
        raise KeyError(f'metainfo: missing `{field}` (a list of {num} '
                       'numbers, one per keypoint)')
    values = np.asarray(info[field], dtype=np.float32).reshape(-1)
    if values.size != num and not (allow_empty and values.size == 0):
        raise ValueError(f'metainfo: `{field}` has length {values.size} but '
                         f'there are {num} keypoints')
    return values


def parse_pose_metainfo(metainfo: Mapping) -> Dict[str, Any]:
    """Turn an MMPose-style ``dataset_info`` into index-based meta fields.

    Args:
        metainfo: either ``dict(from_file=PATH)`` (a Python file defining
            ``dataset_info``; relative paths are tried against the current
            directory, then the repository root; other keys override the
            file's) or the ``dataset_info`` dict itself, with
            ``dataset_name``, ``keypoint_info`` ({i: dict(name, id, color,
            type, swap)}), ``skeleton_info`` ({i: dict(link, id, color)}),
            ``joint_weights`` and ``sigmas``.

    Returns:
        dict with ``dataset_name``, ``num_keypoints`` (K),
        ``keypoint_id2name``, ``keypoint_name2id``, ``upper_body_ids``,
        ``lower_body_ids``, ``flip_indices`` (K ints), ``flip_pairs``
        ([[i, j], ...], i < j), ``keypoint_colors`` (K, 3) uint8,
        ``num_skeleton_links``, ``skeleton_links`` ([(i, j), ...]),
        ``skeleton_link_colors`` (L, 3) uint8,
        ``dataset_keypoint_weights`` (K,) float32 (also as
        ``joint_weights``) and ``sigmas`` (K,) float32, or (0,) when the
        file gives ``sigmas=[]`` (a dataset without OKS constants).

    Raises:
        FileNotFoundError: ``from_file`` not found (the paths tried listed).
        KeyError: a required field is missing.
        ValueError: a ``swap`` or skeleton link names an unknown keypoint,
            swaps are not symmetric, keypoint keys are not 0..K-1, or
            ``joint_weights``/``sigmas`` lengths differ from K.
        TypeError: ``metainfo`` is not a dict.
    """
    if not isinstance(metainfo, Mapping):
        raise TypeError('metainfo must be a dict (dict(from_file=...) or a '
                        f'dataset_info dict), got {type(metainfo).__name__}')
    info = _load_dataset_info(deepcopy(metainfo))
    for field in ('dataset_name', 'keypoint_info'):
        if field not in info:
            raise KeyError(f'metainfo: missing `{field}`; got keys '
                           f'{sorted(info)}')
    parsed: Dict[str, Any] = dict(dataset_name=info['dataset_name'])
    parsed.update(_parse_keypoints(info['keypoint_info']))
    num = parsed['num_keypoints']
    parsed.update(_parse_skeleton(info.get('skeleton_info', {}) or {},
                                  parsed['keypoint_name2id']))
    weights = _per_keypoint(info, 'joint_weights', num, allow_empty=False)
    parsed['dataset_keypoint_weights'] = weights
    parsed['joint_weights'] = weights.copy()
    parsed['sigmas'] = _per_keypoint(info, 'sigmas', num, allow_empty=True)
    return parsed
