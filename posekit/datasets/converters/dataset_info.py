"""Writing a dataset's meta information as an MMPose-style ``dataset_info``
Python file (the format :func:`posekit.datasets.datasets.utils.
parse_pose_metainfo` reads): keypoint names, left/right flip partners, a
skeleton, joint weights and OKS sigmas."""
import colorsys
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

__all__ = ['infer_flip_pairs', 'build_dataset_info', 'format_dataset_info',
           'write_dataset_info']

# 'left'/'right' anywhere in a name, matched case-insensitively
_WORD = re.compile(r'left|right', re.IGNORECASE)
# a lone 'l'/'r' between non-letters or at the ends: 'l_ear', 'paw-R'
_LETTER = re.compile(r'(?<![A-Za-z])[lLrR](?![A-Za-z])')
_WORD_SWAP = {'left': 'right', 'right': 'left'}
_LETTER_SWAP = {'l': 'r', 'r': 'l', 'L': 'R', 'R': 'L'}


def _same_case(word: str, like: str) -> str:
    """``word`` written in the letter case of ``like``."""
    if like.isupper():
        return word.upper()
    if like[0].isupper():
        return word.capitalize()
    return word


def _mirror_names(name: str) -> List[str]:
    """Names the mirror image of keypoint ``name`` could have: with
    left/right swapped, or with a lone l/r swapped."""
    mirrored = []
    by_word = _WORD.sub(
        lambda m: _same_case(_WORD_SWAP[m.group().lower()], m.group()), name)
    if by_word != name:
        mirrored.append(by_word)
    by_letter = _LETTER.sub(lambda m: _LETTER_SWAP[m.group()], name)
    if by_letter != name:
        mirrored.append(by_letter)
    return mirrored


def infer_flip_pairs(names: Sequence[str]) -> List[Tuple[str, str]]:
    """Pairs of keypoint names that swap under a horizontal flip, found by
    exchanging ``left``/``right`` (any case, anywhere in the name, e.g.
    ``leftear``/``rightear``, ``Left_Paw``/``Right_Paw``) or a lone
    ``l``/``r`` token (``l_ear``/``r_ear``, ``paw-L``/``paw-R``). The
    comparison ignores case; a name pairs only when its mirror exists.

    Returns:
        ``[(left_name, right_name), ...]`` in the order of ``names``, each
        pair once (first member the one listed first).
    """
    by_lower = {n.lower(): n for n in names}
    pairs, used = [], set()
    for name in names:
        if name in used:
            continue
        for mirror in _mirror_names(name):
            partner = by_lower.get(mirror.lower())
            if partner is not None and partner != name \
                    and partner not in used:
                pairs.append((name, partner))
                used.update((name, partner))
                break
    return pairs


def _check_pairs(pairs: Sequence[Sequence[str]], names: Sequence[str],
                 what: str) -> List[Tuple[str, str]]:
    checked, used = [], set()
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f'{what}: each entry must name two keypoints, '
                             f'got {pair!r}')
        a, b = pair
        for name in (a, b):
            if name not in names:
                raise ValueError(f'{what}: {name!r} (in {tuple(pair)}) is '
                                 f'not a keypoint; keypoints: {list(names)}')
        if a == b:
            raise ValueError(f'{what}: {tuple(pair)} pairs a keypoint with '
                             'itself')
        checked.append((a, b))
        if what == 'flip_pairs':
            if a in used or b in used:
                raise ValueError(f'flip_pairs: {tuple(pair)} reuses a '
                                 'keypoint that is already in a pair')
            used.update((a, b))
    return checked


def _palette(num: int) -> List[List[int]]:
    """``num`` well-separated RGB colours (hues evenly spaced)."""
    colors = []
    for i in range(num):
        r, g, b = colorsys.hsv_to_rgb(i / max(num, 1), 0.85, 1.0)
        colors.append([int(round(255 * r)), int(round(255 * g)),
                       int(round(255 * b))])
    return colors


def build_dataset_info(names: Sequence[str],
                       dataset_name: str,
                       skeleton: Optional[Sequence[Sequence[str]]] = None,
                       flip_pairs: Optional[Sequence[Sequence[str]]] = None,
                       sigmas: Union[float, Sequence[float]] = 0.05,
                       joint_weights: Union[float, Sequence[float]] = 1.0
                       ) -> Dict:
    """An MMPose-style ``dataset_info`` dict.

    Args:
        names: keypoint names in index order.
        dataset_name: the ``dataset_name`` field.
        skeleton: links as pairs of keypoint names (drawing only).
        flip_pairs: name pairs that swap under a horizontal flip; None to
            infer them with :func:`infer_flip_pairs`, ``[]`` for none.
        sigmas: OKS sigma per keypoint, or one value for all.
        joint_weights: loss weight per keypoint, or one value for all.

    Raises:
        ValueError: duplicate names, a pair naming an unknown keypoint or
            reusing one, or per-keypoint lists of the wrong length.
    """
    names = [str(n) for n in names]
    if not names:
        raise ValueError('build_dataset_info: no keypoint names given')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'build_dataset_info: keypoint names {dup} appear '
                         'more than once')
    pairs = infer_flip_pairs(names) if flip_pairs is None else _check_pairs(
        flip_pairs, names, 'flip_pairs')
    links = _check_pairs(skeleton or [], names, 'skeleton')
    swap = {}
    for a, b in pairs:
        swap[a], swap[b] = b, a

    def per_keypoint(value, field):
        values = [float(value)] * len(names) if isinstance(
            value, (int, float)) else [float(v) for v in value]
        if len(values) != len(names):
            raise ValueError(f'build_dataset_info: {field} has {len(values)}'
                             f' values for {len(names)} keypoints')
        return values

    colors = _palette(len(names))
    link_colors = _palette(len(links))
    return dict(
        dataset_name=dataset_name,
        keypoint_info={
            i: dict(name=n, id=i, color=colors[i], type='',
                    swap=swap.get(n, ''))
            for i, n in enumerate(names)},
        skeleton_info={
            i: dict(link=link, id=i, color=link_colors[i])
            for i, link in enumerate(links)},
        joint_weights=per_keypoint(joint_weights, 'joint_weights'),
        sigmas=per_keypoint(sigmas, 'sigmas'))


def format_dataset_info(info: Dict, header: str = '') -> str:
    """Python source defining ``dataset_info`` (one keypoint or link per
    line), preceded by ``header`` as comment lines."""
    lines = [f'# {line}'.rstrip() for line in header.splitlines()]
    lines += ['dataset_info = dict(',
              f"    dataset_name={info['dataset_name']!r},",
              '    keypoint_info={']
    for i, kpt in info['keypoint_info'].items():
        lines.append(f"        {i}: dict(name={kpt['name']!r}, id={kpt['id']},"
                     f" color={kpt['color']}, type={kpt['type']!r}, "
                     f"swap={kpt['swap']!r}),")
    lines.append('    },')
    if info['skeleton_info']:
        lines.append('    skeleton_info={')
        for i, link in info['skeleton_info'].items():
            lines.append(f"        {i}: dict(link={tuple(link['link'])!r}, "
                         f"id={link['id']}, color={link['color']}),")
        lines.append('    },')
    else:
        lines.append('    skeleton_info={},')
    lines.append(f"    joint_weights={info['joint_weights']},")
    lines.append(f"    sigmas={info['sigmas']})")
    return '\n'.join(lines) + '\n'


def write_dataset_info(info: Dict, path: Union[str, Path],
                       header: str = '') -> Path:
    """Write :func:`format_dataset_info` to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_dataset_info(info, header), encoding='utf-8')
    return path
