"""Generation of a synthetic COCO-keypoint dataset of humanoid figures.

``generate_synthetic_coco`` writes, under ``out_dir``::

    images/train/000001.jpg ...      images/val/000001.jpg ...
    annotations/person_keypoints_train.json
    annotations/person_keypoints_val.json

Every image is drawn from its own random generator seeded with
``(seed, split, index)``, so output is byte-identical for the same
arguments, and the validation images do not depend on ``num_train``.
"""
import json
import os
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from . import humanoid as hm
from . import render

GENERATOR_VERSION = 1
SPLITS = ('train', 'val')
# Two figures' boxes may overlap at most this much (IoU), which keeps
# occlusion partial; a figure that cannot be placed is left out.
MAX_BOX_IOU = 0.25
_PLACEMENT_TRIES = 20


def _box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box ``(4,)`` with boxes ``(M, 4)``."""
    lt = np.maximum(box[:2], others[:, :2])
    rb = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(others[:, 2:] - others[:, :2], axis=1)
    return inter / (area + areas - inter)


def _place_figures(rng: np.random.Generator, width: int, height: int,
                   max_persons: int) -> List[dict]:
    """Pose, size and position 1..max_persons figures in the image."""
    count = int(rng.integers(1, max_persons + 1))
    size = np.array([width, height], dtype=float)
    figures, boxes = [], np.zeros((0, 4))
    for _ in range(count):
        pose = hm.sample_pose(rng)
        lo, hi = (0.45, 0.95) if count == 1 else (0.35, 0.8)
        fig_h = rng.uniform(lo, hi) * height
        angle = (rng.uniform(-40, 40) if rng.random() < 0.1
                 else rng.uniform(-20, 20))
        rel = hm.project(pose, fig_h, angle, np.zeros(2))
        ext = render.figure_extent(pose, rel, fig_h)
        extent_size = ext[2:] - ext[:2]
        # Sometimes let part of the figure leave the image (truncation).
        slack = extent_size * (rng.uniform(0, 0.3) if rng.random() < 0.2
                               else 0.0)
        low = -ext[:2] - slack
        high = size - ext[2:] + slack
        for _ in range(_PLACEMENT_TRIES):
            offset = np.where(high > low, rng.uniform(low, np.maximum(
                high, low)), (low + high) / 2)
            box = np.concatenate([ext[:2] + offset, ext[2:] + offset])
            if len(boxes) == 0 or _box_iou(box, boxes).max() <= MAX_BOX_IOU:
                break
        else:
            continue
        boxes = np.vstack([boxes, box])
        figures.append(dict(pose=pose, pts=rel + offset, height=fig_h,
                            angle=angle, extent=box))
    return figures


def render_sample(rng: np.random.Generator, image_size: Tuple[int, int],
                  max_persons: int = 4,
                  side_tint: float = 0.3) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image and its person annotations.

    Args:
        rng: the generator every random draw comes from.
        image_size: ``(w, h)`` in pixels.
        max_persons: figures per image are drawn uniformly in
            ``1..max_persons`` (fewer when they cannot be placed apart).
        side_tint: how strongly (0..1) the figures' left limbs are blended
            towards :data:`render.LEFT_TINT`.

    Returns:
        ``img`` ``(h, w, 3)`` uint8 BGR, and one dict per figure with
        ``keypoints`` ``(17, 3)`` (x, y, v) in pixels with COCO's v and
        ``bbox`` xywh.
    """
    width, height = image_size
    img = render.render_background(rng, width, height)
    owner = np.zeros((height, width), dtype=np.int32)
    figures = _place_figures(rng, width, height, max_persons)
    # Figures standing lower in the image are nearer, so drawn later.
    figures.sort(key=lambda f: f['extent'][3])
    for i, fig in enumerate(figures):
        cols = render.sample_colours(rng, side_tint)
        render.draw_figure(img, owner, i, fig['pose'], fig['pts'],
                           fig['height'], fig['angle'], cols)
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    img = np.clip(img + noise * rng.uniform(2, 6), 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    if not figures:
        return img, []

    kpts = np.stack([f['pts'][:hm.NUM_KEYPOINTS] for f in figures])
    face_ok = np.stack([f['pose'].face_normal_z > render.FACE_LABEL_MIN_Z
                        for f in figures])
    inside = ((kpts >= 0) & (kpts <= np.array([width - 1, height - 1]))).all(
        axis=-1)
    labelled = inside.copy()
    labelled[:, :5] &= face_ok
    seen = render.keypoint_visibility(owner, kpts, np.arange(len(figures)))
    vis = np.where(labelled, np.where(seen, 2, 1), 0)
    anns = []
    for i, fig in enumerate(figures):
        pad = 1.0 + 0.01 * fig['height']
        x1, y1 = np.maximum(fig['extent'][:2] - pad, 0)
        x2 = min(fig['extent'][2] + pad, width)
        y2 = min(fig['extent'][3] + pad, height)
        kp = np.concatenate([kpts[i], vis[i][:, None]], axis=1)
        kp[vis[i] == 0, :2] = 0
        anns.append(dict(keypoints=kp, bbox=[x1, y1, x2 - x1, y2 - y1]))
    return img, anns


def coco_categories() -> List[dict]:
    """COCO's person category with its 17 keypoint names and skeleton."""
    return [dict(id=1, name='person', supercategory='person',
                 keypoints=list(hm.KEYPOINT_NAMES),
                 skeleton=[list(p) for p in hm.COCO_SKELETON])]


def check_generator_args(num_train: int, num_val: int,
                         image_size: Sequence[int], seed: int,
                         max_persons: int, side_tint: float) -> None:
    """Raise ValueError naming the first out-of-range argument."""
    for name, value, least in (('num_train', num_train, 0),
                               ('num_val', num_val, 0), ('seed', seed, 0),
                               ('max_persons', max_persons, 1)):
        is_int = isinstance(value, (int, np.integer)) and not isinstance(
            value, bool)
        if not is_int or value < least:
            raise ValueError(f'{name} must be an integer >= {least}, '
                             f'got {value!r}')
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(isinstance(v, (int, np.integer)) and v >= 32
                       for v in image_size)):
        raise ValueError('image_size must be (w, h), two integers >= 32, '
                         f'got {image_size!r}')
    if not 0.0 <= float(side_tint) <= 1.0:
        raise ValueError(f'side_tint must be in [0, 1], got {side_tint!r}')


