"""DeepLabCut project -> COCO keypoint files + ``dataset_info`` metainfo.

Output layout (what ``configs/custom/td-hm_res18_custom-coco.py`` reads)::

    OUT/annotations/train.json   COCO keypoints, the training frames
    OUT/annotations/val.json     the held-out frames
    OUT/dataset_info.py          keypoint names, flip pairs, skeleton, sigmas
    OUT/images                   link to (or copy of) the project's frames;
                                 ``file_name`` is relative to it

One COCO image per labelled frame and one annotation per animal with at
least one labelled point: keypoints as ``[x, y, v]`` with ``v=2`` for
labelled and ``[0, 0, 0]`` for unlabelled points, and a box around the
labelled points widened by ``bbox_margin`` pixels per side (clipped to the
image).
"""
import json
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .dataset_info import build_dataset_info, write_dataset_info
from .dlc_csv import DLCLabels, read_collected_data

__all__ = ['load_dlc_config', 'find_collected_data', 'dlc_labels_to_coco',
           'split_coco', 'convert_dlc_project']

PathLike = Union[str, Path]
IMAGE_MODES = ('symlink', 'copy')


def load_dlc_config(path: PathLike) -> Dict:
    """The keys of a DeepLabCut ``config.yaml`` (PyYAML is a dependency of
    mmengine, so it is always installed).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not YAML, or not a mapping.
    """
    import yaml
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'DeepLabCut config {path} does not exist')
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except yaml.YAMLError as err:
        raise ValueError(f'DeepLabCut config {path} is not valid YAML: '
                         f'{err}') from None
    if not isinstance(data, dict):
        raise ValueError(f'DeepLabCut config {path} must be a mapping of '
                         f'keys, got {type(data).__name__}')
    return data


def find_collected_data(project_dir: PathLike,
                        scorer: Optional[str] = None) -> List[Path]:
    """The label files ``labeled-data/<video>/CollectedData_<scorer>.csv``
    of a project, sorted by path (any scorer when ``scorer`` is None).

    Raises:
        FileNotFoundError: no such file (the pattern searched is named).
    """
    pattern = f'CollectedData_{scorer or "*"}.csv'
    root = Path(project_dir) / 'labeled-data'
    found = sorted(root.glob(f'*/{pattern}'))
    if not found:
        raise FileNotFoundError(
            f'no DeepLabCut label files {root}/*/{pattern} found; give the '
            'project folder (the one holding config.yaml and labeled-data/)')
    return found


def _merge_labels(labels: Sequence[DLCLabels]) -> DLCLabels:
    """Concatenate the frames of several csv files of one project.

    Raises:
        ValueError: the files disagree on body parts or individuals, or
            label the same image twice.
    """
    first = labels[0]
    for other in labels[1:]:
        for field in ('bodyparts', 'individuals'):
            if getattr(other, field) != getattr(first, field):
                raise ValueError(
                    f'{other.csv_path} has {field} {getattr(other, field)} '
                    f'but {first.csv_path} has {getattr(first, field)}; all '
                    'label files of a project must have the same columns')
    paths: Dict[str, Path] = {}
    for item in labels:
        for rel in item.image_paths:
            if rel in paths:
                raise ValueError(f'image {rel!r} is labelled in both '
                                 f'{paths[rel]} and {item.csv_path}')
            paths[rel] = item.csv_path
    if len(labels) == 1:
        return first
    return DLCLabels(
        csv_path=first.csv_path, scorer=first.scorer,
        individuals=first.individuals, bodyparts=first.bodyparts,
        image_paths=[p for item in labels for p in item.image_paths],
        image_files=[p for item in labels for p in item.image_files],
        rows=[r for item in labels for r in item.rows],
        keypoints=np.concatenate([item.keypoints for item in labels]))


def _image_size(path: Path) -> Tuple[int, int]:
    """(width, height) of an image file, from its header (Pillow reads only
    the header, far faster than decoding thousands of frames).

    Raises:
        ValueError: the file is not an image Pillow recognises.
    """
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as img:
            return int(img.width), int(img.height)
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f'image {path} cannot be read (not an image file, '
                         f'or corrupt): {err}') from None


