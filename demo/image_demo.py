"""Estimate and draw the poses in one image.

    python demo/image_demo.py IMG CONFIG CHECKPOINT --out-file vis.jpg
        [--bboxes boxes.json] [--bbox-format xyxy|xywh] [--device cpu]
        [--kpt-thr 0.3] [--draw-heatmap] [--show-kpt-idx] [--radius 3]
        [--thickness 1] [--pred-out-file preds.json] [--show]

A top-down model estimates one pose per box of ``--bboxes`` (a JSON list
of ``[x1, y1, x2, y2]``, or of ``[x, y, w, h]`` with ``--bbox-format
xywh``, or COCO-style dicts with a ``bbox`` in xywh), or one pose in the
whole image when no boxes are given; a bottom-up model finds every person
itself. ``--pred-out-file`` writes ``{"meta_info": ..., "instance_info":
[{"keypoints", "keypoint_scores", "bbox", "bbox_score"}, ...]}``.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pose estimation on one '
                                     'image')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='model checkpoint file')
    parser.add_argument('--out-file', help='where to write the drawn image')
    parser.add_argument('--bboxes', help='JSON file of person boxes (top-'
                        'down models; default: the whole image)')
    parser.add_argument('--bbox-format', default='xyxy',
                        choices=['xyxy', 'xywh'],
                        help='format of plain box lists in --bboxes')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='keypoints with a lower score are not drawn')
    parser.add_argument('--draw-heatmap', action='store_true',
                        help='also draw the predicted heatmaps (below)')
    parser.add_argument('--show-kpt-idx', action='store_true',
                        help='write each keypoint\'s index beside it')
    parser.add_argument('--radius', type=int, default=3,
                        help='keypoint radius in pixels')
    parser.add_argument('--thickness', type=int, default=1,
                        help='link and box width in pixels')
    parser.add_argument('--pred-out-file', help='write the predictions to '
                        'this JSON file')
    parser.add_argument('--show', action='store_true',
                        help='display the drawn image in a window')
    return parser.parse_args(argv)


def load_bboxes(path: str, bbox_format: str):
    """``(boxes (N, 4), format)`` from a JSON file: a list of 4-number
    lists in ``bbox_format``, or of dicts whose ``bbox`` is COCO xywh.

    Raises:
        ValueError: any other layout (the message names the file).
    """
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, list):
        raise ValueError(f'{path}: expected a JSON list of boxes, got '
                         f'{type(data).__name__}')
    if data and all(isinstance(d, dict) for d in data):
        if not all('bbox' in d for d in data):
            raise ValueError(f'{path}: every box dict needs a "bbox" '
                             '[x, y, w, h]')
        return np.array([d['bbox'] for d in data], np.float32), 'xywh'
    try:
        boxes = np.array(data, np.float32).reshape(-1, 4)
    except ValueError:
        raise ValueError(f'{path}: expected boxes as lists of 4 numbers '
                         f'({bbox_format}) or dicts with "bbox"') from None
    return boxes, bbox_format


def is_bottomup(model) -> bool:
    from posekit.models.pose_estimators.bottomup import \
        BottomupPoseEstimator
    return isinstance(model, BottomupPoseEstimator)


def instance_list(pred_instances) -> List[dict]:
    """One JSON-ready dict per predicted instance."""
    out = []
    num = len(pred_instances.keypoints) if 'keypoints' in pred_instances \
        else 0
    for i in range(num):
        item = {'keypoints': np.asarray(pred_instances.keypoints[i])
                [..., :2].tolist(),
                'keypoint_scores':
                np.asarray(pred_instances.keypoint_scores[i]).tolist()}
        if 'bboxes' in pred_instances:
            item['bbox'] = np.asarray(pred_instances.bboxes[i]).tolist()
        if 'bbox_scores' in pred_instances:
            item['bbox_score'] = float(pred_instances.bbox_scores[i])
        out.append(item)
    return out


def meta_info(dataset_meta: Optional[dict]) -> dict:
    meta = dataset_meta or {}
    return {'dataset_name': meta.get('dataset_name'),
            'num_keypoints': meta.get('num_keypoints'),
            'keypoint_id2name': {str(k): v for k, v in
                                 (meta.get('keypoint_id2name') or {})
                                 .items()},
            'skeleton_links': [list(map(int, link)) for link in
                               meta.get('skeleton_links') or []]}


def main(argv=None) -> dict:
    """Run the demo; returns ``{'out_file', 'pred_out_file',
    'num_instances'}``."""
    args = parse_args(argv)
    if args.out_file is None and args.pred_out_file is None and \
            not args.show:
        raise SystemExit('give --out-file, --pred-out-file or --show')
    from posekit.apis import (inference_bottomup, inference_topdown,
                              init_model)
    from posekit.visualization import (PoseLocalVisualizer,
                                       merge_for_drawing, read_rgb_image,
                                       write_image)

    options = {'model.test_cfg.output_heatmaps': True} \
        if args.draw_heatmap else None
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=options)
    if is_bottomup(model):
        samples = inference_bottomup(model, args.img)
    else:
        boxes, fmt = (None, 'xyxy') if args.bboxes is None else \
            load_bboxes(args.bboxes, args.bbox_format)
        samples = inference_topdown(model, args.img, boxes, fmt)
    image = read_rgb_image(args.img)
    merged = merge_for_drawing(samples, image.shape[:2]) if samples \
        else None

    if args.out_file is not None or args.show:
        visualizer = PoseLocalVisualizer(
            name=f'image_demo_{id(args)}', radius=args.radius,
            line_width=args.thickness)
        visualizer.set_dataset_meta(model.dataset_meta)
        drawn = image if merged is None else visualizer.draw_datasample(
            image, merged, draw_gt=False, draw_pred=True,
            draw_heatmap=args.draw_heatmap, draw_bbox=True,
            show_kpt_idx=args.show_kpt_idx, kpt_thr=args.kpt_thr)
        if args.out_file is not None:
            write_image(args.out_file, drawn)
            print(f'image_demo: drew {len(samples)} sample(s) into '
                  f'{args.out_file}')
        if args.show:
            visualizer.show(drawn, win_name=osp.basename(args.img))

    instances = [] if merged is None else instance_list(
        merged.pred_instances)
    if args.pred_out_file is not None:
        with open(args.pred_out_file, 'w') as f:
            json.dump({'meta_info': meta_info(model.dataset_meta),
                       'instance_info': instances}, f, indent=1)
    return {'out_file': args.out_file, 'pred_out_file': args.pred_out_file,
            'num_instances': len(instances)}


if __name__ == '__main__':
    main()
