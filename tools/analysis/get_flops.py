"""FLOPs and parameters of a config's model, as MMPose's get_flops tool
reports them.

Usage::

    python tools/analysis/get_flops.py CONFIG [--input-shape H W]
        [--batch-size N] [--device cpu] [--show-arch-info]
        [--cfg-options KEY=VALUE ...]

``--input-shape`` is height then width (MMPose's order; default 256 192);
one number means a square input. ``--shape`` is accepted as a short alias.
The count covers the inference forward (backbone, neck, head; no flip
test) as traced by mmengine; a fused multiply-add counts as one FLOP.
Model configs go through the same model check as training, so
``in_channels='auto'`` works here too.
"""
import argparse
import os
import sys
from typing import Optional, Sequence, Tuple

if __name__ == '__main__':  # run from a checkout without installing
    sys.path.insert(0, os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..')))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Complexity (FLOPs, parameters) of a model config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--input-shape', '--shape', dest='input_shape',
                        type=int, nargs='+', default=[256, 192],
                        metavar='H W', help='input height and width')
    parser.add_argument('--batch-size', '-b', type=int, default=1,
                        help='batch size of the random input')
    parser.add_argument('--device', default='cpu',
                        help='device the model runs on')
    parser.add_argument('--show-arch-info', '-s', action='store_true',
                        help='print FLOPs per module along the model tree')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='override config keys')
    return parser.parse_args(argv)


def image_shape(input_shape: Sequence[int]) -> Tuple[int, int, int]:
    """``(3, H, W)`` from ``[H, W]`` or ``[S]`` (square).

    Raises:
        ValueError: not one or two positive sizes.
    """
    if len(input_shape) == 1:
        input_shape = [input_shape[0], input_shape[0]]
    if len(input_shape) != 2 or min(input_shape) <= 0:
        raise ValueError('--input-shape takes H W (or one size for a square '
                         f'input) as positive ints, got {list(input_shape)}')
    return (3, int(input_shape[0]), int(input_shape[1]))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Print the complexity report; return mmengine's result dict plus
    ``input_shape`` ``(B, 3, H, W)``."""
    args = parse_args(argv)
    import torch
    from mmengine.analysis import get_model_complexity_info

    import posekit
    from posekit.apis.training import load_config
    from posekit.models.utils.model_check import resolve_auto_in_channels
    from posekit.registry import MODELS
    posekit.register_all_modules(init_default_scope=True)

    shape = image_shape(args.input_shape)
    if args.batch_size < 1:
        raise ValueError(f'--batch-size must be >= 1, got {args.batch_size}')
    cfg = load_config(args.config, args.cfg_options)
    # the check runs at the size the FLOPs are counted for: (w, h)
    model_cfg = resolve_auto_in_channels(cfg.model, (shape[2], shape[1]))
    model = MODELS.build(model_cfg).to(args.device).eval()
    inputs = torch.rand(args.batch_size, *shape, device=args.device)
    with torch.no_grad():
        # model(inputs) runs the 'tensor' mode: backbone, neck, head
        result = get_model_complexity_info(model, inputs=(inputs, ),
                                           show_table=True,
                                           show_arch=args.show_arch_info)
    result['input_shape'] = (args.batch_size, ) + shape
    line = '=' * 30
    print(f"{line}\nInput shape: {result['input_shape']}\n"
          f"Flops: {result['flops_str']}\nParams: {result['params_str']}\n"
          f'{line}')
    print(result['out_table'])
    if args.show_arch_info:
        print(result['out_arch'])
    print('FLOPs are counted by tracing; operators the counter does not '
          'know count as zero, so check before quoting them.')
    return result


if __name__ == '__main__':
    main()
