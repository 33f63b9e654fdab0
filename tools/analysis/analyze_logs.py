"""Plot training curves and measure iteration times from json logs.

    python tools/analysis/analyze_logs.py plot_curve LOG [LOG ...]
        [--keys loss_kpt coco/AP] [--legend NAME ...] [--title TITLE]
        [--x-axis iter|epoch] [--start-epoch N] [--eval-interval N]
        [--backend Agg] [--style STYLE] [--out fig.png]
    python tools/analysis/analyze_logs.py cal_train_time LOG [LOG ...]
        [--include-outliers]

A LOG is the json scalars mmengine's ``LocalVisBackend`` writes for a run
(``WORK_DIR/<timestamp>/vis_data/scalars.json``, or the identical
``<timestamp>.json`` beside it), a run folder ``WORK_DIR/<timestamp>``, or a
work dir (its newest run). MMPose 0.x / mmcv json logs (records with a
``mode`` key) are not read.

Every line of such a log is one json record. Training records carry
``iter`` (and ``epoch`` when training by epoch); validation records carry
the metrics (``coco/AP``, ``val/loss`` ...) and ``step``: the epoch they
were computed after (the iteration with ``log_metric_by_epoch=False``).
Training keys are plotted against iterations (or, with ``--x-axis epoch``,
as per-epoch means against epochs); validation keys against ``step``.
"""
import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# the run's own bookkeeping; never plotted as a curve
_BOOKKEEPING = ('epoch', 'iter', 'step')


@dataclass
class JsonLog:
    """The records of one json log, split into training and validation.

    Attributes:
        path: the file read.
        train: training records in file order (dicts of key -> number).
        val: validation records in file order.
    """
    path: str
    train: List[dict] = field(default_factory=list)
    val: List[dict] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """Name used in default legends: the run folder (timestamp) for
        ``<run>/vis_data/scalars.json``, else the file name without
        ``.json``."""
        path = Path(self.path)
        if path.name == 'scalars.json' and path.parent.name == 'vis_data':
            return path.parent.parent.name
        return path.stem

    @property
    def by_epoch(self) -> bool:
        """Whether the training records carry epochs."""
        return any('epoch' in rec for rec in self.train)

    def keys(self) -> Tuple[List[str], List[str]]:
        """The plottable ``(training keys, validation keys)``, in first
        appearance order."""
        return _numeric_keys(self.train), _numeric_keys(self.val)


@dataclass
class Curve:
    """One plotted line: ``x`` and ``y`` (1-D float arrays of equal length)
    and the name of the x axis (``'iter'`` or ``'epoch'``)."""
    x: np.ndarray
    y: np.ndarray
    x_label: str


def _numeric_keys(records: Sequence[dict]) -> List[str]:
    seen: Dict[str, None] = {}
    for rec in records:
        for key, value in rec.items():
            if key not in _BOOKKEEPING and _is_number(value):
                seen.setdefault(key, None)
    return list(seen)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def resolve_log_path(path: str) -> str:
    """The json file for ``path``: the file itself, or for a folder the
    newest ``vis_data/scalars.json`` under it (run folder or work dir).

    Raises:
        FileNotFoundError: nothing there, or a folder without json scalars.
    """
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(f'log {path} does not exist')
    own = Path(path) / 'vis_data' / 'scalars.json'
    if own.is_file():
        return str(own)
    runs = sorted(Path(path).glob('*/vis_data/scalars.json'))
    if not runs:
        raise FileNotFoundError(
            f'{path} is a folder without vis_data/scalars.json or '
            '*/vis_data/scalars.json; pass the json log of a run (written '
            "by LocalVisBackend: vis_backends=[dict(type='LocalVisBackend')"
            '])')
    return str(runs[-1])  # timestamp folders sort by time


