"""Config loading and Runner construction shared by tools/train.py and
tools/test.py (and usable from Python)."""
import os
from typing import Dict, List, Optional, Union

from mmengine.config import Config, DictAction


def parse_cfg_options(options: Union[List[str], Dict, None]) -> Dict:
    """Turn ``['a.b=1', 'c=[1,2]']`` into ``{'a.b': 1, 'c': [1, 2]}``
    (mmengine's ``--cfg-options`` syntax; list items as ``key.0=value``)."""
    if not options:
        return {}
    if isinstance(options, dict):
        return options
    parsed: Dict = {}
    for item in options:
        if '=' not in item:
            raise ValueError(f'--cfg-options expects KEY=VALUE, got {item!r}')
        key, value = item.split('=', maxsplit=1)
        parsed[key] = DictAction._parse_iterable(value)
    return parsed


def load_config(path: str,
                cfg_options: Union[List[str], Dict, None] = None) -> Config:
    """Read a config file and apply overrides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    options = parse_cfg_options(cfg_options)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def add_common_args(parser) -> None:
    """The arguments tools/train.py and tools/test.py share."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints'
                        ' (default: work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='override config keys, e.g. train_cfg.max_epochs=5 '
        'model.backbone.depth=18 (list items by index: a.0.b=1)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher for distributed runs')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def setup_cfg(args) -> Config:
    """Load ``args.config`` with ``args.cfg_options`` and apply the common
    arguments: launcher, work dir (default ``work_dirs/<config name>``),
    and ``LOCAL_RANK`` for launchers that pass ``--local-rank``."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = os.path.splitext(os.path.basename(args.config))[0]
        cfg.work_dir = os.path.join('work_dirs', name)
    return cfg


def build_runner(cfg: Config, use_cpu_dist_backend: Optional[bool] = None):
    """Build the Runner named by ``cfg.runner_type`` (default
    :class:`PoseRunner`) with posekit's modules registered.

    A distributed launch on a machine without CUDA uses the gloo backend
    (nccl needs GPUs) unless ``env_cfg.dist_cfg.backend`` says otherwise
    explicitly and ``use_cpu_dist_backend`` is False.
    """
    import torch

    import posekit
    from posekit.engine import PoseRunner
    from posekit.registry import RUNNERS
    posekit.register_all_modules(init_default_scope=False)
    if cfg.get('default_scope') is None:
        cfg.default_scope = 'posekit'
    if use_cpu_dist_backend is None:
        use_cpu_dist_backend = not torch.cuda.is_available()
    if cfg.get('launcher', 'none') != 'none' and use_cpu_dist_backend:
        env = cfg.setdefault('env_cfg', {})
        env.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return PoseRunner.from_cfg(cfg)
