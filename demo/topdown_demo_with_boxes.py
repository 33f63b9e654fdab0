"""Top-down pose estimation on the person boxes of a COCO-style detection
file; one drawn image per image and a predictions JSON.

    python demo/topdown_demo_with_boxes.py CONFIG CHECKPOINT
        --det-file dets.json (--img-root DIR | --ann-file ann.json
        [--img-root DIR]) --out-dir DIR [--bbox-thr 0.3]
        [--category-id 1] [--kpt-thr 0.3] [--device cpu] [--radius 3]
        [--thickness 1] [--draw-heatmap] [--pred-out-file FILE]

The detection file is a JSON list of ``{"image_id", "bbox": [x, y, w, h],
"score", "category_id"}``. Image ids become files through the ``images``
of ``--ann-file`` (``file_name`` under ``--img-root``, default the
annotation file's folder), or without it by the number in the names of
the files in ``--img-root`` (``000000000785.jpg`` is id 785). Boxes
scoring below ``--bbox-thr`` (or of another ``--category-id``) are
skipped. The predictions (default ``<out-dir>/predictions.json``) are a
COCO keypoint-results list: ``{"image_id", "category_id", "bbox" (xywh),
"keypoints" ([x, y, score] * K), "keypoint_scores", "score"}`` where
``score`` is the box score times the mean keypoint score.
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

_IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Top-down pose estimation '
                                     'on detected person boxes')
    parser.add_argument('config', help='top-down model config file')
    parser.add_argument('checkpoint', help='model checkpoint file')
    parser.add_argument('--det-file', required=True,
                        help='COCO-style detection results (JSON list)')
    parser.add_argument('--img-root', help='folder of the images')
    parser.add_argument('--ann-file', help='COCO annotation file mapping '
                        'image ids to file names')
    parser.add_argument('--out-dir', required=True,
                        help='folder for the drawn images')
    parser.add_argument('--pred-out-file', help='predictions JSON (default '
                        '<out-dir>/predictions.json)')
    parser.add_argument('--bbox-thr', type=float, default=0.3,
                        help='skip boxes scoring below this')
    parser.add_argument('--category-id', type=int, default=None,
                        help='keep only boxes of this category (default: '
                        'all)')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='keypoints with a lower score are not drawn')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)
    parser.add_argument('--draw-heatmap', action='store_true')
    return parser.parse_args(argv)


def load_detections(path: str) -> List[dict]:
    """The detection list, each entry checked for ``image_id`` and a
    4-number ``bbox``.

    Raises:
        ValueError: not a list, or an entry lacks them (its index named).
    """
    with open(path) as f:
        dets = json.load(f)
    if not isinstance(dets, list):
        raise ValueError(f'{path}: expected a JSON list of detections, got '
                         f'{type(dets).__name__}')
    for i, det in enumerate(dets):
        if not isinstance(det, dict) or 'image_id' not in det or \
                len(det.get('bbox') or []) != 4:
            raise ValueError(f'{path}: detection [{i}] needs "image_id" and '
                             f'"bbox": [x, y, w, h], got {det!r}')
    return dets


def image_files(img_root: Optional[str], ann_file: Optional[str]
                ) -> Dict[int, str]:
    """Image id -> file path (see the module doc).

    Raises:
        ValueError: neither argument given.
        FileNotFoundError: ``img_root`` is not a folder.
    """
    if ann_file is not None:
        with open(ann_file) as f:
            images = json.load(f).get('images', [])
        root = img_root if img_root is not None else osp.dirname(ann_file)
        return {img['id']: osp.join(root, img['file_name'])
                for img in images}
    if img_root is None:
        raise ValueError('give --img-root (files named by image id) or '
                         '--ann-file (image ids to file names)')
    if not osp.isdir(img_root):
        raise FileNotFoundError(f'--img-root {img_root} is not a folder')
    files = {}
    for name in sorted(os.listdir(img_root)):
        stem, ext = osp.splitext(name)
        if ext.lower() in _IMAGE_EXTS and stem.isdigit():
            files[int(stem)] = osp.join(img_root, name)
    return files


def coco_results(samples, image_id, category_ids) -> List[dict]:
    """COCO keypoint results of the samples of one image."""
    out = []
    for sample, category_id in zip(samples, category_ids):
        pred = sample.pred_instances
        kpts = np.asarray(pred.keypoints[0])[:, :2]
        scores = np.asarray(pred.keypoint_scores[0])
        x1, y1, x2, y2 = np.asarray(pred.bboxes[0], dtype=float)
        bbox_score = float(pred.bbox_scores[0]) \
            if 'bbox_scores' in pred else 1.0
        out.append({
            'image_id': image_id, 'category_id': category_id,
            'bbox': [x1, y1, x2 - x1, y2 - y1],
            'keypoints': np.concatenate([kpts, scores[:, None]],
                                        axis=1).reshape(-1).tolist(),
            'keypoint_scores': scores.tolist(),
            'score': bbox_score * float(scores.mean())})
    return out


def main(argv=None) -> dict:
    """Run the demo; returns ``{'images': [drawn paths], 'pred_out_file',
    'num_instances'}``."""
    args = parse_args(argv)
    from posekit.apis import inference_topdown, init_model
    from posekit.visualization import (PoseLocalVisualizer,
                                       merge_for_drawing, read_rgb_image,
                                       write_image)

    dets = load_detections(args.det_file)
    files = image_files(args.img_root, args.ann_file)
    by_image = defaultdict(list)
    for det in dets:
        by_image[det['image_id']].append(det)
    missing = sorted(set(by_image) - set(files))
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} image id(s) of {args.det_file} have no image '
            f'file (first: {missing[:5]}); check --img-root/--ann-file')

    options = {'model.test_cfg.output_heatmaps': True} \
        if args.draw_heatmap else None
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=options)
    from posekit.models.pose_estimators.topdown import TopdownPoseEstimator
    if not isinstance(model, TopdownPoseEstimator):
        raise SystemExit(f'{args.config} builds a {type(model).__name__}; '
                         'this demo needs a top-down model (use '
                         'demo/image_demo.py for bottom-up models)')
    visualizer = PoseLocalVisualizer(name=f'topdown_demo_{id(args)}',
                                     radius=args.radius,
                                     line_width=args.thickness)
    visualizer.set_dataset_meta(model.dataset_meta)
    os.makedirs(args.out_dir, exist_ok=True)

    results, drawn_paths = [], []
    try:
        order = sorted(by_image)
    except TypeError:  # ids of mixed types
        order = sorted(by_image, key=str)
    for image_id in order:
        keep = [d for d in by_image[image_id]
                if d.get('score', 1.0) >= args.bbox_thr and (
                    args.category_id is None
                    or d.get('category_id') == args.category_id)]
        path = files[image_id]
        image = read_rgb_image(path)
        boxes = np.array([d['bbox'] for d in keep],
                         np.float32).reshape(-1, 4)
        samples = inference_topdown(model, path, boxes, 'xywh')
        for sample, det in zip(samples, keep):
            sample.pred_instances.bbox_scores = np.array(
                [det.get('score', 1.0)], np.float32)
        results += coco_results(samples, image_id,
                                [d.get('category_id', 1) for d in keep])
        drawn = image
        if samples:
            drawn = visualizer.draw_datasample(
                image, merge_for_drawing(samples, image.shape[:2]),
                draw_gt=False, draw_pred=True,
                draw_heatmap=args.draw_heatmap, draw_bbox=True,
                kpt_thr=args.kpt_thr)
        out = osp.join(args.out_dir, osp.basename(path))
        write_image(out, drawn)
        drawn_paths.append(out)

    pred_file = args.pred_out_file or osp.join(args.out_dir,
                                               'predictions.json')
    with open(pred_file, 'w') as f:
        json.dump(results, f)
    print(f'topdown_demo_with_boxes: {len(results)} poses in '
          f'{len(drawn_paths)} images; drawings in {args.out_dir}, '
          f'predictions in {pred_file}')
    return {'images': drawn_paths, 'pred_out_file': pred_file,
            'num_instances': len(results)}


if __name__ == '__main__':
    main()