def load_json_log(path: str) -> JsonLog:
    """Read one json log (see the module doc for the formats).

    Raises:
        FileNotFoundError: see :func:`resolve_log_path`.
        ValueError: a line is not a json object (names file and line).
    """
    path = resolve_log_path(path)
    log = JsonLog(path=path)
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path} line {lineno} is not json: '
                                 f'{err}') from None
            if not isinstance(rec, dict):
                raise ValueError(f'{path} line {lineno} is not a json '
                                 f'object: {line[:80]}')
            if 'mode' in rec:
                raise ValueError(
                    f'{path} line {lineno} has a "mode" key: an mmcv / '
                    'MMPose 0.x json log, which analyze_logs does not read '
                    '(it reads the json scalars of mmengine, '
                    'vis_data/scalars.json)')
            if 'iter' in rec:
                log.train.append(rec)
            elif len(rec.keys() - {'step', 'epoch'}) > 0:
                log.val.append(rec)
    return log


def load_json_logs(paths: Sequence[str]) -> List[JsonLog]:
    """:func:`load_json_log` for each path, in order."""
    return [load_json_log(p) for p in paths]


def train_curve(log: JsonLog, key: str, x_axis: str = 'iter',
                start_epoch: int = 1) -> Curve:
    """Training ``key`` per logged iteration (``x_axis='iter'``) or its
    mean per epoch (``x_axis='epoch'``), from epoch ``start_epoch`` on.

    Raises:
        ValueError: ``x_axis='epoch'`` for a log without epochs.
    """
    recs = [r for r in log.train if _is_number(r.get(key))
            and r.get('epoch', start_epoch) >= start_epoch]
    if x_axis == 'iter':
        return Curve(np.array([r['iter'] for r in recs], dtype=float),
                     np.array([r[key] for r in recs], dtype=float), 'iter')
    if not log.by_epoch:
        raise ValueError(f'{log.path} was trained by iteration (no epoch '
                         'in its records); use --x-axis iter')
    epochs = np.array([r['epoch'] for r in recs], dtype=float)
    values = np.array([r[key] for r in recs], dtype=float)
    xs = np.unique(epochs)
    # per-epoch mean without a loop over records
    idx = np.searchsorted(xs, epochs)
    sums = np.bincount(idx, weights=values, minlength=len(xs))
    counts = np.bincount(idx, minlength=len(xs))
    return Curve(xs, sums / counts, 'epoch')


def val_curve(log: JsonLog, key: str, start_epoch: int = 1,
              eval_interval: int = 1) -> Curve:
    """Validation ``key`` against the epoch (``step``) it was computed
    after (the iteration for logs trained by iteration). A record without
    ``step`` or ``epoch`` (written by hand or converted) is taken as the
    k-th validation, after epoch ``k * eval_interval``."""
    label = 'epoch' if log.by_epoch or not log.train else 'iter'
    first = start_epoch if label == 'epoch' else -np.inf
    xs, ys = [], []
    for k, rec in enumerate(log.val, 1):
        step = rec.get('step', rec.get('epoch', k * eval_interval))
        if _is_number(rec.get(key)) and step >= first:
            xs.append(step)
            ys.append(rec[key])
    return Curve(np.array(xs, dtype=float), np.array(ys, dtype=float),
                 label)


def get_curves(logs: Sequence[JsonLog], keys: Sequence[str],
               x_axis: str = 'iter', start_epoch: int = 1,
               eval_interval: int = 1) -> Dict[Tuple[int, str], Curve]:
    """The curve of every (log index, key) pair that exists. A key found
    in training records is a training curve, else a validation curve.

    Raises:
        KeyError: a key is in none of the logs (lists the keys that are).
    """
    curves: Dict[Tuple[int, str], Curve] = {}
    for key in keys:
        found = False
        for i, log in enumerate(logs):
            train_keys, val_keys = log.keys()
            if key in train_keys:
                curves[(i, key)] = train_curve(log, key, x_axis, start_epoch)
            elif key in val_keys:
                curves[(i, key)] = val_curve(log, key, start_epoch,
                                             eval_interval)
            else:
                continue
            found = True
        if not found:
            raise KeyError(f'key {key!r} is in none of the logs '
                           f'({", ".join(log.path for log in logs)}); '
                           f'keys there: {_describe_keys(logs)}')
    return curves


def _describe_keys(logs: Sequence[JsonLog]) -> str:
    train: Dict[str, None] = {}
    val: Dict[str, None] = {}
    for log in logs:
        t, v = log.keys()
        train.update(dict.fromkeys(t))
        val.update(dict.fromkeys(v))
    return (f'training {sorted(train) or "none"}, '
            f'validation {sorted(val) or "none"}')


