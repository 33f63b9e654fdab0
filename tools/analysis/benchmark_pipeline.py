"""Top-down and bottom-up training pipelines on a COCO file, in the sample
orders a training run can have.

Usage::

    python tools/analysis/benchmark_pipeline.py DATA_ROOT ANN_FILE \\
        [--passes 20] [--threads 1] [--no-reuse]

It builds MMPose's standard training pipelines (the ones
``../shared/bench/sidebyside.py`` times) on ``DATA_ROOT/ANN_FILE`` and
prints samples/s for the top-down pipeline with the samples drawn

- ``sequential``: in dataset order (validation, testing, ``shuffle=False``);
- ``shuffled``: as ``DefaultSampler(shuffle=True)`` draws them;
- ``grouped``: as ``ImageGroupedSampler`` draws them (shuffled images,
  each image's persons in a row);

and for the bottom-up pipeline (one sample per image). With
``LoadImage(reuse_last=True)`` (the default; ``--no-reuse`` turns it off)
sequential and grouped orders decode each image once, shuffled order
about once per person. One process, ``--threads`` OpenCV/torch threads
(1, as in the side-by-side bench). Timing numbers belong in reports, not
tests.
"""
import argparse
import os
import statistics
import sys
import time

if __name__ == '__main__':  # run from a checkout without installing
    sys.path.insert(0, os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..')))

TOPDOWN_CODEC = dict(type='MSRAHeatmap', input_size=(192, 256),
                     heatmap_size=(48, 64), sigma=2)
AE_CODEC = dict(type='AssociativeEmbedding', input_size=(512, 512),
                heatmap_size=(128, 128), sigma=2,
                decode_keypoint_order=[0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9,
                                       10, 13, 14, 15, 16],
                decode_max_instances=30)


def topdown_pipeline(reuse: bool) -> list:
    return [dict(type='LoadImage', reuse_last=reuse),
            dict(type='GetBBoxCenterScale'),
            dict(type='RandomFlip', direction='horizontal'),
            dict(type='RandomHalfBody'), dict(type='RandomBBoxTransform'),
            dict(type='TopdownAffine', input_size=(192, 256)),
            dict(type='GenerateTarget', encoder=TOPDOWN_CODEC),
            dict(type='PackPoseInputs')]


def bottomup_pipeline(reuse: bool) -> list:
    return [dict(type='LoadImage', reuse_last=reuse),
            dict(type='BottomupRandomAffine', input_size=(512, 512)),
            dict(type='RandomFlip', direction='horizontal'),
            dict(type='GenerateTarget', encoder=AE_CODEC),
            dict(type='BottomupGetHeatmapMask'),
            dict(type='PackPoseInputs')]


def rate(dataset, orders) -> float:
    """Median samples/s over the given index orders (one pass each)."""
    for i in orders[0][:4]:
        dataset[i]  # warm-up
    rates = []
    for order in orders:
        start = time.perf_counter()
        for i in order:
            dataset[i]
        rates.append(len(order) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('data_root')
    ap.add_argument('ann_file')
    ap.add_argument('--passes', type=int, default=20,
                    help='timed passes over the dataset per order')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--no-reuse', action='store_true',
                    help='LoadImage(reuse_last=False)')
    args = ap.parse_args()

    import cv2
    import torch
    from mmengine.dataset import DefaultSampler
    from posekit.datasets import CocoDataset, ImageGroupedSampler
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    reuse = not args.no_reuse

    def build(mode, pipeline):
        return CocoDataset(data_root=args.data_root, ann_file=args.ann_file,
                           data_mode=mode, data_prefix=dict(img=''),
                           pipeline=pipeline)

    def orders(sampler):
        out = []
        for epoch in range(args.passes):
            sampler.set_epoch(epoch)
            out.append(list(sampler))
        return out

    topdown = build('topdown', topdown_pipeline(reuse))
    n = len(topdown)
    images = len(set(topdown.sample_image_groups().tolist()))
    print(f'{args.ann_file}: {n} persons in {images} images, '
          f'reuse_last={reuse}, {args.threads} thread(s)')
    results = {
        'sequential': rate(topdown, [list(range(n))] * args.passes),
        'shuffled': rate(topdown, orders(DefaultSampler(topdown, seed=0))),
        'grouped': rate(topdown, orders(
            ImageGroupedSampler(topdown, seed=0))),
    }
    for name, value in results.items():
        print(f'top-down  {name:10s} {value:8.1f} samples/s')
    bottomup = build('bottomup', bottomup_pipeline(reuse))
    value = rate(bottomup, orders(DefaultSampler(bottomup, seed=0)))
    print(f'bottom-up {"shuffled":10s} {value:8.1f} samples/s')


if __name__ == '__main__':
    main()
