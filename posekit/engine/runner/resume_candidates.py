"""Finding the checkpoint ``--resume`` (auto) continues from.

mmengine resumes from whatever ``work_dir/last_checkpoint`` names; if that
file is missing, empty, or names a checkpoint that was deleted or cut short
(a kill during a non-atomic write), resume fails or starts over. Here the
named checkpoint is tried first, then every ``epoch_N.pth``/``iter_N.pth``
beside it, newest first; the first that loads completely is used, with a
warning that names the one that was skipped. Left-over temporary files of
interrupted atomic writes (``.tmp-*``) are removed.
"""
import logging
import os
import os.path as osp
import re
from typing import Any, Callable, List, Optional, Tuple

from mmengine.logging import print_log

from .atomic_backend import TMP_PREFIX

_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')


def _read_last(work_dir: str) -> Optional[str]:
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read().strip() or None


def candidates(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """``(named, others)``: the checkpoint ``last_checkpoint`` names (None
    when that file is absent or empty) and the other ``epoch_N.pth`` /
    ``iter_N.pth`` files in its folder and in ``work_dir``, newest (by
    modification time, then N) first."""
    named = _read_last(work_dir)
    folders = {osp.abspath(work_dir)}
    if named:
        folders.add(osp.dirname(osp.abspath(named)))
    found = {}
    for folder in folders:
        if not osp.isdir(folder):
            continue
        for name in os.listdir(folder):
            match = _NAME.match(name)
            path = osp.join(folder, name)
            if match and osp.isfile(path):
                found[path] = (osp.getmtime(path), int(match.group(1)))
    skip = osp.abspath(named) if named else None
    others = sorted((p for p in found if p != skip),
                    key=lambda p: found[p], reverse=True)
    return named, others


def remove_partial_writes(work_dir: str) -> List[str]:
    """Delete the temporary files interrupted atomic writes left in
    ``work_dir``; returns their paths."""
    removed = []
    if osp.isdir(work_dir):
        for name in os.listdir(work_dir):
            if name.startswith(TMP_PREFIX):
                path = osp.join(work_dir, name)
                os.remove(path)
                removed.append(path)
    return removed


def _complete(checkpoint: Any) -> Optional[str]:
    """Why ``checkpoint`` cannot be resumed from, or None."""
    if not isinstance(checkpoint, dict):
        return f'it holds a {type(checkpoint).__name__}, not a dict'
    missing = [k for k in ('meta', 'state_dict') if k not in checkpoint]
    if missing:
        return f"it has no {' or '.join(missing)}"
    return None


def newest_complete(work_dir: str, load: Callable[[str], Any]
                    ) -> Tuple[Optional[str], Any]:
    """The newest checkpoint of ``work_dir`` that ``load`` reads
    completely, and what it read (``(None, None)`` when there is none).

    Tries the checkpoint ``last_checkpoint`` names, then the others newest
    first; logs a warning naming each one skipped and why, and the one
    used.
    """
    named, others = candidates(work_dir)
    skipped = []
    if named is None:
        skipped.append(f'{osp.join(work_dir, "last_checkpoint")} is missing '
                       'or empty')
    for path in ([named] if named else []) + others:
        try:
            if not osp.isfile(path):
                raise FileNotFoundError('the file does not exist')
            checkpoint = load(path)
            problem = _complete(checkpoint)
        except Exception as err:  # a cut-short file fails in many ways
            problem = f'{type(err).__name__}: {err}'.splitlines()[0]
        if problem is None:
            if skipped:
                print_log('resume: skipped ' + '; '.join(skipped)
                          + f'; resuming from {path}, the newest complete '
                          'checkpoint', logger='current',
                          level=logging.WARNING)
            return path, checkpoint
        skipped.append(f'checkpoint {path} ({problem})')
    if named is not None or others:
        print_log('resume: no complete checkpoint in '
                  f"{work_dir}: skipped {'; '.join(skipped)}; training "
                  'starts from the beginning', logger='current',
                  level=logging.WARNING)
    return None, None
