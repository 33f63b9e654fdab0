"""Export a posekit model to ONNX and check it against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \\
        --shape 1 3 256 192 [--output-file model.onnx] [--with-decode] \\
        [--dynamic-batch] [--simplify] [--opset 17] [--exporter auto] \\
        [--device cpu] [--verify-image IMG] [--skip-verify] \\
        [--cfg-options KEY=VALUE ...]

Without --with-decode the graph maps raw pixels to the head's raw outputs;
with it, a top-down model's graph takes the crop and its box and returns
keypoints in image pixels. After the export the file is run with
onnxruntime and compared with PyTorch (see docs/deployment.md).
"""
import argparse
import math
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from posekit.apis import init_model  # noqa: E402
from posekit.export import (EXPORTERS, UnsupportedModelError,  # noqa
                            export_onnx, verify_decode, verify_raw)
from posekit.export.runtime import require  # noqa: E402

# boxes the decoding check runs (rounded up to a multiple of a fixed N)
_CHECK_BOXES = 10
# keypoint differences above this (image pixels) get an explanation
_REFINE_NOTE_PX = 0.01


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a posekit model to ONNX')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file ('none' for "
                        'random weights)')
    parser.add_argument('--shape', type=int, nargs=4, required=True,
                        metavar=('N', 'C', 'H', 'W'),
                        help='input shape, e.g. 1 3 256 192 (H, W: the '
                        "config's TopdownAffine input_size reversed)")
    parser.add_argument('--output-file', default='model.onnx',
                        help='where to write the model (default: '
                        'model.onnx)')
    parser.add_argument('--with-decode', action='store_true',
                        help='top-down models: put flip test, decoding and '
                        'the mapping to image pixels inside the graph '
                        '(inputs: input, bbox; outputs: keypoints, scores)')
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='make the batch axis N dynamic')
    parser.add_argument('--simplify', action='store_true',
                        help='simplify the graph with onnxslim (or '
                        'onnx-simplifier), which must be installed')
    parser.add_argument('--opset', type=int, default=17,
                        help='ONNX opset version (default: 17)')
    parser.add_argument('--exporter', default='auto', choices=EXPORTERS,
                        help="torch.onnx.export(dynamo=True) ('dynamo', "
                        "opset >= 18) or dynamo=False ('torchscript'); "
                        "'auto' (default) picks dynamo from opset 18 on")
    parser.add_argument('--device', default='cpu',
                        help='device to export on, e.g. cpu or cuda:0')
    parser.add_argument('--verify-image', default=None,
                        help='image to take the check boxes from (default:'
                        ' a random image)')
    parser.add_argument('--skip-verify', action='store_true',
                        help='do not compare onnxruntime with PyTorch')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='override config keys')
    return parser.parse_args(argv)


def _read_image(path):
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f'--verify-image {path} could not be read as an '
                         'image')
    return img


def verify(model, result, args) -> dict:
    """Compare onnxruntime with PyTorch; returns the max abs difference of
    each output."""
    if not args.with_decode:
        return verify_raw(model, result.path, args.shape,
                          result.output_names, device=args.device)
    n = args.shape[0]
    batch = None if args.dynamic_batch else n
    boxes = _CHECK_BOXES if batch is None else \
        batch * math.ceil(_CHECK_BOXES / batch)
    image = _read_image(args.verify_image) if args.verify_image else None
    return verify_decode(model, result.path, result.info, image=image,
                         num_boxes=boxes, device=args.device,
                         batch_size=batch)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not args.skip_verify:  # fail before the export, not after it
        require('onnxruntime', 'checking the export (or --skip-verify)')
    checkpoint = None if args.checkpoint.lower() == 'none' else \
        args.checkpoint
    model = init_model(args.config, checkpoint, device=args.device,
                       cfg_options=args.cfg_options)
    result = export_onnx(
        model, args.output_file, args.shape, cfg=model.cfg,
        with_decode=args.with_decode, dynamic_batch=args.dynamic_batch,
        opset=args.opset, exporter=args.exporter, simplify=args.simplify)
    print(f'wrote {result.path} (opset {args.opset}, {result.exporter} '
          f'exporter); inputs {result.input_names}, outputs '
          f'{result.output_names}')
    if result.info is not None:
        info = result.info
        print(f'crop (w, h) = {info.input_size}, box padding '
              f'{info.bbox_padding}, use_udp {info.use_udp}, flip test '
              f"{bool(model.test_cfg.get('flip_test', False))}")
    if args.skip_verify:
        return {}
    diffs = verify(model, result, args)
    unit = ' px' if args.with_decode else ''
    for name, diff in diffs.items():
        print(f'max abs difference onnxruntime vs PyTorch, {name}: '
              f'{diff:.3g}{unit if name == "keypoints" else ""}')
    if diffs.get('keypoints', 0) > _REFINE_NOTE_PX:
        print('note: DARK-style refinements are ill-conditioned on flat '
              'heatmaps (e.g. random weights), where tiny rounding moves '
              'keypoints in PyTorch too; see "The check" in '
              'docs/deployment.md')
    return diffs


if __name__ == '__main__':
    try:
        main()
    except (UnsupportedModelError, ImportError, ValueError,
            FileNotFoundError) as err:
        raise SystemExit(f'pytorch2onnx: {err}') from None
