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


def _launcher_env(launcher: str) -> Dict[str, str]:
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for
    ``launcher``, read from what torchrun, slurm or Open MPI set.

    Raises:
        KeyError: a variable the launcher should have set is missing.
    """
    env = os.environ
    if launcher == 'slurm':
        import subprocess
        nodes = env['SLURM_NODELIST']
        addr = env.get('MASTER_ADDR') or subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1').strip()
        return dict(RANK=env['SLURM_PROCID'], WORLD_SIZE=env['SLURM_NTASKS'],
                    LOCAL_RANK=env.get('SLURM_LOCALID', '0'),
                    MASTER_ADDR=addr,
                    MASTER_PORT=env.get('MASTER_PORT', '29500'))
    if launcher == 'mpi':
        return dict(RANK=env['OMPI_COMM_WORLD_RANK'],
                    WORLD_SIZE=env['OMPI_COMM_WORLD_SIZE'],
                    LOCAL_RANK=env['OMPI_COMM_WORLD_LOCAL_RANK'],
                    MASTER_ADDR=env.get('MASTER_ADDR', '127.0.0.1'),
                    MASTER_PORT=env.get('MASTER_PORT', '29500'))
    return {k: env[k] for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK',
                                'MASTER_ADDR', 'MASTER_PORT')}


def init_cpu_dist(launcher: str, backend: str = 'gloo',
                  timeout: Optional[float] = None) -> None:
    """Start the process group of a distributed run on CPUs.

    mmengine's own initialisation selects a CUDA device first, which fails
    on machines without GPUs; this one does not.

    Raises:
        RuntimeError: an environment variable of ``launcher`` is missing
            (the message says which launcher to use).
    """
    import datetime

    import torch.distributed as dist
    if dist.is_initialized():
        return
    try:
        values = _launcher_env(launcher)
    except KeyError as err:
        raise RuntimeError(
            f'--launcher {launcher}: the environment variable {err.args[0]}'
            ' is not set. Start the script with tools/dist_train.sh '
            '(torchrun, --launcher pytorch) or tools/slurm_train.sh (srun, '
            '--launcher slurm)') from None
    os.environ.update(values)
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=float(timeout))
    dist.init_process_group(backend=backend, init_method='env://',
                            rank=int(values['RANK']),
                            world_size=int(values['WORLD_SIZE']), **kwargs)


def sync_bn_keys(cfg: Config) -> List[str]:
    """Config keys that ask for SyncBatchNorm: ``sync_bn``,
    ``model.use_syncbn`` and every ``...norm_cfg`` of type SyncBN."""
    keys = ['sync_bn'] if cfg.get('sync_bn') else []

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            if node.get('type') in ('SyncBN', 'MMSyncBN') and \
                    path.endswith('norm_cfg'):
                keys.append(path)
            if node.get('use_syncbn') is True and path == 'model':
                keys.append('model.use_syncbn')
            for key, value in node.items():
                walk(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')

    walk(cfg.get('model'), 'model')
    return keys


def _prepare_cpu_dist(cfg: Config) -> None:
    """gloo, a process group started without CUDA, a DDP wrapper without
    device ids; SyncBN refused (torch only syncs GPU tensors)."""
    keys = sync_bn_keys(cfg)
    if keys:
        raise ValueError(
            f"{', '.join(keys)} asks for SyncBatchNorm, which torch can only "
            'synchronise across GPUs; this distributed run is on CPUs '
            '(gloo). Remove it for CPU runs (e.g. --cfg-options '
            'sync_bn=None, or norm_cfg=dict(type="BN")); each process then '
            'keeps its own BatchNorm statistics')
    env = cfg.setdefault('env_cfg', {})
    dist_cfg = env.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    init_cpu_dist(cfg.launcher, 'gloo', dist_cfg.get('timeout'))
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'DistributedDataParallel'):
        # CPU modules take no device ids (mmengine would pass LOCAL_RANK)
        wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg: Config, use_cpu_dist_backend: Optional[bool] = None):
    """Build the Runner named by ``cfg.runner_type`` (default
    :class:`PoseRunner`) with posekit's modules registered and checkpoints
    loaded through posekit's safe loader.

    A distributed launch (``cfg.launcher`` pytorch, slurm or mpi) on a
    machine without CUDA (or with ``use_cpu_dist_backend=True``) runs on
    CPUs: gloo backend, the process group started here, DDP without device
    ids.

    Raises:
        ValueError: a CPU distributed run asks for SyncBatchNorm (the
            message names the config keys).
        RuntimeError: the launcher's environment variables are missing.
    """
    import torch

    import posekit
    from posekit.engine import PoseRunner
    from posekit.registry import RUNNERS
    from posekit.utils.checkpoint import install_safe_loader
    from posekit.utils.config_checks import check_config
    posekit.register_all_modules(init_default_scope=False)
    # config-level mismatches (codec vs TopdownAffine input size, head
    # channels vs keypoints) before anything is built
    check_config(cfg)
    # before any Runner: mmengine's own Runner type loads through it too
    install_safe_loader()
    if cfg.get('default_scope') is None:
        cfg.default_scope = 'posekit'
    if use_cpu_dist_backend is None:
        use_cpu_dist_backend = not torch.cuda.is_available()
    if cfg.get('launcher', 'none') != 'none' and use_cpu_dist_backend:
        _prepare_cpu_dist(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return PoseRunner.from_cfg(cfg)
