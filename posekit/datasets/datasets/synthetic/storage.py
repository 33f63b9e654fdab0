"""Generate-once storage of the synthetic dataset, safe across processes.

The data is written into a temporary sibling folder and renamed into place
in one step, so a process (another distributed rank, or the validation
dataset built after the training one) either finds no folder or a complete
one. A stamp file inside records the generation parameters; a folder made
with other parameters is never silently reused.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Any, Dict, Sequence

from mmengine.logging import print_log

from .generator import (GENERATOR_VERSION, check_generator_args,
                        generate_synthetic_coco)

STAMP_FILE = 'synthetic_stamp.json'
_STAMP_KIND = 'posekit.synthetic_coco'


def synthetic_params(num_train: int, num_val: int, image_size: Sequence[int],
                     seed: int, max_persons: int,
                     side_tint: float) -> Dict[str, Any]:
    """The parameters a stamp records, in a json-comparable form."""
    return dict(version=GENERATOR_VERSION, num_train=num_train,
                num_val=num_val, image_size=list(image_size), seed=seed,
                max_persons=max_persons, side_tint=float(side_tint))


def _check_stamp(root: str, params: Dict[str, Any]) -> None:
    path = osp.join(root, STAMP_FILE)
    try:
        with open(path) as f:
            stamp = json.load(f)
        recorded = stamp['params']
        if stamp.get('kind') != _STAMP_KIND or not isinstance(recorded,
                                                              dict):
            raise KeyError('kind')
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f'The synthetic-data stamp {path} is unreadable '
                         f'({err!r}); delete the folder {root} to '
                         'regenerate it') from None
    for key, value in params.items():
        if recorded.get(key) != value:
            raise ValueError(
                f'The synthetic data in {root} was generated with '
                f'{key}={recorded.get(key)!r}, but {key}={value!r} is asked '
                'for. Use the same parameters for every dataset sharing '
                'this data_root (the train and val datasets must agree on '
                f"{', '.join(k for k in params if k != 'version')}), "
                'choose another data_root, or delete the folder to '
                'regenerate it.')


def ensure_synthetic_coco(data_root: str, num_train: int, num_val: int,
                          image_size: Sequence[int], seed: int,
                          max_persons: int, side_tint: float) -> str:
    """Make sure ``data_root`` holds the synthetic data for these arguments.

    Generates both splits (see :func:`generate_synthetic_coco`) when the
    folder is missing or empty; otherwise checks its stamp.

    Returns:
        The absolute path of ``data_root``.

    Raises:
        ValueError: the folder was generated with different parameters (the
            message names the folder and the parameter), its stamp is
            unreadable, or it holds other files and no stamp; or an argument
            is out of range.
    """
    check_generator_args(num_train, num_val, image_size, seed, max_persons,
                         side_tint)
    root = osp.abspath(data_root)
    params = synthetic_params(num_train, num_val, image_size, seed,
                              max_persons, side_tint)
    if osp.isfile(osp.join(root, STAMP_FILE)):
        _check_stamp(root, params)
        return root
    if osp.isdir(root) and os.listdir(root):
        raise ValueError(
            f'{root} is not empty but has no {STAMP_FILE}, so it was not '
            'written by the synthetic-data generator; point data_root at a '
            'missing or empty folder')
    if osp.exists(root) and not osp.isdir(root):
        raise ValueError(f'data_root {root} exists and is not a folder')
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-', dir=parent)
    try:
        print_log(f'Generating synthetic COCO-keypoint data in {root} '
                  f'({num_train} train, {num_val} val images)',
                  logger='current')
        counts = generate_synthetic_coco(
            tmp, num_train=num_train, num_val=num_val, image_size=image_size,
            seed=seed, max_persons=max_persons, side_tint=side_tint)
        with open(osp.join(tmp, STAMP_FILE), 'w') as f:
            json.dump(dict(kind=_STAMP_KIND, params=params, counts=counts),
                      f, indent=1)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private to its creator
        try:
            # Atomic; fails if another process has put a complete copy
            # there first, which is then checked like any existing copy.
            os.rename(tmp, root)
        except OSError:
            if not osp.isfile(osp.join(root, STAMP_FILE)):
                raise
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    _check_stamp(root, params)
    return root
