"""Check that posekit's codecs and CocoMetric give MMPose 1.x's numbers.

The same seeded inputs go through posekit (in this process) and through
MMPose (a subprocess of the MMPose virtualenv's python running a script
written to a temporary folder; arrays travel as .npz). Both sides run the
same driver code (``WORKER`` below) against their own registries, so only
the libraries differ. Prints one row per compared array with its largest
absolute difference and exits 1 when any exceeds its tolerance:
codec keypoints 1e-4 px, targets and scores 1e-6, COCO stats 1e-9.

    python tools/analysis/agreement_mmpose.py \
        [--mmpose-python ../mmpose-venv/bin/python] [--only codecs|metric|all]

The MMPose virtualenv is made by ``../shared/bench/setup_mmpose.sh``.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import numpy as np

# run from a checkout without installing
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

DEFAULT_MMPOSE_PYTHON = osp.normpath(osp.join(
    osp.dirname(osp.abspath(__file__)), '..', '..', '..', 'mmpose-venv',
    'bin', 'python'))
KEYPOINT_TOL = 1e-4
TARGET_TOL = 1e-6
METRIC_TOL = 1e-9
STAT_NAMES = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5',
              'AR .75', 'AR (M)', 'AR (L)')
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62,
                        .62, 1.07, 1.07, .87, .87, .89, .89]) / 10
AE_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]

# Driver code run by both libraries: `run(reg, inputs, parts, workdir)`
# builds every component from its registry by config dict and returns a
# dict of arrays. Kept as text so it can be written out for MMPose's python.
WORKER = r'''
import copy, json, os
import numpy as np

INPUT, HEATMAP = (192, 256), (48, 64)
CODECS = {
    'msra': dict(type='MSRAHeatmap', input_size=INPUT, heatmap_size=HEATMAP,
                 sigma=2),
    'msra_dark': dict(type='MSRAHeatmap', input_size=INPUT,
                      heatmap_size=HEATMAP, sigma=2, unbiased=True),
    'udp': dict(type='UDPHeatmap', input_size=INPUT, heatmap_size=HEATMAP,
                sigma=2),
    'simcc': dict(type='SimCCLabel', input_size=INPUT, sigma=(4.9, 5.66),
                  simcc_split_ratio=2.0),
}


def run_codecs(reg, x, out):
    import torch
    for name, cfg in CODECS.items():
        codec = reg.KEYPOINT_CODECS.build(copy.deepcopy(cfg))
        enc = codec.encode(x['td_keypoints'], x['td_visible'])
        for key in ('heatmaps', 'keypoint_x_labels', 'keypoint_y_labels',
                    'keypoint_weights'):
            if key in enc:
                out[f'{name}.encode.{key}'] = np.asarray(enc[key])
        if name == 'simcc':
            kpts, scores = codec.decode(x['simcc_x'], x['simcc_y'])
        else:
            kpts, scores = codec.decode(x[f'{name.split("_")[0]}_heatmaps'])
        out[f'{name}.decode.keypoints'] = np.asarray(kpts)
        out[f'{name}.decode.scores'] = np.asarray(scores)
    codec = reg.KEYPOINT_CODECS.build(dict(
        type='AssociativeEmbedding', input_size=(512, 512),
        heatmap_size=(128, 128), sigma=2,
        decode_keypoint_order=[int(i) for i in x['ae_order']],
        decode_max_instances=30))
    res = codec.batch_decode(torch.from_numpy(x['ae_heatmaps']),
                             torch.from_numpy(x['ae_tags']))
    out['ae.decode.keypoints'] = np.asarray(res[0][0])
    out['ae.decode.scores'] = np.asarray(res[1][0])
    # several people's targets at once (posekit scatters their windows)
    enc = codec.encode(x['ae_keypoints'], x['ae_visible'])
    for key in ('heatmaps', 'keypoint_weights'):
        out[f'ae.encode.{key}'] = np.asarray(enc[key])
    # [flat index, valid]: the loss reads the index only where valid
    # (MMPose leaves the raw index of an off-map keypoint, posekit 0)
    index, valid = np.moveaxis(np.asarray(enc['keypoint_indices']), -1, 0)
    out['ae.encode.keypoint_valid'] = valid
    out['ae.encode.keypoint_index_where_valid'] = np.where(valid > 0, index,
                                                           -1)


def metric_samples(x, style):
    """Data samples as dicts: 'topdown' one per person (id = annotation
    id, the first 50 repeated), 'per_image' one per image with its four
    people under the image's id (as the side-by-side benchmark feeds it),
    'bottomup' one per image with a list of annotation ids."""
    kpts, scores = x['pred_keypoints'], x['pred_scores']
    n_img, n_per = kpts.shape[:2]
    samples = []
    for i in range(n_img):
        img_id = i + 1
        ann_ids = [i * n_per + p + 1 for p in range(n_per)]
        base = dict(img_id=img_id, img_path=f'{img_id}.jpg', category_id=1,
                    ori_shape=(480, 640), raw_ann_info=None)
        if style == 'topdown':
            for p in range(n_per):
                samples.append(dict(
                    base, id=ann_ids[p],
                    pred_instances=dict(keypoints=kpts[i, p:p + 1],
                                        keypoint_scores=scores[i, p:p + 1],
                                        bbox_scores=x['bbox_scores'][i, p:p + 1]),
                    gt_instances=dict(bbox_scales=x['bbox_scales'][i, p:p + 1])))
        else:
            samples.append(dict(
                base, id=img_id if style == 'per_image' else ann_ids,
                pred_instances=dict(keypoints=kpts[i], keypoint_scores=scores[i],
                                    bbox_scores=x['bbox_scores'][i]),
                gt_instances=dict(bbox_scales=x['bbox_scales'][i])
                if style == 'per_image' else dict()))
    if style == 'topdown':
        samples += samples[:50]
    return samples


def run_metric(reg, x, out, workdir, names):
    ann_file = os.path.join(workdir, 'gt.json')
    with open(ann_file, 'w') as f:
        f.write(str(x['gt_json']))
    for style in ('topdown', 'per_image', 'bottomup'):
        metric = reg.METRICS.build(dict(
            type='CocoMetric', ann_file=ann_file,
            outfile_prefix=os.path.join(workdir, style)))
        metric.dataset_meta = reg.DATASETS.build(dict(
            type='CocoDataset', data_root='', ann_file=ann_file,
            data_mode='topdown', test_mode=True, lazy_init=True,
            pipeline=[])).metainfo
        for sample in metric_samples(x, style):
            metric.process([], [sample])
        stats = metric.compute_metrics(metric.results)
        out[f'metric.{style}.stats'] = np.array(
            [stats[n] for n in names], dtype=np.float64)


def run(reg, x, parts, workdir, names):
    out = {}
    if 'codecs' in parts:
        run_codecs(reg, x, out)
    if 'metric' in parts:
        run_metric(reg, x, out, workdir, names)
    return out
'''

MMPOSE_MAIN = r'''
import sys
import numpy as np
import mmpose.registry as reg
from mmpose.utils import register_all_modules
from mmengine.logging import MMLogger
register_all_modules()
MMLogger.get_instance('agreement', log_level='ERROR')
inp, outp, parts, workdir, names = sys.argv[1:6]
x = dict(np.load(inp, allow_pickle=False))
np.savez(outp, **run(reg, x, parts.split(','), workdir, names.split('|')))
'''


def make_inputs(seed: int = 0) -> Dict[str, np.ndarray]:
    """Seeded inputs for every check, as plain arrays (no pickles).

    Top-down codecs: ``td_keypoints`` (1, 17, 2) in the 192x256 input
    (a few outside it, some invisible); heatmaps (17, 64, 48) and SimCC
    labels (1, 17, 384/512) made of gaussians plus small positive noise.
    AE: 6 people on (1, 17, 128, 128) heatmaps with per-person tags, and
    8 people's keypoints (8, 17, 2) in the 512x512 input to encode.
    Metric: 500 images x 4 people, ground truth json text ``gt_json`` and
    noisy predictions ``pred_keypoints`` (500, 4, 17, 2)."""
    rng = np.random.default_rng(seed)
    x: Dict[str, np.ndarray] = {}
    kpts = rng.uniform(0, 1, (1, 17, 2)) * np.array([192., 256.])
    kpts[0, :3] = [[-5., 10.], [200., 40.], [191.9, 255.9]]
    x['td_keypoints'] = kpts.astype(np.float32)
    vis = np.ones((1, 17), np.float32)
    vis[0, 4::5] = 0
    x['td_visible'] = vis

    # one person's maps at sub-pixel peaks, stride 4 and UDP stride
    centre = 2 + rng.uniform(0, 1, (17, 2)) * np.array([44., 60.])
    yy, xx = np.mgrid[0:64, 0:48].astype(np.float64)
    d2 = (xx[None] - centre[:, 0, None, None])**2 + \
        (yy[None] - centre[:, 1, None, None])**2
    hm = np.exp(-d2 / (2 * 2.0**2)) + rng.uniform(0, 0.01, (17, 64, 48))
    x['msra_heatmaps'] = hm.astype(np.float32)
    x['udp_heatmaps'] = hm.astype(np.float32)
    sx = rng.uniform(20, 360, (1, 17))
    sy = rng.uniform(20, 490, (1, 17))
    gx = np.exp(-(np.arange(384) - sx[..., None])**2 / (2 * 9.8**2))
    gy = np.exp(-(np.arange(512) - sy[..., None])**2 / (2 * 11.32**2))
    x['simcc_x'] = (gx + rng.uniform(0, .01, gx.shape)).astype(np.float32)
    x['simcc_y'] = (gy + rng.uniform(0, .01, gy.shape)).astype(np.float32)

    # bottom-up: 6 people, peaks at distinct cells, tag p * 2 around them
    people = rng.uniform(8, 120, (6, 17, 2))
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float64)
    d2 = (xx[None, None] - people[..., 0, None, None])**2 + \
        (yy[None, None] - people[..., 1, None, None])**2
    ae_hm = np.exp(-d2 / (2 * 2.0**2)).max(0)
    tags = np.zeros((17, 128, 128))
    cells = people.astype(int).clip(0, 127)
    for p in range(6):  # small: 6 x 17 squares, written once
        for k in range(17):
            cx, cy = cells[p, k]
            tags[k, max(0, cy - 3):cy + 4, max(0, cx - 3):cx + 4] = p * 2.
    x['ae_heatmaps'] = ae_hm[None].astype(np.float32)
    x['ae_tags'] = tags[None].astype(np.float32)
    x['ae_order'] = np.array(AE_ORDER)
    # AE targets: 8 people in the 512x512 input, overlapping, some
    # keypoints invisible or off the map (own generator: the other inputs
    # stay as they were)
    ae_rng = np.random.default_rng(seed + 1)
    x['ae_keypoints'] = ae_rng.uniform(-20, 530, (8, 17, 2)).astype(
        np.float32)
    x['ae_visible'] = (ae_rng.uniform(size=(8, 17)) > 0.2).astype(
        np.float32)

    x.update(_metric_inputs(rng))
    return x


def _metric_inputs(rng: np.random.Generator, n_img: int = 500,
                   n_per: int = 4) -> Dict[str, np.ndarray]:
    x0 = rng.uniform(0, 400, (n_img, n_per))
    y0 = rng.uniform(0, 250, (n_img, n_per))
    w = rng.uniform(60, 200, (n_img, n_per))
    h = rng.uniform(120, 220, (n_img, n_per))
    u = rng.uniform(0, 1, (n_img, n_per, 17, 2))
    gt = np.stack([x0[..., None] + u[..., 0] * w[..., None],
                   y0[..., None] + u[..., 1] * h[..., None]], -1)
    noise = rng.normal(0, 1, gt.shape) * np.sqrt(w * h)[..., None, None] * \
        COCO_SIGMAS[:, None]
    images = [dict(id=i + 1, width=640, height=480, file_name=f'{i + 1}.jpg')
              for i in range(n_img)]
    flat = np.concatenate([gt, np.full(gt.shape[:-1] + (1, ), 2.)], -1)
    anns = [dict(id=i * n_per + p + 1, image_id=i + 1, category_id=1,
                 iscrowd=0, area=float(w[i, p] * h[i, p]),
                 bbox=[float(x0[i, p]), float(y0[i, p]), float(w[i, p]),
                       float(h[i, p])], num_keypoints=17,
                 keypoints=flat[i, p].reshape(-1).tolist())
            for i in range(n_img) for p in range(n_per)]
    gt_json = dict(images=images, annotations=anns, categories=[dict(
        id=1, name='person', keypoints=[str(k) for k in range(17)],
        skeleton=[])])
    return dict(
        gt_json=np.array(json.dumps(gt_json)),
        pred_keypoints=(gt + noise).astype(np.float32),
        pred_scores=rng.uniform(0.1, 1.0, (n_img, n_per, 17)),
        bbox_scores=rng.uniform(0.5, 1.0, (n_img, n_per)),
        bbox_scales=np.stack([w, h], -1) * 1.25)


def tolerance(key: str) -> float:
    """The allowed absolute difference for an output key."""
    if key.startswith('metric.'):
        return METRIC_TOL
    if key.endswith('.keypoints'):
        return KEYPOINT_TOL
    return TARGET_TOL


def compare(ours: Dict[str, np.ndarray], theirs: Dict[str, np.ndarray]
            ) -> List[Tuple[str, float, float, bool, str]]:
    """One row per key of either side: (key, max |difference|, tolerance,
    ok, note). A key on one side only, a shape mismatch or NaNs in
    different places fail with a note saying so."""
    rows = []
    for key in sorted(set(ours) | set(theirs)):
        tol = tolerance(key)
        if key not in ours or key not in theirs:
            side = 'posekit' if key not in ours else 'MMPose'
            rows.append((key, np.inf, tol, False, f'missing from {side}'))
            continue
        a = np.asarray(ours[key], np.float64)
        b = np.asarray(theirs[key], np.float64)
        if a.shape != b.shape:
            rows.append((key, np.inf, tol, False,
                         f'shape {a.shape} vs MMPose {b.shape}'))
            continue
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            rows.append((key, np.inf, tol, False, 'NaNs differ'))
            continue
        diff = np.abs(np.where(np.isnan(a), 0., a - b))
        worst = float(diff.max()) if diff.size else 0.
        rows.append((key, worst, tol, worst <= tol, ''))
    return rows


def format_table(rows) -> str:
    """The rows as a fixed-width text table."""
    lines = [f'{"output":40s} {"max |diff|":>11s} {"tolerance":>9s}  result']
    for key, worst, tol, ok, note in rows:
        lines.append(f'{key:40s} {worst:11.3g} {tol:9.0e}  '
                     f'{"ok" if ok else "FAIL"}{"  " + note if note else ""}')
    return '\n'.join(lines)


def check_mmpose_python(path: str) -> Optional[str]:
    """None when ``path`` is an executable; else the message to print."""
    if osp.isfile(path) and os.access(path, os.X_OK):
        return None
    return (f'agreement_mmpose: no MMPose python at {path}; make the '
            'MMPose 1.3.2 virtualenv with '
            '`bash ../shared/bench/setup_mmpose.sh ../mmpose-venv` or pass '
            '--mmpose-python PATH')


def run_posekit(x, parts, workdir) -> Dict[str, np.ndarray]:
    """The driver against posekit's registries, in this process."""
    import posekit.registry as reg
    from mmengine.logging import MMLogger
    from posekit import register_all_modules
    register_all_modules()
    MMLogger.get_instance('agreement', log_level='ERROR')
    scope: dict = {}
    exec(compile(WORKER, 'agreement_worker', 'exec'), scope)
    return scope['run'](reg, x, parts, workdir, list(STAT_NAMES))


