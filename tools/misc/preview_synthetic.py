"""Preview posekit's synthetic humanoid images with their annotations.

Example::

    python tools/misc/preview_synthetic.py --out /tmp/synth_preview.jpg \
        --num 8 --seed 0

Draws ``--num`` images from the same generator the ``SyntheticCocoDataset``
uses, overlays boxes and keypoints (left side orange, right side blue,
occluded keypoints hollow) and writes one tiled image.
"""
import argparse
import os.path as osp
import sys

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from posekit.datasets.datasets.synthetic.generator import \
    render_sample  # noqa: E402
from posekit.datasets.datasets.synthetic.humanoid import (  # noqa: E402
    COCO_SKELETON, KEYPOINT_NAMES)


def overlay(img: np.ndarray, anns: list) -> np.ndarray:
    """Draw boxes, skeleton and keypoints of ``anns`` on a copy of ``img``."""
    out = img.copy()
    for ann in anns:
        x, y, w, h = ann['bbox']
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)),
                      (0, 255, 0), 1)
        kp = ann['keypoints']
        for a, b in COCO_SKELETON:
            if kp[a - 1, 2] > 0 and kp[b - 1, 2] > 0:
                cv2.line(out, tuple(int(v) for v in kp[a - 1, :2]),
                         tuple(int(v) for v in kp[b - 1, :2]),
                         (255, 255, 255), 1, cv2.LINE_AA)
        for k, name in enumerate(KEYPOINT_NAMES):
            if kp[k, 2] == 0:
                continue
            colour = (0, 128, 255) if name.startswith('left') else (
                (255, 64, 0) if name.startswith('right') else (0, 255, 255))
            thick = -1 if kp[k, 2] == 2 else 1
            cv2.circle(out, tuple(int(v) for v in kp[k, :2]), 3, colour,
                       thick, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='synthetic_preview.jpg')
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, nargs=2, default=(256, 192),
                        metavar=('W', 'H'))
    parser.add_argument('--side-tint', type=float, default=0.3)
    parser.add_argument('--raw', action='store_true',
                        help='no overlay, images as written')
    args = parser.parse_args()
    tiles = []
    for i in range(args.num):
        rng = np.random.default_rng([args.seed, 0, i])
        img, anns = render_sample(rng, tuple(args.size),
                                  side_tint=args.side_tint)
        tiles.append(img if args.raw else overlay(img, anns))
    cols = min(4, len(tiles))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[r:r + cols], axis=1)
            for r in range(0, len(tiles), cols)]
    cv2.imwrite(args.out, np.concatenate(rows, axis=0))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