def dlc_labels_to_coco(labels: DLCLabels, project_dir: PathLike,
                       category_name: str = 'animal',
                       bbox_margin: float = 20.0,
                       skeleton: Optional[Sequence[Sequence[str]]] = None
                       ) -> Dict:
    """A COCO keypoint dict of all frames of ``labels``.

    Image ids run 1..F in the order of ``labels`` (frames without any
    labelled point are left out), annotation ids 1..A; ``file_name`` is
    the image's path relative to ``project_dir``.

    Raises:
        ValueError: ``bbox_margin`` is negative, or an image is unreadable.
    """
    if bbox_margin < 0:
        raise ValueError(f'bbox_margin must be >= 0 pixels, got '
                         f'{bbox_margin}')
    names = labels.bodyparts
    index = {n: i for i, n in enumerate(names)}
    kpts = labels.keypoints                          # (F, I, K, 2), NaN
    labelled = ~np.isnan(kpts[..., 0])               # (F, I, K)
    has_points = labelled.any(-1)                    # (F, I)
    xy = np.nan_to_num(kpts)
    # Box of the labelled points of each (frame, animal), in pixels.
    big = np.where(labelled[..., None], kpts, np.inf).min(-2)
    small = np.where(labelled[..., None], kpts, -np.inf).max(-2)

    # The file found, relative to the project: the csv's path, or the frame
    # beside the csv when the project was moved (see read_collected_data).
    file_names = [os.path.relpath(p, project_dir).replace(os.sep, '/')
                  for p in labels.image_files]
    images, annotations = [], []
    for f in np.flatnonzero(has_points.any(-1)):
        width, height = _image_size(labels.image_files[f])
        image_id = len(images) + 1
        images.append(dict(id=image_id, file_name=file_names[f],
                           width=width, height=height))
        for ind in np.flatnonzero(has_points[f]):
            x0, y0 = np.maximum(big[f, ind] - bbox_margin, 0)
            x1, y1 = np.minimum(small[f, ind] + bbox_margin,
                                [width, height])
            vis = labelled[f, ind]
            flat = np.concatenate(
                [xy[f, ind], np.where(vis, 2, 0)[:, None]], axis=1)
            w, h = float(max(x1 - x0, 0)), float(max(y1 - y0, 0))
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id, category_id=1,
                bbox=[float(x0), float(y0), w, h], area=w * h, iscrowd=0,
                num_keypoints=int(vis.sum()),
                keypoints=[float(v) if i % 3 != 2 else int(v)
                           for i, v in enumerate(flat.reshape(-1))]))
            if labels.individuals[ind]:
                annotations[-1]['individual'] = labels.individuals[ind]
    links = [[index[a] + 1, index[b] + 1] for a, b in (skeleton or [])]
    return dict(images=images, annotations=annotations, categories=[dict(
        id=1, name=category_name, supercategory='animal',
        keypoints=list(names), skeleton=links)])


def split_coco(coco: Dict, val_fraction: float,
               seed: int = 0) -> Tuple[Dict, Dict]:
    """Split a COCO dict by image into (train, val); the same ``seed`` and
    images always give the same split.

    ``round(val_fraction * num_images)`` images go to val, drawn with
    ``numpy.random.default_rng(seed)``; both parts keep the file order.

    Raises:
        ValueError: ``val_fraction`` is not in (0, 1) or leaves a part
            empty.
    """
    num = len(coco['images'])
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got '
                         f'{val_fraction}')
    num_val = int(round(val_fraction * num))
    if not 0 < num_val < num:
        raise ValueError(f'val_fraction={val_fraction} of {num} images '
                         f'gives {num_val} validation images; both splits '
                         'need at least one')
    order = np.random.default_rng(seed).permutation(num)
    is_val = np.zeros(num, dtype=bool)
    is_val[order[:num_val]] = True
    parts = []
    for want in (False, True):
        ids = {img['id'] for img, v in zip(coco['images'], is_val)
               if v == want}
        parts.append(dict(
            images=[img for img in coco['images'] if img['id'] in ids],
            annotations=[a for a in coco['annotations']
                         if a['image_id'] in ids],
            categories=coco['categories']))
    return parts[0], parts[1]


def _link_images(project_dir: Path, out_dir: Path, coco: Dict,
                 image_mode: str) -> Path:
    """Make ``out_dir/images`` show the project's frames: a symlink to the
    project folder, or copies of the frames listed in ``coco``.

    Raises:
        FileExistsError: ``out_dir/images`` exists and is something else.
    """
    images = out_dir / 'images'
    target = project_dir.resolve()
    if image_mode == 'symlink':
        if images.is_symlink() and images.resolve() == target:
            return images
        if images.exists() or images.is_symlink():
            raise FileExistsError(
                f'{images} already exists and is not a link to {target}; '
                'remove it or choose another output folder')
        os.symlink(target, images, target_is_directory=True)
        return images
    if images.is_symlink():
        raise FileExistsError(f'{images} is a link; remove it to copy the '
                              'images instead')
    for img in coco['images']:
        dst = images / img['file_name']
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_dir / img['file_name'], dst)
    return images


def _write_json(data: Dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(data), encoding='utf-8')
    os.replace(tmp, path)  # a reader never sees a half-written file


