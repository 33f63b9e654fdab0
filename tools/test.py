"""Evaluate a checkpoint on a config's test set and print the metrics.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                                           [--cfg-options k=v ...]
                                           [--launcher none|pytorch|...]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from posekit.apis.training import build_runner, load_config  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='folder for the evaluation logs')
    parser.add_argument('--out', help='dump the predictions to this '
                        '.pkl file')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='override config keys, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--out must end with .pkl, got {args.out}')
        cfg.test_evaluator = _as_list(cfg.test_evaluator) + [
            dict(type='DumpResults', out_file_path=args.out)]
    runner = build_runner(cfg)
    return runner.test()


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


if __name__ == '__main__':
    main()
