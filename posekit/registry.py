"""posekit's registries: children of mmengine's roots in scope 'posekit'.

Every registry builds through :func:`build_from_cfg`, which reports a bad
config with the registry's name, the path of the offending key inside the
config being built (``model.backbone.type``) and the closest registered
names, instead of mmengine's bare ``KeyError``.
"""
import contextvars
import difflib
from typing import Any, List, Optional

from mmengine.config import Config, ConfigDict
from mmengine.registry import DATA_SAMPLERS as MME_DATA_SAMPLERS
from mmengine.registry import DATASETS as MME_DATASETS
from mmengine.registry import EVALUATOR as MME_EVALUATOR
from mmengine.registry import HOOKS as MME_HOOKS
from mmengine.registry import INFERENCERS as MME_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MME_LOG_PROCESSORS
from mmengine.registry import LOOPS as MME_LOOPS
from mmengine.registry import METRICS as MME_METRICS
from mmengine.registry import MODEL_WRAPPERS as MME_MODEL_WRAPPERS
from mmengine.registry import MODELS as MME_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MME_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MME_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MME_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MME_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MME_RUNNERS
from mmengine.registry import TASK_UTILS as MME_TASK_UTILS
from mmengine.registry import TRANSFORMS as MME_TRANSFORMS
from mmengine.registry import VISBACKENDS as MME_VISBACKENDS
from mmengine.registry import VISUALIZERS as MME_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MME_WEIGHT_INITIALIZERS
from mmengine.registry import Registry
from mmengine.registry import build_from_cfg as _mme_build_from_cfg


class ConfigBuildError(KeyError):
    """A config could not be built; ``str()`` is a full sentence.

    Subclasses ``KeyError`` so code that caught mmengine's error still works.
    ``path`` is the key path of the culprit inside ``cfg`` (the outermost
    config located so far); ``hint`` says what would be valid.
    """

    def __init__(self, problem: str, path: Optional[List[str]] = None,
                 hint: str = '', cfg: Any = None):
        super().__init__(problem)
        self.problem = problem
        self.path = list(path or [])
        self.hint = hint
        self.cfg = cfg

    @property
    def key_path(self) -> str:
        return _join_path(self.path)

    def __str__(self) -> str:
        where = self.key_path
        msg = f'{where}: {self.problem}' if where else self.problem
        return f'{msg}. {self.hint}' if self.hint else msg


def _join_path(parts: List[str]) -> str:
    out = ''
    for p in parts:
        out += p if p.startswith('[') or not out else '.' + p
    return out


# The stack of configs being built in this thread, outermost first, so a
# failure deep inside can be located inside the outermost config.
_BUILD_STACK: contextvars.ContextVar = contextvars.ContextVar(
    'posekit_build_stack', default=())

# What the outermost config of each registry is called in a config file.
_ROOT_KEYS = {'model': 'model', 'dataset': 'dataset',
              'transform': 'pipeline', 'KEYPOINT_CODECS': 'codec',
              'metric': 'metric', 'hook': 'hook', 'visualizer': 'visualizer'}


def _find_path(tree: Any, target: Any) -> Optional[List[str]]:
    """Key path from ``tree`` to the object ``target`` (identity first)."""
    for match in (lambda a, b: a is b, lambda a, b: a == b):
        found = _search(tree, target, match)
        if found is not None:
            return found
    return None


def _search(tree, target, match) -> Optional[List[str]]:
    if isinstance(tree, dict):
        items = [(str(k), v) for k, v in tree.items()]
    elif isinstance(tree, (list, tuple)):
        items = [(f'[{i}]', v) for i, v in enumerate(tree)]
    else:
        return None
    for key, value in items:
        if isinstance(value, (dict, list, tuple)):
            if match(value, target):
                return [key]
            sub = _search(value, target, match)
            if sub is not None:
                return [key] + sub
    return None


def registered_names(registry: Registry) -> List[str]:
    """All type names ``registry`` can resolve: its own, its root's, and
    those of the root's other children (which need a scope prefix)."""
    names = set(registry.module_dict)
    root = registry
    while root.parent is not None:
        root = root.parent
    names.update(root.module_dict)
    return sorted(names)


def _unknown_type(registry: Registry, obj_type: str) -> ConfigBuildError:
    names = registered_names(registry)
    close = difflib.get_close_matches(obj_type, names, n=3, cutoff=0.5)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [lowered[n] for n in difflib.get_close_matches(
            obj_type.lower(), list(lowered), n=3, cutoff=0.5)]
    hint = (f"Did you mean {', '.join(repr(c) for c in close)}?"
            if close else f'Registered names include: '
            f"{', '.join(names[:12])}{' ...' if len(names) > 12 else ''}.")
    hint += (' A class of your own must be imported before the build, '
             "e.g. with custom_imports=dict(imports=['my_module']) in the "
             'config.')
    return ConfigBuildError(
        f'unknown type {obj_type!r}: it is not in the '
        f'{registry.scope}::{registry.name} registry', ['type'], hint)


