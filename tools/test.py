"""Evaluate a checkpoint on a config's test set and print the metrics.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                                           [--cfg-options k=v ...]
                                           [--launcher none|pytorch|...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from posekit.apis.training import (add_common_args, build_runner,  # noqa
                                   setup_cfg)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='also dump the predictions to this '
                        '.pkl file')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'--out must end with .pkl, got {args.out}')
    cfg = setup_cfg(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.out is not None:
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpResults', out_file_path=args.out)]
    runner = build_runner(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
