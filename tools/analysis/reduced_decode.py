"""Would decoding JPEGs at reduced resolution speed up top-down training?

Usage::

    python tools/analysis/reduced_decode.py DATA_ROOT ANN_FILE \\
        [--input-size 192 256] [--padding 1.25] [--max-scale 1.25]

libjpeg can decode at 1/2, 1/4 or 1/8 of the resolution for less work
(``cv2.IMREAD_REDUCED_COLOR_2`` ...). A top-down crop can use the 1/f
decode only where the box is at least f times larger than the input
(the crop then shrinks the image f times or more anyway), and, because one
decode serves all persons of an image (``LoadImage(reuse_last=True)``),
only when that holds for every person of the image. This prints

- decode time per image at full, 1/2 and 1/4 resolution;
- the share of persons, and of images, whose crops allow a 1/2 or 1/4
  decode, for the box padded by ``--padding`` and shrunk by the largest
  random scale ``1 / --max-scale`` (RandomBBoxTransform's zoom-in);
- for the largest person, forced to a 1/2 decode: the mean absolute
  difference of its 8-bit crop from the full-resolution crop, next to the
  difference between two standard interpolations of the full image
  (bilinear against bicubic), which is the interpolation noise.

Timing numbers belong in reports, not tests.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

if __name__ == '__main__':  # run from a checkout without installing
    sys.path.insert(0, os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..')))


def crop_matrix(box_xywh, input_size, padding, factor=1.):
    """Affine matrix of TopdownAffine's crop of ``box_xywh`` in an image
    decoded at ``1 / factor`` of the resolution."""
    from posekit.structures import fix_aspect_ratio, get_warp_matrix
    x, y, w, h = box_xywh
    center = np.array([x + w / 2, y + h / 2]) / factor
    scale = fix_aspect_ratio(np.array([w, h]) * padding / factor,
                             input_size[0] / input_size[1])
    return get_warp_matrix(center, scale, 0., input_size), scale


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('data_root')
    ap.add_argument('ann_file')
    ap.add_argument('--input-size', type=int, nargs=2, default=(192, 256))
    ap.add_argument('--padding', type=float, default=1.25)
    ap.add_argument('--max-scale', type=float, default=1.25)
    args = ap.parse_args()
    import cv2
    cv2.setNumThreads(1)
    size = tuple(args.input_size)

    coco = json.load(open(os.path.join(args.data_root, args.ann_file)))
    files = {im['id']: os.path.join(args.data_root, im['file_name'])
             for im in coco['images']}
    anns = [a for a in coco['annotations']
            if a.get('num_keypoints', 0) > 0 and not a.get('iscrowd')]
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
             4: cv2.IMREAD_REDUCED_COLOR_4}
    for f, flag in flags.items():
        start, reps = time.perf_counter(), 0
        for path in files.values():
            for _ in range(10):
                cv2.imread(path, flag)
                reps += 1
        print(f'decode 1/{f}: {1e3 * (time.perf_counter() - start) / reps:.2f}'
              ' ms per image')

    # shrink factor of each crop at the strongest zoom-in
    ratio = np.array([crop_matrix(a['bbox'], size, args.padding)[1][1]
                      / size[1] / args.max_scale for a in anns])
    per_image = {}
    for a, r in zip(anns, ratio):
        per_image[a['image_id']] = min(r, per_image.get(a['image_id'], r))
    img_ratio = np.array(list(per_image.values()))
    for f in (2, 4):
        print(f'1/{f} decode allowed for {np.mean(ratio >= f):.0%} of '
              f'{len(ratio)} persons, {np.mean(img_ratio >= f):.0%} of '
              f'{len(img_ratio)} images')
    print(f'largest crop shrinks the image {ratio.max():.2f}x '
          f'(median {np.median(ratio):.2f}x)')

    big = anns[int(np.argmax(ratio))]
    full = cv2.imread(files[big['image_id']], cv2.IMREAD_COLOR)
    half = cv2.imread(files[big['image_id']], cv2.IMREAD_REDUCED_COLOR_2)
    mat, _ = crop_matrix(big['bbox'], size, args.padding)
    ref = cv2.warpAffine(full, mat, size, flags=cv2.INTER_LINEAR)
    cubic = cv2.warpAffine(full, mat, size, flags=cv2.INTER_CUBIC)
    mat2, _ = crop_matrix(big['bbox'], size, args.padding, factor=2.)
    # half-image pixel i covers full pixels 2i and 2i+1, so it sits at
    # u = 2i + 0.5: out = A u + b = 2A i + b + A (0.5, 0.5), and mat2's
    # linear part is 2A
    mat2[:, 2] += mat2[:, :2] @ np.array([0.25, 0.25])
    reduced = cv2.warpAffine(half, mat2, size, flags=cv2.INTER_LINEAR)
    noise = np.abs(ref.astype(int) - cubic).mean()
    diff = np.abs(ref.astype(int) - reduced).mean()
    print(f'annotation {big["id"]} forced to a 1/2 decode: mean |crop - '
          f'full crop| {diff:.2f} grey levels; bilinear vs bicubic of the '
          f'full image {noise:.2f}')


if __name__ == '__main__':
    main()
