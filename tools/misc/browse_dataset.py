"""Draw the samples of a config's dataset to check annotations and the
data pipeline; needs no model.

    python tools/misc/browse_dataset.py CONFIG [--output-dir DIR]
        [--phase train|val|test] [--mode original|transformed]
        [--max-items N] [--show] [--show-interval SECONDS]
        [--kpt-thr T] [--cfg-options KEY=VALUE ...]

``original``: each data sample (one person box top-down, one image
bottom-up) on its image as read from disk, with its ground-truth
keypoints, skeleton and boxes. ``transformed``: the output of the
phase's pipeline (augmentations included) — the model-input image with
the transformed keypoints and, when the pipeline encodes heatmaps, their
overlay below it. Images go to ``--output-dir`` (default
``work_dirs/browse_dataset/<config name>/<phase>_<mode>``) as
``<index>_<image stem>.png``; ``--show`` also displays each one.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

import numpy as np  # noqa: E402

_PHASES = ('train', 'val', 'test')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw dataset samples '
                                     'with their keypoints')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', help='folder for the drawn images '
                        '(default: work_dirs/browse_dataset/<config name>/'
                        '<phase>_<mode>)')
    parser.add_argument('--phase', default='train', choices=_PHASES,
                        help='which dataloader\'s dataset (default: train)')
    parser.add_argument('--mode', default='transformed',
                        choices=['original', 'transformed'],
                        help='original: images as on disk; transformed: '
                        'after the pipeline (default)')
    parser.add_argument('--max-items', type=int, default=50,
                        help='draw at most this many samples (default 50)')
    parser.add_argument('--show', action='store_true',
                        help='also display each image in a window')
    parser.add_argument('--show-interval', type=float, default=2.0,
                        help='seconds each shown image stays (0: until a '
                        'key is pressed)')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='keypoints with a lower visibility are not '
                        'drawn')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='override config keys')
    return parser.parse_args(argv)


def _dataset_cfg(cfg, phase: str) -> dict:
    loader = cfg.get(f'{phase}_dataloader')
    if not loader or not loader.get('dataset'):
        raise KeyError(f'the config has no {phase}_dataloader.dataset; use '
                       f'--phase with one of the phases it defines')
    return loader['dataset']


def _pack_transformed(dataset_cfg: dict, phase: str) -> None:
    """Ask the pipeline's PackPoseInputs to keep the transformed keypoints
    (top-down crops move them to the input image)."""
    pipeline = dataset_cfg.get('pipeline') or []
    packs = [t for t in pipeline if isinstance(t, dict)
             and t.get('type') in ('PackPoseInputs', 'posekit.'
                                   'PackPoseInputs')]
    if not packs:
        raise ValueError(f'{phase}_dataloader.dataset.pipeline has no '
                         'PackPoseInputs; --mode transformed draws its '
                         'output (use --mode original instead)')
    packs[-1]['pack_transformed'] = True


def _visualizer(cfg):
    """A PoseLocalVisualizer with the config's drawing settings (radius,
    line width, ...) but no backends: images go to files here."""
    from posekit.visualization import PoseLocalVisualizer
    settings = dict(cfg.get('visualizer') or {})
    keep = ('bbox_color', 'kpt_color', 'link_color', 'text_color',
            'line_width', 'radius', 'show_keypoint_weight', 'alpha')
    if str(settings.get('type', '')).split('.')[-1] != 'PoseLocalVisualizer':
        settings = {}
    kwargs = {k: settings[k] for k in keep if k in settings}
    return PoseLocalVisualizer(name=f'browse_dataset_{id(cfg)}',
                               backend='opencv', **kwargs)


def _original_sample(info: dict):
    """(RGB image, PoseDataSample with the ground truth) of a data info."""
    from mmengine.structures import InstanceData

    from posekit.structures import PoseDataSample
    from posekit.visualization import read_rgb_image
    image = read_rgb_image(info['img_path'])
    gt = InstanceData()
    kpts = np.asarray(info['keypoints'], dtype=np.float32)
    gt.keypoints = kpts.reshape(-1, *kpts.shape[-2:])
    visible = np.asarray(info.get('keypoints_visible',
                                  np.ones(gt.keypoints.shape[:2])))
    if visible.ndim == 3:
        visible = visible[..., 0]
    gt.keypoints_visible = visible.reshape(gt.keypoints.shape[:2])
    if info.get('bbox') is not None:
        gt.bboxes = np.asarray(info['bbox'], dtype=np.float32).reshape(-1, 4)
    sample = PoseDataSample(metainfo=dict(img_path=info['img_path']))
    sample.gt_instances = gt
    return image, sample


def _largest_level(fields):
    """A multi-level target (one heatmap per resolution) is drawn at its
    finest level."""
    heatmaps = fields.heatmaps
    if isinstance(heatmaps, (list, tuple)):
        from mmengine.structures import PixelData
        finest = max(heatmaps, key=lambda h: h.shape[-1] * h.shape[-2])
        return PixelData(heatmaps=finest)
    return fields


def _transformed_sample(item: dict):
    """(RGB model-input image, its packed data sample) of a pipeline
    output."""
    inputs = item['inputs']
    if isinstance(inputs, (list, tuple)) or inputs.ndim == 4:
        inputs = inputs[0]  # a multi-scale pyramid: the base scale
    image = inputs.permute(1, 2, 0).cpu().numpy()
    if image.shape[2] != 3:
        raise ValueError(f'--mode transformed draws 3-channel inputs, got '
                         f'{image.shape[2]} channels')
    from posekit.structures import PoseDataSample
    packed = item['data_samples']
    # Without the crop's center/scale the heatmaps are simply stretched
    # over the drawn image, which is the model input itself.
    sample = PoseDataSample(metainfo={
        k: v for k, v in packed.metainfo.items()
        if k not in ('input_center', 'input_scale')})
    sample.gt_instances = packed.gt_instances
    fields = packed.get('gt_fields')
    if fields is not None and 'heatmaps' in fields:
        sample.gt_fields = _largest_level(fields)
    return np.ascontiguousarray(image[..., ::-1]), sample


def main(argv=None) -> List[str]:
    """Draw the samples; returns the paths of the written images."""
    args = parse_args(argv)
    if args.max_items < 1:
        raise SystemExit(f'--max-items must be >= 1, got {args.max_items}')
    import posekit
    from posekit.apis.training import load_config
    from posekit.registry import DATASETS
    from posekit.visualization import write_image
    posekit.register_all_modules(init_default_scope=True)

    cfg = load_config(args.config, args.cfg_options)
    dataset_cfg = _dataset_cfg(cfg, args.phase)
    if args.mode == 'transformed':
        _pack_transformed(dataset_cfg, args.phase)
    dataset = DATASETS.build(dataset_cfg)
    visualizer = _visualizer(cfg)
    visualizer.set_dataset_meta(dataset.metainfo)

    out_dir = args.output_dir or osp.join(
        'work_dirs', 'browse_dataset',
        osp.splitext(osp.basename(args.config))[0],
        f'{args.phase}_{args.mode}')
    os.makedirs(out_dir, exist_ok=True)
    written = []
    total = min(len(dataset), args.max_items)
    for idx in range(total):
        if args.mode == 'original':
            image, sample = _original_sample(dataset.get_data_info(idx))
        else:
            image, sample = _transformed_sample(dataset[idx])
        stem = osp.splitext(osp.basename(
            sample.metainfo.get('img_path') or 'sample'))[0]
        drawn = visualizer.draw_datasample(
            image, sample, draw_gt=True, draw_pred=False,
            draw_heatmap=True, draw_bbox=args.mode == 'original',
            kpt_thr=args.kpt_thr)
        # PNG: lossless, so thin lines and colours stay as drawn
        path = osp.join(out_dir, f'{idx:05d}_{stem}.png')
        write_image(path, drawn)
        written.append(path)
        if args.show:
            visualizer.show(drawn, win_name=stem,
                            wait_time=args.show_interval)
    print(f'browse_dataset: wrote {len(written)} images to {out_dir}')
    return written


if __name__ == '__main__':
    main()
