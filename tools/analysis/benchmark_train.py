"""Training throughput of a config: which part limits it?

Builds the training pieces of CONFIG as ``tools/train.py`` would (the
train dataloader with its ``num_workers``, the model, the optimizer
wrapper) and reports samples per second for

- the data pipeline alone: iterating the train dataloader;
- the model step alone: one cached batch fed again and again to
  ``model.train_step(batch, optim_wrapper)`` (data preprocessor, forward,
  loss, backward, optimizer step);
- both together: the real loop, the next batch from the dataloader, then
  the step.

The slower of the first two limits the training. CUDA timings
synchronise before the clock is read.

    python tools/analysis/benchmark_train.py CONFIG [--iters 20]
        [--warmup 3] [--device cpu|cuda] [--amp] [--channels-last]
        [--compile] [--cfg-options k=v ...]
"""
import argparse
import itertools
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import torch  # noqa: E402

from posekit.apis.training import build_runner, load_config  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Samples/s of the data pipeline, the model step and '
        'both together for a training config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations per measurement')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed iterations before each measurement')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--amp', action='store_true',
                        help='AmpOptimWrapper with dtype bfloat16')
    parser.add_argument('--channels-last', action='store_true',
                        help='model and inputs in torch.channels_last '
                        '(train_speed.channels_last)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the backbone, neck and head '
                        '(train_speed.compile)')
    parser.add_argument('--work-dir', default=None,
                        help='folder for the runner log (default: a '
                        'temporary folder)')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='override config keys, e.g. train_dataloader.batch_size=16')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error(f'--iters must be >= 1 and --warmup >= 0, got '
                     f'--iters {args.iters} --warmup {args.warmup}')
    return args


def _cycle(loader) -> Iterator:
    """Batches of ``loader`` without end (a new epoch when one runs out)."""
    for epoch in itertools.count():
        sampler = getattr(loader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(epoch)
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError('the train dataloader yields no batches (empty '
                             'dataset, or drop_last with fewer samples than '
                             'train_dataloader.batch_size)')


def batch_size_of(batch: Dict) -> int:
    """Number of samples in a collated ``{'inputs', 'data_samples'}``
    batch."""
    inputs = batch['inputs']
    return len(inputs) if isinstance(inputs, (list, tuple)) \
        else int(inputs.shape[0])


def _timed(step: Callable[[], int], iters: int, warmup: int,
           sync: Callable[[], None]) -> float:
    """Samples per second of ``iters`` calls of ``step`` (which returns
    its number of samples) after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    samples = sum(step() for _ in range(iters))
    sync()
    return samples / max(time.perf_counter() - start, 1e-9)


def _prepare_cfg(args: argparse.Namespace, work_dir: str):
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'  # the report, not the runner's set-up log
    # nothing is validated or saved here
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.load_from, cfg.resume = None, False
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    return cfg


def benchmark(args: argparse.Namespace, work_dir: str) -> Dict:
    """The three figures (samples/s) and the limiting part; see the
    module doc.

    Raises:
        RuntimeError: ``--device cuda`` on a machine without CUDA.
    """
    from posekit.engine.hooks import TrainSpeedHook
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda: torch sees no CUDA device here '
                           f'(torch {torch.__version__}); use --device cpu')
    cfg = _prepare_cfg(args, work_dir)
    runner = build_runner(cfg)
    model = runner.model.to(device)
    model.train()
    loader = runner.train_dataloader
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    options = dict(cfg.get('train_speed') or {})
    if args.channels_last:
        options['channels_last'] = True
    if args.compile:
        options['compile'] = options.get('compile') or True
    TrainSpeedHook(**options).apply(model)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)

    batches = _cycle(loader)

    def data_step() -> int:
        return batch_size_of(next(batches))

    cached = next(batches)

    def model_step() -> int:
        model.train_step(cached, optim_wrapper)
        return batch_size_of(cached)

    def both_step() -> int:
        batch = next(batches)
        model.train_step(batch, optim_wrapper)
        return batch_size_of(batch)

    result = dict(
        data=_timed(data_step, args.iters, args.warmup, sync),
        model=_timed(model_step, args.iters, args.warmup, sync),
        both=_timed(both_step, args.iters, args.warmup, sync))
    result['limit'] = 'data pipeline' if result['data'] < result['model'] \
        else 'model step'
    result.update(device=device, batch_size=batch_size_of(cached),
                  num_workers=getattr(loader, 'num_workers', 0),
                  options=options, amp=args.amp)
    return result


def report(result: Dict) -> str:
    """The figures as printed lines."""
    opts = ', '.join(f'{k}={v}' for k, v in result['options'].items())
    slow, fast = sorted((result['data'], result['model']))
    ratio = fast / max(slow, 1e-9)
    return '\n'.join([
        f"device {result['device']}, batch size {result['batch_size']}, "
        f"num_workers {result['num_workers']}, amp bf16 {result['amp']}"
        + (f', {opts}' if opts else ''),
        f"data pipeline alone: {result['data']:10.1f} samples/s",
        f"model step alone:    {result['model']:10.1f} samples/s",
        f"both together:       {result['both']:10.1f} samples/s",
        f"limited by: {result['limit']} ({ratio:.1f}x slower than the "
        'other part)'])


def main(argv: Optional[List[str]] = None) -> Dict:
    """Run the benchmark, print the report, return the figures
    (``data``, ``model``, ``both`` in samples/s, ``limit``, ...)."""
    args = parse_args(argv)
    if args.work_dir is not None:
        os.makedirs(args.work_dir, exist_ok=True)
        result = benchmark(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory() as work_dir:
            result = benchmark(args, work_dir)
    print(report(result))
    return result


if __name__ == '__main__':
    main()