def plot_curve(logs: Sequence[JsonLog], keys: Sequence[str],
               out: Optional[str], legend: Optional[Sequence[str]] = None,
               title: Optional[str] = None, backend: Optional[str] = None,
               style: Optional[str] = None, x_axis: str = 'iter',
               start_epoch: int = 1, eval_interval: int = 1
               ) -> Dict[Tuple[int, str], Curve]:
    """Draw one line per (log, key), training and validation curves on
    separate axes when both are asked for; save to ``out`` (without
    ``out``, show it with ``backend``). Returns the curves drawn.

    Raises:
        KeyError: see :func:`get_curves`.
        ValueError: ``legend`` is not one name per (log, key); unknown
            ``style``; no ``out`` and no interactive ``backend``.
    """
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure

    n = len(logs) * len(keys)
    if legend is None:
        legend = [f'{log.stem}_{key}' for log in logs for key in keys]
    elif len(legend) != n:
        raise ValueError(f'--legend needs one name per log and key ({n} = '
                         f'{len(logs)} logs x {len(keys)} keys), got '
                         f'{len(legend)}')
    if style is not None and style not in matplotlib.style.available:
        raise ValueError(f'--style {style!r} is not a matplotlib style; '
                         f'available: {sorted(matplotlib.style.available)}')
    if out is None and (backend is None or backend.lower() == 'agg'):
        raise ValueError('nothing to show the figure on with the Agg '
                         'backend: pass --out FILE (or an interactive '
                         '--backend such as TkAgg)')
    curves = get_curves(logs, keys, x_axis, start_epoch, eval_interval)
    labels = sorted({c.x_label for c in curves.values()},
                    key=['iter', 'epoch'].index)
    with matplotlib.style.context(style or 'default'):
        if out is None:
            import matplotlib.pyplot as plt
            plt.switch_backend(backend)
            fig = plt.figure(figsize=(8, 4 * len(labels)))
        else:
            fig = Figure(figsize=(8, 4 * len(labels)))
        axes = {lab: fig.add_subplot(len(labels), 1, i + 1)
                for i, lab in enumerate(labels)}
        for i in range(len(logs)):
            for j, key in enumerate(keys):
                curve = curves.get((i, key))
                if curve is None:
                    print(f'{logs[i].path} has no {key}; skipped')
                    continue
                ax = axes[curve.x_label]
                ax.plot(curve.x, curve.y, label=legend[i * len(keys) + j],
                        marker='o' if curve.x_label == 'epoch' else None,
                        linewidth=1)
        for lab, ax in axes.items():
            ax.set_xlabel(lab)
            ax.legend()
            ax.grid(True, alpha=0.3)
        if title is not None:
            fig.suptitle(title)
        fig.tight_layout()
        if out is None:
            plt.show()
        else:
            fig.savefig(out)
            print(f'saved the curves to {out}')
    return curves


@dataclass
class TrainTime:
    """Iteration-time summary of one log (seconds per iteration; epochs
    numbered as in the log)."""
    slowest_epoch: int
    slowest_time: float
    fastest_epoch: int
    fastest_time: float
    std_over_epochs: float
    mean_iter_time: float


