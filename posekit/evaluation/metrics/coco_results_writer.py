"""Write COCO keypoint results json quickly.

Turning ~100k floats into text is most of the cost of writing a results
file with ``json.dumps``. Here coordinates are rounded to a fixed number of
decimals and all digits are produced at once with integer array arithmetic
into a fixed-width character matrix; numbers are right-aligned with spaces
(JSON whitespace), so the file is ordinary JSON. Non-finite values fall
back to ``json.dumps`` (which writes ``NaN`` as MMPose's files do).
"""
import json
from typing import List, Optional

import numpy as np

_SPACE, _ZERO, _MINUS, _DOT = (ord(c) for c in ' 0-.')


def round_fixed(values: np.ndarray, decimals: int) -> np.ndarray:
    """Values as parsed back from :func:`format_fixed`'s text."""
    return np.rint(np.asarray(values, np.float64) * 10**decimals) / \
        10**decimals


def format_fixed(values: np.ndarray, decimals: int) -> np.ndarray:
    """(M,) finite floats -> (M, W) uint8 ASCII, each row one number with
    ``decimals`` decimals, right-aligned with leading spaces."""
    scaled = np.rint(np.asarray(values, np.float64).reshape(-1) *
                     10**decimals).astype(np.int64)
    negative = scaled < 0
    magnitude = np.abs(scaled)
    integer, fraction = np.divmod(magnitude, 10**decimals)
    num_int = max(1, len(str(int(integer.max(initial=0)))))
    width = 1 + num_int + (1 + decimals if decimals else 0)
    out = np.full((len(scaled), width), _SPACE, dtype=np.uint8)
    col = width - 1
    for _ in range(decimals):
        fraction, digit = np.divmod(fraction, 10)
        out[:, col] = _ZERO + digit
        col -= 1
    if decimals:
        out[:, col] = _DOT
        col -= 1
    shown = np.ones(len(scaled), dtype=bool)  # units digit always shows
    digits_used = np.zeros(len(scaled), dtype=np.int64)
    for _ in range(num_int):
        integer, digit = np.divmod(integer, 10)
        out[:, col] = np.where(shown, _ZERO + digit, _SPACE)
        digits_used += shown
        shown = integer > 0
        col -= 1
    # the minus sign goes right before the leading digit
    sign_col = width - 1 - (decimals + 1 if decimals else 0) - digits_used
    rows = np.flatnonzero(negative)
    out[rows, sign_col[rows]] = _MINUS
    return out


def _array_texts(values: np.ndarray, decimals: int) -> List[str]:
    """(N, L) finite floats -> N strings ``[v1,v2,...]``."""
    num, length = values.shape
    chars = format_fixed(values, decimals).reshape(num, length, -1)
    sep = np.full((num, length, 1), ord(','), dtype=np.uint8)
    sep[:, -1, 0] = ord(']')
    rows = np.concatenate([chars, sep], axis=2).reshape(num, -1)
    text = rows.tobytes().decode('ascii')
    size = rows.shape[1]
    return ['[' + text[i * size:(i + 1) * size] for i in range(num)]


def write_keypoint_results(path: str, image_ids: np.ndarray,
                           category_ids: np.ndarray, keypoints: np.ndarray,
                           scores: np.ndarray,
                           bboxes: Optional[np.ndarray] = None,
                           decimals: int = 4) -> None:
    """Write ``[{"image_id", "category_id", "keypoints", "score"[, "bbox"]}]``.

    Args:
        image_ids, category_ids, scores: (N,); scores keep full precision.
        keypoints: (N, K, 3) x, y, score, written with ``decimals``
            decimals (round them with :func:`round_fixed` to know exactly
            what the file holds).
        bboxes: (N, 4) xywh or None; rows with NaN are left out.
    """
    num = len(image_ids)
    flat = np.asarray(keypoints, np.float64)
    # (N, K * 3); reshape(0, -1) is ambiguous, so give the width
    flat = flat.reshape(num, int(np.prod(flat.shape[1:])))
    boxes = None if bboxes is None else np.asarray(bboxes, np.float64)
    has_box = (np.zeros(num, bool) if boxes is None else
               ~np.isnan(boxes).any(1))
    if not (_fits(flat) and _fits(boxes[has_box] if has_box.any() else flat)
            and np.isfinite(np.asarray(scores, float)).all()):
        _write_with_json(path, image_ids, category_ids, flat, scores, boxes,
                         has_box, decimals)
        return
    kpt_texts = _array_texts(flat, decimals) if num else []
    box_texts = [''] * num
    if has_box.any():
        rows = np.flatnonzero(has_box)
        for i, text in zip(rows.tolist(),
                           _array_texts(boxes[rows], decimals)):
            box_texts[i] = ', "bbox": ' + text
    # json writes floats as repr does; scores keep full precision
    entries = [
        f'{{"image_id": {i}, "category_id": {c}, "keypoints": {k}, '
        f'"score": {s!r}{b}}}'
        for i, c, k, s, b in zip(_id_texts(image_ids),
                                 _id_texts(category_ids), kpt_texts,
                                 np.asarray(scores, float).tolist(),
                                 box_texts)
    ]
    with open(path, 'w', encoding='utf-8') as f:
        f.write('[' + ', '.join(entries) + ']')


def _fits(values: np.ndarray) -> bool:
    # finite and small enough for the int64 fixed-point digits
    return bool(np.isfinite(values).all()) and (
        values.size == 0 or float(np.abs(values).max()) < 1e13)


def _id_texts(ids: np.ndarray) -> List[str]:
    ids = np.asarray(ids)
    if ids.dtype.kind in 'iu':
        return [str(v) for v in ids.tolist()]
    return [json.dumps(v) for v in ids.tolist()]


def _write_with_json(path, image_ids, category_ids, flat, scores, boxes,
                     has_box, decimals) -> None:
    entries = []
    for j, (i, c, k, s) in enumerate(
            zip(image_ids.tolist(), category_ids.tolist(),
                np.round(flat, decimals).tolist(),
                np.asarray(scores, float).tolist())):
        entry = dict(image_id=i, category_id=c, keypoints=k, score=s)
        if has_box[j]:
            entry['bbox'] = np.round(boxes[j], decimals).tolist()
        entries.append(entry)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(entries))
