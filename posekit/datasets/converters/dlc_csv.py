"""Reading DeepLabCut ``CollectedData_<scorer>.csv`` label files.

A DeepLabCut label table has header rows naming, per data column, the
scorer, (in multi-animal projects) the individual, the body part and the
coordinate (``x``/``y``), followed by one row per labelled frame. The
leading cells of a frame row hold the image path relative to the project,
either in one cell (``labeled-data/video/img001.png``) or split over several
index columns (newer DeepLabCut versions). Unlabelled points are empty
cells. Rows are numbered from 1 in error messages, as in a text editor.
"""
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np

__all__ = ['DLCLabels', 'DLCFormatError', 'read_collected_data']

_SINGLE_HEADER = ('scorer', 'bodyparts', 'coords')
_MULTI_HEADER = ('scorer', 'individuals', 'bodyparts', 'coords')


class DLCFormatError(ValueError):
    """A DeepLabCut label file that cannot be read; the message names the
    file and the row (1-based)."""


@dataclass
class DLCLabels:
    """The labels of one ``CollectedData_*.csv``.

    Attributes:
        csv_path: the file read.
        scorer: the labeller's name from the ``scorer`` header row.
        individuals: animal names (multi-animal projects) or ``['']``.
        bodyparts: keypoint names in the order of their first column.
        image_paths: per frame, the image path relative to the project
            directory with ``/`` separators.
        image_files: per frame, the absolute path of the image found.
        rows: per frame, its 1-based row number in the file.
        keypoints: ``(F, I, K, 2)`` float64 pixel coordinates, NaN where a
            point is not labelled (F frames, I individuals, K body parts).
    """
    csv_path: Path
    scorer: str
    individuals: List[str]
    bodyparts: List[str]
    image_paths: List[str]
    image_files: List[Path]
    rows: List[int]
    keypoints: np.ndarray


def _fail(csv_path: Path, row: int, message: str) -> DLCFormatError:
    return DLCFormatError(f'{csv_path}: row {row}: {message}')


def _header_layout(csv_path: Path,
                   table: List[List[str]]) -> Tuple[Tuple[str, ...], int]:
    """The header row names and the number of index (image path) columns.

    Raises:
        DLCFormatError: the first cells of the header rows are not
            ``scorer, [individuals,] bodyparts, coords``, or the header
            rows differ in length or have no data columns.
    """
    expected = 'scorer, [individuals,] bodyparts, coords'
    if not table:
        raise _fail(csv_path, 1, 'the file is empty; a DeepLabCut label '
                    f'file starts with header rows {expected}')
    second = table[1][0].strip() if len(table) > 1 and table[1] else ''
    names = _MULTI_HEADER if second == 'individuals' else _SINGLE_HEADER
    for row, name in enumerate(names):
        got = table[row][0].strip() if row < len(table) and table[row] \
            else '<missing>'
        if got != name:
            raise _fail(csv_path, row + 1,
                        f'expected a header row starting with {name!r}, got '
                        f'{got!r}; the header rows must be {expected}')
    width = len(table[0])
    for row in range(1, len(names)):
        if len(table[row]) != width:
            raise _fail(csv_path, row + 1,
                        f'header row {names[row]!r} has {len(table[row])} '
                        f'cells but the {names[0]!r} row has {width}')
    # Index columns are those whose header cells are empty: 1 for a joined
    # path, more when newer DeepLabCut splits the path over several cells.
    num_index = 1
    while num_index < width and not table[0][num_index].strip():
        num_index += 1
    if num_index == width:
        raise _fail(csv_path, 1, 'the header has no data columns (every cell'
                    ' after the first is empty)')
    return names, num_index