def cal_train_time(log: JsonLog, include_outliers: bool = False
                   ) -> TrainTime:
    """Per-epoch mean of the logged ``time`` of training records (without
    each epoch's first record unless ``include_outliers``: it includes
    start-up work), the slowest and fastest epoch, the population std of
    the epoch means, and the mean over all records used.

    Raises:
        ValueError: no training ``time`` records, no epochs, or every epoch
            has a single record and outliers are excluded.
    """
    recs = [r for r in log.train if _is_number(r.get('time'))]
    if not recs:
        raise ValueError(f'{log.path} has no training records with "time" '
                         '(is IterTimerHook among the hooks?)')
    if not log.by_epoch:
        raise ValueError(f'{log.path} was trained by iteration (no epoch in '
                         'its records); cal_train_time needs epochs')
    epochs = np.array([r['epoch'] for r in recs])
    times = np.array([r['time'] for r in recs], dtype=float)
    if not include_outliers:
        first = np.ones(len(epochs), dtype=bool)
        first[1:] = epochs[1:] != epochs[:-1]
        epochs, times = epochs[~first], times[~first]
    if len(times) == 0:
        raise ValueError(
            f'{log.path}: every epoch has one logged iteration, which is '
            'left out as an outlier; log more often '
            '(default_hooks.logger.interval) or pass --include-outliers')
    numbers, idx = np.unique(epochs, return_inverse=True)
    means = (np.bincount(idx, weights=times)
             / np.bincount(idx)).astype(float)
    slow, fast = int(means.argmax()), int(means.argmin())
    return TrainTime(int(numbers[slow]), float(means[slow]),
                     int(numbers[fast]), float(means[fast]),
                     float(means.std()), float(times.mean()))


def format_train_time(path: str, t: TrainTime) -> str:
    """The report ``cal_train_time`` prints for one log."""
    return (f'-----Analyze train time of {path}-----\n'
            f'slowest epoch {t.slowest_epoch}, average time is '
            f'{t.slowest_time:.4f} s/iter\n'
            f'fastest epoch {t.fastest_epoch}, average time is '
            f'{t.fastest_time:.4f} s/iter\n'
            f'time std over epochs is {t.std_over_epochs:.4f}\n'
            f'average iter time: {t.mean_iter_time:.4f} s/iter\n')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of log keys')
    plot.add_argument('json_logs', nargs='+',
                      help='json logs (scalars.json), run folders or work '
                      'dirs')
    plot.add_argument('--keys', nargs='+', default=['loss_kpt'],
                      help='keys to plot, e.g. loss_kpt acc_pose coco/AP')
    plot.add_argument('--legend', nargs='+', default=None,
                      help='one name per log and key (default '
                      '{log stem}_{key})')
    plot.add_argument('--title', default=None, help='figure title')
    plot.add_argument('--x-axis', choices=['iter', 'epoch'], default='iter',
                      help='x axis of training keys (epoch: per-epoch '
                      'means)')
    plot.add_argument('--start-epoch', type=int, default=1,
                      help='leave out records before this epoch')
    plot.add_argument('--eval-interval', type=int, default=1,
                      help='epochs between validations; only used for old '
                      'logs whose validation records name no epoch')
    plot.add_argument('--backend', default=None,
                      help='matplotlib backend to show the figure with when '
                      'no --out is given (e.g. TkAgg)')
    plot.add_argument('--style', default=None,
                      help='matplotlib style, e.g. ggplot, seaborn-v0_8')
    plot.add_argument('--out', default=None, help='image file to write')
    timing = sub.add_parser('cal_train_time',
                            help='average time per training iteration')
    timing.add_argument('json_logs', nargs='+',
                        help='json logs, run folders or work dirs')
    timing.add_argument('--include-outliers', action='store_true',
                        help="keep each epoch's first iteration")
    args = parser.parse_args(argv)
    if args.task == 'plot_curve' and (args.start_epoch < 1
                                      or args.eval_interval < 1):
        parser.error('--start-epoch and --eval-interval must be >= 1')
    return args


def main(argv: Optional[Sequence[str]] = None):
    """Run the task named on the command line; returns the curves drawn
    (plot_curve) or a list of :class:`TrainTime` (cal_train_time)."""
    args = parse_args(argv)
    logs = load_json_logs(args.json_logs)
    if args.task == 'plot_curve':
        return plot_curve(logs, args.keys, args.out, legend=args.legend,
                          title=args.title, backend=args.backend,
                          style=args.style, x_axis=args.x_axis,
                          start_epoch=args.start_epoch,
                          eval_interval=args.eval_interval)
    results = []
    for log in logs:
        result = cal_train_time(log, args.include_outliers)
        print(format_train_time(log.path, result))
        results.append(result)
    return results


if __name__ == '__main__':
    try:
        main()
    except (KeyError, ValueError, FileNotFoundError) as err:
        sys.exit(f'analyze_logs: {err.args[0] if err.args else err}')
