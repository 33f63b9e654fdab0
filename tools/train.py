"""Train a pose model from a config file.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--auto-scale-lr] [--test]
                                 [--cfg-options k=v ...]
                                 [--launcher none|pytorch|slurm|mpi]

The run starts by logging a summary: model parameters, dataset sizes,
batch size per device and in total, the learning rate after
``--auto-scale-lr``, and the work dir. ``--cfg-options`` edits nested keys
(``model.backbone.depth=18``) and list items by index
(``param_scheduler.0.end=100``).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from posekit.apis.training import (add_common_args, build_runner,  # noqa
                                   setup_cfg)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a pose model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or with no value from the newest '
        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='train with automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the batch size '
                        'relative to auto_scale_lr.base_batch_size')
    parser.add_argument('--test', action='store_true',
                        help='run the test loop (test_dataloader, '
                        'test_evaluator) on the final weights after '
                        'training (config key test_after_train=True)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    """Train; returns the runner (its ``test_metrics`` hold the results of
    ``--test``)."""
    args = parse_args(argv)
    cfg = setup_cfg(args)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.test:
        cfg.test_after_train = True
    runner = build_runner(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