def generate_synthetic_coco(out_dir: str,
                            num_train: int = 2000,
                            num_val: int = 200,
                            image_size: Sequence[int] = (256, 192),
                            seed: int = 0,
                            max_persons: int = 4,
                            side_tint: float = 0.3,
                            jpeg_quality: int = 92) -> Dict[str, int]:
    """Write a synthetic COCO-keypoint dataset of humanoids to ``out_dir``.

    Args:
        out_dir: folder to write into (created; existing files with the same
            names are overwritten).
        num_train: number of training images.
        num_val: number of validation images.
        image_size: ``(w, h)`` of every image in pixels.
        seed: base seed; the same arguments give byte-identical files.
        max_persons: most figures per image (1..max_persons, uniform).
        side_tint: blend (0..1) of the figures' left limbs towards a fixed
            orange, a colour cue for left versus right. A horizontal flip
            moves the tint to the right side, so with ``RandomFlip`` in
            training the tint carries no information and the flip-consistent
            cues (face, chest stripe, feet) carry left and right; with
            ``flip_test`` but no ``RandomFlip`` use ``side_tint=0``.
        jpeg_quality: JPEG quality of the written images.

    Returns:
        ``{'train_images', 'train_instances', 'val_images',
        'val_instances'}`` counts.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """
    check_generator_args(num_train, num_val, image_size, seed, max_persons,
                         side_tint)
    image_size = (int(image_size[0]), int(image_size[1]))
    os.makedirs(os.path.join(out_dir, 'annotations'), exist_ok=True)
    summary = {}
    for split_id, (split, count) in enumerate(zip(SPLITS,
                                                   (num_train, num_val))):
        img_dir = os.path.join(out_dir, 'images', split)
        os.makedirs(img_dir, exist_ok=True)
        images, annotations = [], []
        for index in range(count):
            rng = np.random.default_rng([seed, split_id, index])
            img, anns = render_sample(rng, image_size, max_persons,
                                      side_tint)
            file_name = f'{index + 1:06d}.jpg'
            ok, buf = cv2.imencode('.jpg', img,
                                   [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            if not ok:
                raise RuntimeError(f'JPEG encoding failed for {file_name}')
            with open(os.path.join(img_dir, file_name), 'wb') as f:
                f.write(buf.tobytes())
            images.append(dict(id=index + 1, file_name=file_name,
                               width=image_size[0], height=image_size[1]))
            for ann in anns:
                kp = ann['keypoints']
                bbox = [round(float(v), 2) for v in ann['bbox']]
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=index + 1,
                    category_id=1, iscrowd=0, bbox=bbox,
                    # The box area, as for COCO-format keypoint sets without
                    # masks: stick figures fill only ~1/3 of their box, so
                    # a silhouette area would make OKS much stricter than
                    # on real people (whose masks fill ~1/2 to 2/3).
                    area=round(bbox[2] * bbox[3], 2),
                    num_keypoints=int(np.count_nonzero(kp[:, 2])),
                    keypoints=[round(float(v), 2) if j % 3 != 2 else int(v)
                               for j, v in enumerate(kp.reshape(-1))]))
        coco = dict(
            info=dict(description='posekit synthetic humanoids',
                      version=GENERATOR_VERSION, seed=seed, split=split),
            images=images, annotations=annotations,
            categories=coco_categories())
        ann_path = os.path.join(out_dir, 'annotations',
                                f'person_keypoints_{split}.json')
        with open(ann_path, 'w') as f:
            json.dump(coco, f, separators=(',', ':'))
        summary[f'{split}_images'] = count
        summary[f'{split}_instances'] = len(annotations)
    return summary
