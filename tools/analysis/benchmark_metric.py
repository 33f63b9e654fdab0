"""Throughput of CocoMetric on a synthetic validation set.

Builds the same data as the side-by-side benchmark (500 images x 4 people,
17 COCO keypoints, noisy predictions), then times whole evaluations:
building the metric (reading the ground truth), ``process`` per image and
``compute_metrics``. For reference it also times pycocotools' own
``COCOeval`` on the same detections.

    python tools/analysis/benchmark_metric.py [--images 500] [--reps 5]
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

# run from a checkout without installing
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..'))

COCO_SIGMAS = np.array([
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
    .87, .89, .89
]) / 10


def make_data(num_images: int, people: int, seed: int = 0):
    """COCO ground truth dict and per-image sample dicts."""
    rng = np.random.default_rng(seed)
    images, anns, samples = [], [], []
    aid = 1
    for im in range(1, num_images + 1):
        images.append(dict(id=im, width=640, height=480,
                           file_name=f'{im}.jpg'))
        pk, ps = [], []
        for _ in range(people):
            x0, y0 = rng.uniform(0, 400), rng.uniform(0, 250)
            w, h = rng.uniform(60, 200), rng.uniform(120, 220)
            k = np.stack([rng.uniform(x0, x0 + w, 17),
                          rng.uniform(y0, y0 + h, 17)], -1)
            kv = np.concatenate([k, np.full((17, 1), 2)], -1)
            anns.append(dict(id=aid, image_id=im, category_id=1, iscrowd=0,
                             area=w * h, bbox=[x0, y0, w, h],
                             num_keypoints=17,
                             keypoints=kv.reshape(-1).tolist()))
            aid += 1
            noise = rng.normal(0, 1, k.shape) * np.sqrt(w * h) * \
                COCO_SIGMAS[:, None]
            pk.append(k + noise)
            ps.append(np.full(17, rng.uniform(0.5, 1.0)))
        samples.append(dict(
            id=im, img_id=im, img_path=f'{im}.jpg', category_id=1,
            ori_shape=(480, 640), raw_ann_info=None,
            pred_instances=dict(keypoints=np.array(pk),
                                keypoint_scores=np.array(ps),
                                bbox_scores=np.ones(people),
                                bboxes=np.zeros((people, 4)),
                                areas=np.full(people, 1e4)),
            gt_instances=dict(bbox_scales=np.full((people, 2), 100.0))))
    gt = dict(images=images, annotations=anns, categories=[dict(
        id=1, name='person', keypoints=[str(i) for i in range(17)],
        skeleton=[])])
    return gt, samples


def one_eval(ann_file: str, prefix: str, samples) -> float:
    from posekit.registry import METRICS
    metric = METRICS.build(dict(type='CocoMetric', ann_file=ann_file,
                                outfile_prefix=prefix))
    metric.dataset_meta = dict(dataset_name='coco', num_keypoints=17,
                               sigmas=COCO_SIGMAS.tolist())
    for s in samples:
        metric.process([], [dict(s)])
    return metric.compute_metrics(metric.results)['AP']


def pycocotools_eval(ann_file: str, res_file: str) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        dt = gt.loadRes(res_file)
        ev = COCOeval(gt, dt, 'keypoints')
        ev.params.kpt_oks_sigmas = COCO_SIGMAS
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0]


def rates(fn, reps: int):
    """(median, best) calls per second over ``reps`` single calls after a
    warm-up; the best is the steadier figure on a busy machine."""
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1.0 / statistics.median(times), 1.0 / min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--images', type=int, default=500)
    ap.add_argument('--people', type=int, default=4)
    ap.add_argument('--reps', type=int, default=5)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    import posekit
    posekit.register_all_modules()
    from mmengine.logging import MMLogger
    MMLogger.get_instance('benchmark_metric', log_level='ERROR')

    gt, samples = make_data(args.images, args.people)
    with tempfile.TemporaryDirectory() as d:
        ann_file = os.path.join(d, 'gt.json')
        with open(ann_file, 'w') as f:
            json.dump(gt, f)
        prefix = os.path.join(d, 'r')
        ap_value = one_eval(ann_file, prefix, samples)
        ours = rates(lambda: one_eval(ann_file, prefix, samples), args.reps)
        res_file = prefix + '.keypoints.json'
        ref_ap = pycocotools_eval(ann_file, res_file)
        ref = rates(lambda: pycocotools_eval(ann_file, res_file), args.reps)
    print(json.dumps({
        'images': args.images, 'people': args.people,
        'posekit.CocoMetric.evals_per_s.median': round(ours[0], 3),
        'posekit.CocoMetric.evals_per_s.best': round(ours[1], 3),
        'posekit.CocoMetric.AP': ap_value,
        'pycocotools.load_and_COCOeval.evals_per_s.median': round(ref[0], 3),
        'pycocotools.load_and_COCOeval.evals_per_s.best': round(ref[1], 3),
        'pycocotools.AP_on_written_results': float(ref_ap),
    }, indent=1))


if __name__ == '__main__':
    main()