def _check_type(cfg: Any, registry: Registry,
                default_args: Optional[dict]) -> None:
    obj_type = cfg.get('type', None if default_args is None
                       else default_args.get('type'))
    if obj_type is None:
        raise ConfigBuildError(
            "missing key 'type'", [],
            f'Add type=... naming a class registered in '
            f'{registry.scope}::{registry.name}', cfg)
    if isinstance(obj_type, str):
        with registry.switch_scope_and_registry(
                cfg.get('_scope_')) as scoped:
            if scoped.get(obj_type) is None:
                err = _unknown_type(scoped, obj_type)
                err.cfg = cfg
                raise err


def _locate(err: ConfigBuildError, cfg: Any, registry: Registry,
            outermost: bool) -> ConfigBuildError:
    """Re-express ``err``'s path relative to ``cfg`` (a config that
    contains, at some depth, the config where the error arose)."""
    path = list(err.path)
    if err.cfg is not None and err.cfg is not cfg:
        sub = _find_path(cfg, err.cfg)
        if sub is not None:
            path = sub + path
    if outermost:
        path = [_ROOT_KEYS.get(registry.name, registry.name)] + path
    return ConfigBuildError(err.problem, path, err.hint, cfg)


def build_from_cfg(cfg: Any, registry: Registry,
                   default_args: Optional[dict] = None) -> Any:
    """Build an object from a config dict, with errors that name the key.

    Raises:
        ConfigBuildError: ``type`` is missing or not registered, at any
            depth of nested builds; the message holds the key path from
            the outermost posekit build (``model.backbone.type``), the
            registry and the closest registered names.
    """
    if not isinstance(cfg, (dict, ConfigDict, Config)):
        raise TypeError(f'{registry.scope}::{registry.name} builds from a '
                        f'dict with a "type" key, got {type(cfg).__name__}')
    stack = _BUILD_STACK.get()
    token = _BUILD_STACK.set(stack + (cfg, ))
    try:
        _check_type(cfg, registry, default_args)
        return _mme_build_from_cfg(cfg, registry, default_args)
    except ConfigBuildError as err:
        raise _locate(err, cfg, registry, outermost=not stack) from None
    finally:
        _BUILD_STACK.reset(token)


_ARGS = dict(scope='posekit', build_func=build_from_cfg)

# manage all kinds of runners like `EpochBasedRunner` and `IterBasedRunner`
RUNNERS = Registry('runner', parent=MME_RUNNERS,
                   locations=['posekit.engine'], **_ARGS)
LOOPS = Registry('loop', parent=MME_LOOPS,
                 locations=['posekit.engine'], **_ARGS)
HOOKS = Registry('hook', parent=MME_HOOKS,
                 locations=['posekit.engine.hooks'], **_ARGS)
LOG_PROCESSORS = Registry('log_processor', parent=MME_LOG_PROCESSORS,
                          locations=['posekit.engine'], **_ARGS)
OPTIMIZERS = Registry('optimizer', parent=MME_OPTIMIZERS,
                      locations=['posekit.engine'], **_ARGS)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MME_OPTIM_WRAPPERS,
                          locations=['posekit.engine'], **_ARGS)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MME_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['posekit.engine'], **_ARGS)
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            parent=MME_PARAM_SCHEDULERS,
                            locations=['posekit.engine'], **_ARGS)
DATASETS = Registry('dataset', parent=MME_DATASETS,
                    locations=['posekit.datasets'], **_ARGS)
DATA_SAMPLERS = Registry('data sampler', parent=MME_DATA_SAMPLERS,
                         locations=['posekit.datasets'], **_ARGS)
TRANSFORMS = Registry('transform', parent=MME_TRANSFORMS,
                      locations=['posekit.datasets.transforms'], **_ARGS)
MODELS = Registry('model', parent=MME_MODELS,
                  locations=['posekit.models'], **_ARGS)
MODEL_WRAPPERS = Registry('model_wrapper', parent=MME_MODEL_WRAPPERS,
                          locations=['posekit.models'], **_ARGS)
WEIGHT_INITIALIZERS = Registry('weight initializer',
                               parent=MME_WEIGHT_INITIALIZERS,
                               locations=['posekit.models'], **_ARGS)
TASK_UTILS = Registry('task util', parent=MME_TASK_UTILS,
                      locations=['posekit.models'], **_ARGS)
METRICS = Registry('metric', parent=MME_METRICS,
                   locations=['posekit.evaluation.metrics'], **_ARGS)
EVALUATORS = Registry('evaluator', parent=MME_EVALUATOR,
                      locations=['posekit.evaluation'], **_ARGS)
VISUALIZERS = Registry('visualizer', parent=MME_VISUALIZERS,
                       locations=['posekit.visualization'], **_ARGS)
VISBACKENDS = Registry('vis_backend', parent=MME_VISBACKENDS,
                       locations=['posekit.visualization'], **_ARGS)
INFERENCERS = Registry('inferencer', parent=MME_INFERENCERS,
                       locations=['posekit.apis'], **_ARGS)
# Codecs have no mmengine root: they are posekit's own.
KEYPOINT_CODECS = Registry('KEYPOINT_CODECS', locations=['posekit.codecs'],
                           **_ARGS)
