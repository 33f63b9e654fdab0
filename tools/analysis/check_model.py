"""Check that a config's model parts fit together, and show its shapes,
sizes and cost before training.

Usage::

    python tools/analysis/check_model.py CONFIG [--input-size W H]
        [--no-flops] [--cfg-options KEY=VALUE ...]

Runs the model check the runner runs before training (resolving
``in_channels='auto'``, stopping with the key and its right value on a
mismatch), then builds the whole model on the CPU and prints: each
backbone output shape, each neck output shape, the head output shape,
parameters per part and in total, and FLOPs per part and in total for one
image. ``--input-size`` is ``(w, h)`` like a codec's ``input_size``
(default: the head decoder's); note that ``get_flops.py`` takes
``--input-shape H W`` as MMPose's tool does.
"""
import argparse
import os
import sys
from typing import List, Optional, Sequence

if __name__ == '__main__':  # run from a checkout without installing
    sys.path.insert(0, os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..')))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Dry-run a model config: shapes, parameters, FLOPs')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--input-size', type=int, nargs=2,
                        metavar=('W', 'H'),
                        help='input width and height (default: '
                        'model.head.decoder.input_size)')
    parser.add_argument('--no-flops', action='store_true',
                        help='skip the FLOP count (it traces the model)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='override config keys')
    return parser.parse_args(argv)


def _shape_of(out) -> object:
    if hasattr(out, 'shape'):
        return tuple(out.shape)
    if isinstance(out, (list, tuple)):
        return [_shape_of(o) for o in out]
    return type(out).__name__


def _fmt_count(n: int) -> str:
    return f'{n:,} ({n / 1e6:.2f} M)'


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Print the report; return it as a dict (``backbone_shapes``,
    ``neck_shapes``, ``head_shape``, ``params``, ``flops`` (None with
    ``--no-flops``), ``input_size``, ``resolved``)."""
    args = parse_args(argv)
    import torch

    import posekit
    from posekit.apis.training import load_config
    from posekit.models.utils.complexity import count_flops, count_parameters
    from posekit.models.utils.model_check import check_model
    from posekit.registry import MODELS
    posekit.register_all_modules(init_default_scope=True)

    cfg = load_config(args.config, args.cfg_options)
    option = cfg.get('model_check', True)
    input_size = args.input_size
    if input_size is None and isinstance(option, dict):
        input_size = option.get('input_size')
    result = check_model(cfg.model, input_size)
    w, h = result.input_size
    in_ch = cfg.model.backbone.get('in_channels', 3)
    in_ch = in_ch if isinstance(in_ch, int) else 3  # as the check does

    model = MODELS.build(result.model_cfg).eval()
    with torch.no_grad():
        head_out = model(torch.rand(1, in_ch, h, w), mode='tensor')
    params = count_parameters(model)
    flops = None if args.no_flops else count_flops(model, (in_ch, h, w))

    lines: List[str] = [f'config: {args.config}',
                        f'input: (1, {in_ch}, {h}, {w})  '
                        f'(input_size w={w}, h={h})']
    model_cfg = result.model_cfg
    lines.append(f"backbone ({model_cfg.backbone.get('type')}) outputs:")
    lines += [f'  [{i}] {s}' for i, s in enumerate(result.backbone_shapes)]
    if result.neck_shapes is not None:
        lines.append(f"neck ({model_cfg.neck.get('type')}) outputs:")
        lines += [f'  [{i}] {s}' for i, s in enumerate(result.neck_shapes)]
    if model_cfg.get('head') is not None:
        lines.append(f"head ({model_cfg.head.get('type')}) output: "
                     f'{_shape_of(head_out)}')
    for key, value in result.resolved.items():
        lines.append(f"resolved: {key} = {value!r} (was 'auto')")
    lines.append('parameters:')
    lines += [f'  {name:<18} {_fmt_count(n)}' for name, n in params.items()]
    if flops is not None:
        lines.append('FLOPs (one image, multiply-adds):')
        lines += [f'  {name:<18} {n / 1e9:.3f} G'
                  for name, n in flops.items()]
    print('\n'.join(lines))
    return dict(input_size=result.input_size,
                backbone_shapes=result.backbone_shapes,
                neck_shapes=result.neck_shapes,
                head_shape=_shape_of(head_out), params=params, flops=flops,
                resolved=result.resolved)


if __name__ == '__main__':
    main()
