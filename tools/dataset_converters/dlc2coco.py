"""Convert a DeepLabCut project into COCO keypoint files and a metainfo file.

    python tools/dataset_converters/dlc2coco.py PROJECT_DIR OUT_DIR
        [--config PROJECT_DIR/config.yaml] [--val-fraction 0.2] [--seed 0]
        [--bbox-margin 20] [--sigma 0.05] [--flip-pair LEFT RIGHT ...]
        [--no-flip] [--name NAME] [--copy-images]

OUT_DIR then holds annotations/train.json, annotations/val.json,
dataset_info.py and images/ (see docs/custom_dataset.md); train with
configs/custom/td-hm_res18_custom-coco.py.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from posekit.datasets.converters import convert_dlc_project  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='DeepLabCut project -> COCO keypoints + dataset_info.py')
    parser.add_argument('project', help='DeepLabCut project folder (holds '
                        'labeled-data/ and usually config.yaml)')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--config', help='the project config.yaml (default: '
                        'PROJECT/config.yaml if present)')
    parser.add_argument('--val-fraction', type=float, default=0.2,
                        help='share of frames held out for validation')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the train/val split')
    parser.add_argument('--bbox-margin', type=float, default=20.0,
                        help='pixels added on each side of the box around '
                        'the labelled points')
    parser.add_argument('--sigma', type=float, default=0.05,
                        help='OKS sigma written for every keypoint')
    flips = parser.add_mutually_exclusive_group()
    flips.add_argument('--flip-pair', nargs=2, action='append',
                       metavar=('LEFT', 'RIGHT'),
                       help='keypoints swapped by a horizontal flip '
                       '(repeat for several; default: inferred from '
                       'left/right names)')
    flips.add_argument('--no-flip', action='store_true',
                       help='no keypoint pairs swap under a flip')
    parser.add_argument('--name', help='dataset name (default: the '
                        "config's Task, else the project folder name)")
    parser.add_argument('--copy-images', action='store_true',
                        help='copy the labelled frames to OUT/images '
                        'instead of linking OUT/images to the project')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    flip_pairs = [] if args.no_flip else args.flip_pair
    summary = convert_dlc_project(
        args.project, args.out, config_path=args.config,
        val_fraction=args.val_fraction, seed=args.seed,
        bbox_margin=args.bbox_margin, sigma=args.sigma,
        flip_pairs=flip_pairs, dataset_name=args.name,
        image_mode='copy' if args.copy_images else 'symlink')
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == '__main__':
    main()