def _column_groups(csv_path: Path, table: List[List[str]],
                   names: Sequence[str], num_index: int):
    """Map data columns to (individual, body part, coordinate) indices.

    Returns:
        individuals, bodyparts, and three int arrays (one entry per data
        column): individual index, body-part index, 0 for x / 1 for y.

    Raises:
        DLCFormatError: a coordinate other than x/y (e.g. ``likelihood``,
            found in prediction files), an x without its y, or the same
            body part of the same individual twice.
    """
    rows = {name: i for i, name in enumerate(names)}
    coords = [c.strip() for c in table[rows['coords']][num_index:]]
    parts = [c.strip() for c in table[rows['bodyparts']][num_index:]]
    if 'individuals' in rows:
        owners = [c.strip() for c in table[rows['individuals']][num_index:]]
    else:
        owners = [''] * len(coords)
    coord_row = rows['coords'] + 1
    bad = [c for c in coords if c not in ('x', 'y')]
    if bad:
        hint = (' (this looks like a predictions file, not labels)'
                if 'likelihood' in bad else '')
        raise _fail(csv_path, coord_row,
                    f'coordinate names must be x or y, got {bad[0]!r}{hint}')
    if len(coords) % 2 or coords[0::2] != ['x'] * (len(coords) // 2) \
            or coords[1::2] != ['y'] * (len(coords) // 2):
        raise _fail(csv_path, coord_row,
                    'coordinates must come in x, y pairs per body part, got '
                    f'{coords}')
    individuals: List[str] = []
    bodyparts: List[str] = []
    seen = set()
    for col in range(0, len(coords), 2):
        key = (owners[col], parts[col])
        if (owners[col + 1], parts[col + 1]) != key:
            raise _fail(csv_path, rows['bodyparts'] + 1,
                        f'the x and y columns of body part {parts[col]!r} '
                        'name different body parts or individuals')
        if not parts[col]:
            raise _fail(csv_path, rows['bodyparts'] + 1,
                        f'data column {num_index + col + 1} has no body-part '
                        'name')
        if key in seen:
            raise _fail(csv_path, rows['bodyparts'] + 1,
                        f'body part {parts[col]!r}'
                        + (f' of individual {owners[col]!r}' if owners[col]
                           else '') + ' appears twice')
        seen.add(key)
        if owners[col] not in individuals:
            individuals.append(owners[col])
        if parts[col] not in bodyparts:
            bodyparts.append(parts[col])
    if 'single' in individuals and len(individuals) > 1:
        raise _fail(csv_path, rows['individuals'] + 1,
                    "unique body parts (individual 'single') of multi-animal"
                    ' projects are not supported; remove those columns or '
                    'label them per individual')
    ind_idx = np.array([individuals.index(o) for o in owners])
    part_idx = np.array([bodyparts.index(p) for p in parts])
    coord_idx = np.array([0 if c == 'x' else 1 for c in coords])
    return individuals, bodyparts, ind_idx, part_idx, coord_idx


def _parse_values(csv_path: Path, cells: List[List[str]], rows: List[int],
                  columns: List[str]) -> np.ndarray:
    """``(F, C)`` float64 values; empty cells become NaN.

    Raises:
        DLCFormatError: a cell is not a number or is infinite; the first
            such cell is named by row and column.
    """
    flat = [[c.strip() or 'nan' for c in row] for row in cells]
    try:
        values = np.array(flat, dtype=np.float64).reshape(len(cells), -1)
    except ValueError:
        values = None
    if values is not None and not np.isinf(values).any():
        return values
    # Slow path, only to name the culprit.
    for row, line in zip(rows, flat):
        for col, cell in enumerate(line):
            try:
                ok = not np.isinf(float(cell))
            except ValueError:
                ok = False
            if not ok:
                raise _fail(csv_path, row,
                            f'cell {cell!r} in column {columns[col]} is not '
                            'a number (coordinates are numbers in pixels; '
                            'leave the cell empty for an unlabelled point)')
    raise AssertionError('unreachable: a bad cell was not found')


def _find_image(csv_path: Path, project_dir: Path, rel_path: str,
                row: int) -> Path:
    """The image of a frame: the path under the project, else a file of
    the same name beside the csv (DeepLabCut keeps the frames there).

    Raises:
        FileNotFoundError: neither exists; both paths tried are named.
    """
    candidates = [project_dir / rel_path]
    beside = csv_path.parent / Path(rel_path).name
    if beside != candidates[0]:
        candidates.append(beside)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f'{csv_path}: row {row}: image {rel_path!r} does not exist; tried '
        + ', '.join(str(c) for c in candidates))


def read_collected_data(csv_path: Union[str, Path],
                        project_dir: Union[str, Path]) -> DLCLabels:
    """Read one DeepLabCut label csv and check that its images exist.

    Args:
        csv_path: a ``CollectedData_<scorer>.csv`` file.
        project_dir: the DeepLabCut project folder the image paths are
            relative to.

    Returns:
        :class:`DLCLabels` with keypoints ``(F, I, K, 2)`` in image pixels
        (NaN for unlabelled points).

    Raises:
        FileNotFoundError: the csv or a frame's image does not exist.
        DLCFormatError: wrong header rows, a row with the wrong number of
            cells, a non-numeric cell, or a point with x but no y (the file
            and row are named).
    """
    csv_path = Path(csv_path)
    project_dir = Path(project_dir)
    if not csv_path.is_file():
        raise FileNotFoundError(f'DeepLabCut label file {csv_path} does not '
                                'exist')
    with open(csv_path, newline='', encoding='utf-8-sig') as f:
        table = list(csv.reader(f))
    names, num_index = _header_layout(csv_path, table)
    individuals, bodyparts, ind_idx, part_idx, coord_idx = _column_groups(
        csv_path, table, names, num_index)
    width = len(table[0])
    columns = [f'{num_index + c + 1} ({bodyparts[p]} {"xy"[x]}'
               + (f' of {individuals[i]}' if individuals[i] else '') + ')'
               for c, (i, p, x) in enumerate(zip(ind_idx, part_idx,
                                                 coord_idx))]

    cells, rows, rel_paths, files = [], [], [], []
    for row, line in enumerate(table[len(names):], start=len(names) + 1):
        if not any(c.strip() for c in line):
            continue  # blank lines, e.g. at the end of the file
        if len(line) != width:
            raise _fail(csv_path, row, f'has {len(line)} cells, but the '
                        f'header has {width}')
        parts = [p for c in line[:num_index]
                 for p in c.strip().replace('\\', '/').split('/') if p]
        if not parts:
            raise _fail(csv_path, row, 'the image path cell(s) are empty')
        rel_path = '/'.join(parts)
        files.append(_find_image(csv_path, project_dir, rel_path, row))
        rel_paths.append(rel_path)
        rows.append(row)
        cells.append(line[num_index:])
    if not rows:
        raise _fail(csv_path, len(names) + 1, 'the file has header rows but '
                    'no labelled frames')

    values = _parse_values(csv_path, cells, rows, columns)
    keypoints = np.full((len(rows), len(individuals), len(bodyparts), 2),
                        np.nan)
    keypoints[:, ind_idx, part_idx, coord_idx] = values
    half = np.isnan(keypoints).any(-1) & ~np.isnan(keypoints).all(-1)
    if half.any():
        frame, ind, part = (int(v[0]) for v in np.nonzero(half))
        raise _fail(csv_path, rows[frame],
                    f'body part {bodyparts[part]!r}'
                    + (f' of {individuals[ind]!r}' if individuals[ind]
                       else '') + ' has only one of x and y; give both or '
                    'leave both empty')
    return DLCLabels(csv_path=csv_path, scorer=table[0][num_index].strip(),
                     individuals=individuals, bodyparts=bodyparts,
                     image_paths=rel_paths, image_files=files, rows=rows,
                     keypoints=keypoints)