def run_mmpose(python: str, x, parts, workdir) -> Dict[str, np.ndarray]:
    """The driver against MMPose's registries, in ``python``.

    Raises:
        RuntimeError: the subprocess failed (its stderr tail attached)."""
    script = osp.join(workdir, 'mmpose_side.py')
    with open(script, 'w') as f:
        f.write(WORKER + MMPOSE_MAIN)
    inp, outp = osp.join(workdir, 'in.npz'), osp.join(workdir, 'out.npz')
    np.savez(inp, **x)
    mm_dir = osp.join(workdir, 'mmpose')
    os.makedirs(mm_dir, exist_ok=True)
    proc = subprocess.run(
        [python, script, inp, outp, ','.join(parts), mm_dir,
         '|'.join(STAT_NAMES)], capture_output=True, text=True,
        cwd=workdir)
    if proc.returncode != 0:
        raise RuntimeError(f'the MMPose side ({python}) failed:\n'
                           f'{proc.stderr[-3000:]}')
    with np.load(outp) as data:
        return dict(data)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mmpose-python', default=DEFAULT_MMPOSE_PYTHON)
    ap.add_argument('--only', choices=('codecs', 'metric', 'all'),
                    default='all')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    message = check_mmpose_python(args.mmpose_python)
    if message:
        print(message, file=sys.stderr)
        return 2
    parts = ['codecs', 'metric'] if args.only == 'all' else [args.only]
    x = make_inputs(args.seed)
    with tempfile.TemporaryDirectory() as workdir:
        theirs = run_mmpose(args.mmpose_python, x, parts, workdir)
        ours_dir = osp.join(workdir, 'posekit')
        os.makedirs(ours_dir)
        ours = run_posekit(x, parts, ours_dir)
    rows = compare(ours, theirs)
    print(format_table(rows))
    failed = [r[0] for r in rows if not r[3]]
    print(f'{len(rows) - len(failed)}/{len(rows)} agree'
          + (f'; FAILED: {", ".join(failed)}' if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