def convert_dlc_project(project_dir: PathLike,
                        out_dir: PathLike,
                        config_path: Optional[PathLike] = None,
                        val_fraction: float = 0.2,
                        seed: int = 0,
                        bbox_margin: float = 20.0,
                        sigma: float = 0.05,
                        flip_pairs: Optional[Sequence[Sequence[str]]] = None,
                        dataset_name: Optional[str] = None,
                        image_mode: str = 'symlink') -> Dict:
    """Convert a DeepLabCut project into the layout of the module doc.

    Args:
        project_dir: the project folder (``labeled-data/*/CollectedData_*.
            csv``; image paths in the csv are relative to it).
        out_dir: where to write; created if needed.
        config_path: the project's ``config.yaml`` for ``scorer``,
            ``Task``, ``bodyparts`` and ``skeleton``; by default
            ``project_dir/config.yaml`` when it exists.
        val_fraction, seed: the frame split (see :func:`split_coco`).
        bbox_margin: pixels added on each side of the labelled points' box.
        sigma: OKS sigma written for every keypoint.
        flip_pairs: keypoint-name pairs swapped by a horizontal flip; None
            infers them from left/right names, ``[]`` means none.
        dataset_name: defaults to the config's ``Task``, else the project
            folder's name.
        image_mode: ``'symlink'`` (``out_dir/images`` links to the project)
            or ``'copy'`` (the labelled frames are copied there).

    Returns:
        a summary: ``num_images``, ``num_unlabelled_frames`` (frames of
        the csv files without any labelled point, left out),
        ``num_annotations``, ``num_train``,
        ``num_val`` (images), ``keypoints``, ``flip_pairs``, ``skeleton``
        and the paths written (``train_json``, ``val_json``,
        ``dataset_info``, ``images``).

    Raises:
        FileNotFoundError: no label file, a missing image or config.
        DLCFormatError: a malformed label csv (file and row named).
        ValueError: config body parts or skeleton that do not match the
            labels, bad split or margin, unknown ``image_mode``.
    """
    if image_mode not in IMAGE_MODES:
        raise ValueError(f'image_mode must be one of {IMAGE_MODES}, got '
                         f'{image_mode!r}')
    project_dir, out_dir = Path(project_dir), Path(out_dir)
    if config_path is None and (project_dir / 'config.yaml').is_file():
        config_path = project_dir / 'config.yaml'
    config = load_dlc_config(config_path) if config_path else {}
    scorer = config.get('scorer') or None
    labels = _merge_labels([read_collected_data(p, project_dir) for p in
                            find_collected_data(project_dir, scorer)])
    names = labels.bodyparts
    bodyparts = config.get('multianimalbodyparts') or config.get('bodyparts')
    if isinstance(bodyparts, list) and sorted(map(str, bodyparts)) != sorted(
            names):
        raise ValueError(f'{config_path}: bodyparts {bodyparts} differ from '
                         f'the body parts labelled in {labels.csv_path}: '
                         f'{names}')
    skeleton = config.get('skeleton') or []
    for link in skeleton:
        if not isinstance(link, (list, tuple)) or len(link) != 2 or any(
                n not in names for n in link):
            raise ValueError(f'{config_path}: skeleton link {link!r} must '
                             f'name two labelled body parts of {names}')
    name = dataset_name or config.get('Task') or project_dir.resolve().name
    info = build_dataset_info(names, str(name), skeleton=skeleton,
                              flip_pairs=flip_pairs, sigmas=sigma)

    coco = dlc_labels_to_coco(labels, project_dir, bbox_margin=bbox_margin,
                              skeleton=skeleton)
    train, val = split_coco(coco, val_fraction, seed)
    paths = dict(train_json=out_dir / 'annotations' / 'train.json',
                 val_json=out_dir / 'annotations' / 'val.json',
                 dataset_info=out_dir / 'dataset_info.py')
    _write_json(train, paths['train_json'])
    _write_json(val, paths['val_json'])
    write_dataset_info(info, paths['dataset_info'], header=(
        f'Keypoints of the DeepLabCut project {project_dir.resolve()},\n'
        'written by tools/dataset_converters/dlc2coco.py.'))
    paths['images'] = _link_images(project_dir, out_dir, coco, image_mode)
    swaps = [(kpt['name'], kpt['swap'])
             for kpt in info['keypoint_info'].values()
             if kpt['swap'] and names.index(kpt['name']) <
             names.index(kpt['swap'])]
    return dict(num_images=len(coco['images']),
                num_unlabelled_frames=len(labels.rows) - len(coco['images']),
                num_annotations=len(coco['annotations']),
                num_train=len(train['images']), num_val=len(val['images']),
                keypoints=list(names), flip_pairs=swaps,
                skeleton=[tuple(link) for link in skeleton],
                **{k: str(v) for k, v in paths.items()})
