"""Model check before training: run the backbone (and neck) of a model
config on a dummy input of the configured size, fill ``in_channels='auto'``
of the neck and heads from the shapes it sees, and stop early, naming the
config key and its right value, when a given ``in_channels`` is wrong.

The dry run builds the modules on PyTorch's ``meta`` device (shapes only:
no memory, no arithmetic, no weight initialisation) and falls back to a
batch of one random image on the CPU for a module whose operations have no
meta implementation. It never touches the global random number generator,
so a seeded training run gives the same weights with or without the check.
"""
import copy
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import ConfigDict
from torch import Tensor

from posekit.registry import MODELS, ConfigBuildError

Shape = Tuple[int, ...]
AUTO = 'auto'


class ModelCheckError(ValueError):
    """The model config does not fit together. ``key`` is the config path
    to change (``model.head.in_channels``) and ``expected`` its right value
    (None when the problem is not a single value)."""

    def __init__(self, message: str, key: str = '', expected: Any = None):
        super().__init__(message)
        self.key = key
        self.expected = expected


@dataclass
class ModelCheckResult:
    """What the dry run saw.

    ``input_size`` is ``(w, h)``; shapes are ``(B, C, H, W)`` (batch 1);
    ``neck_shapes`` is None without a neck; ``model_cfg`` is a copy of the
    config with every ``in_channels='auto'`` replaced and ``resolved``
    maps each replaced key path to its value; ``device`` is where it ran
    ('meta' or 'cpu').
    """

    input_size: Tuple[int, int]
    backbone_shapes: List[Shape]
    neck_shapes: Optional[List[Shape]]
    model_cfg: ConfigDict
    device: str
    resolved: dict = field(default_factory=dict)


class _NoMetaKernel(Exception):
    """A module failed on the meta device; retry on the CPU."""


def find_input_size(model_cfg: dict) -> Tuple[int, int]:
    """The ``(w, h)`` input size named by the model's codecs: the
    ``decoder.input_size`` of ``head``, else of the first auxiliary head
    that has one.

    Raises:
        ValueError: no head names an input size.
    """
    for _, head in _heads(model_cfg, 'model'):
        decoder = head.get('decoder') if isinstance(head, dict) else None
        if isinstance(decoder, dict) and decoder.get('input_size'):
            return _check_size(decoder['input_size'], 'decoder.input_size')
    raise ValueError(
        'cannot tell the model input size: model.head.decoder has no '
        'input_size. Pass it explicitly: model_check=dict(input_size=(w, h)) '
        'in the config, or --input-size W H to tools/analysis/check_model.py')


def _check_size(size: Any, name: str) -> Tuple[int, int]:
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and
            all(isinstance(s, int) and s > 0 for s in size)):
        raise ValueError(f'{name} must be (w, h), two positive ints, got '
                         f'{size!r}')
    return int(size[0]), int(size[1])


def _heads(model_cfg: dict, prefix: str) -> List[Tuple[str, Any]]:
    """``(key path, config)`` of the head and every auxiliary head."""
    out = []
    if model_cfg.get('head') is not None:
        out.append((f'{prefix}.head', model_cfg['head']))
    aux = model_cfg.get('auxiliary_head')
    if isinstance(aux, (list, tuple)):
        out += [(f'{prefix}.auxiliary_head[{i}]', h)
                for i, h in enumerate(aux)]
    elif aux is not None:
        out.append((f'{prefix}.auxiliary_head', aux))
    return out


def find_auto_keys(model_cfg: dict, prefix: str = 'model') -> List[str]:
    """Key paths of every ``in_channels='auto'`` in the neck and heads."""
    parts = [(f'{prefix}.neck', model_cfg.get('neck'))]
    parts += _heads(model_cfg, prefix)
    return [f'{key}.in_channels' for key, cfg in parts
            if isinstance(cfg, dict) and cfg.get('in_channels') == AUTO]


def _registered_class(cfg: dict) -> Optional[type]:
    obj_type = cfg.get('type')
    if isinstance(obj_type, type):
        return obj_type
    if isinstance(obj_type, str):
        with MODELS.switch_scope_and_registry(cfg.get('_scope_')) as reg:
            return reg.get(obj_type)
    return None


def expected_in_channels(cfg: dict, channels: Sequence[int], role: str
                         ) -> Union[int, List[int]]:
    """The ``in_channels`` that the module of ``cfg`` needs for inputs with
    ``channels`` (one entry per feature map, in order).

    A class that defines ``infer_in_channels(channels)`` (a static or
    class method) decides itself. Otherwise a given int must equal the
    last map's channels (heads read ``feats[-1]``), a given list must list
    every map's channels, and ``'auto'`` becomes the last map's channels
    for a head, the list of all for a neck.
    """
    cls = _registered_class(cfg)
    hook: Optional[Callable] = getattr(cls, 'infer_in_channels', None)
    if callable(hook):
        value = hook(list(channels))
        return list(value) if isinstance(value, (list, tuple)) else value
    given = cfg.get('in_channels')
    if isinstance(given, (list, tuple)) or (given == AUTO and role == 'neck'):
        return list(channels)
    return channels[-1]


def _verify(cfg: dict, key: str, channels: List[int], shapes: List[Shape],
            source: str, role: str, resolved: dict) -> None:
    """Fill ``cfg.in_channels`` when 'auto', else compare it."""
    if not isinstance(cfg, dict) or 'in_channels' not in cfg:
        return
    given = cfg['in_channels']
    expected = expected_in_channels(cfg, channels, role)
    if given == AUTO:
        cfg['in_channels'] = expected
        resolved[f'{key}.in_channels'] = expected
        return
    norm = list(given) if isinstance(given, (list, tuple)) else given
    if norm == expected:
        return
    if isinstance(expected, list):
        where = (f'{expected} channels (one per feature map, shapes '
                 f'{shapes})')
    else:
        where = (f'{expected} channels at the selected index (the last of '
                 f'its {len(shapes)} feature maps, shape {shapes[-1]})')
    raise ModelCheckError(
        f'{key}.in_channels is {given!r} but {source} outputs {where}; set '
        f'{key}.in_channels={expected!r} (or in_channels={AUTO!r})',
        key=f'{key}.in_channels', expected=expected)


def _feature_list(out: Any, source: str) -> List[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)) and out and \
            all(isinstance(t, Tensor) and t.dim() >= 2 for t in out):
        return list(out)
    raise ModelCheckError(
        f'{source} must return a tensor or a tuple of (B, C, ...) tensors '
        f'for the model check to read its channels, got {_describe(out)}. '
        'Return a flat tuple of feature maps, or set model_check=False in '
        'the config to skip the check', key=source)


def _describe(out: Any) -> str:
    if isinstance(out, Tensor):
        return f'Tensor{tuple(out.shape)}'
    if isinstance(out, (list, tuple)):
        inner = ', '.join(_describe(o) for o in out)
        return f'{type(out).__name__}[{inner}]'
    return type(out).__name__


def _build(cfg: dict, key: str, device: str) -> torch.nn.Module:
    """Build ``cfg`` alone, reporting config errors at ``key``."""
    try:
        return MODELS.build(cfg)
    except ConfigBuildError as err:
        # the registry prefixes the root 'model'; we built a sub-config
        path = key.split('.') + err.path[1:]
        raise ConfigBuildError(err.problem, path, err.hint) from None
    except Exception as err:
        if device == 'meta':  # e.g. an __init__ that reads tensor values
            raise _NoMetaKernel() from err
        raise


def _run(module: torch.nn.Module, inputs: Any, key: str, device: str,
         what: str) -> Any:
    try:
        with torch.no_grad():
            return module(inputs)
    except Exception as err:  # any failure: meta gets a CPU retry
        if device == 'meta':
            raise _NoMetaKernel() from err
        raise ModelCheckError(
            f'{key} ({type(module).__name__}) failed on {what}: '
            f'{type(err).__name__}: {err}', key=key) from err


def _dry_run(cfg: ConfigDict, size: Tuple[int, int], prefix: str,
             device: str) -> ModelCheckResult:
    w, h = size
    backbone_cfg = cfg['backbone']
    in_ch = backbone_cfg.get('in_channels', 3)
    in_ch = in_ch if isinstance(in_ch, int) else 3
    resolved: dict = {}
    with torch.device(device):
        backbone = _build(backbone_cfg, f'{prefix}.backbone', device).eval()
        if device == 'meta':
            image = torch.empty(1, in_ch, h, w)
        else:
            gen = torch.Generator().manual_seed(0)
            image = torch.rand(1, in_ch, h, w, generator=gen)
        what = f'a dummy (1, {in_ch}, {h}, {w}) input (input_size={size})'
        source = f'{prefix}.backbone'
        feats = _feature_list(
            _run(backbone, image, source, device, what), source)
        backbone_shapes = [tuple(f.shape) for f in feats]
        neck_shapes = None
        neck_cfg = cfg.get('neck')
        if neck_cfg is not None:
            _verify(neck_cfg, f'{prefix}.neck', [s[1] for s in
                                                 backbone_shapes],
                    backbone_shapes, source, 'neck', resolved)
            neck = _build(neck_cfg, f'{prefix}.neck', device).eval()
            source = f'{prefix}.neck'
            feats = _feature_list(_run(
                neck, tuple(feats), source, device,
                f'the backbone outputs {backbone_shapes}'), source)
            neck_shapes = [tuple(f.shape) for f in feats]
    shapes = neck_shapes or backbone_shapes
    for key, head_cfg in _heads(cfg, prefix):
        _verify(head_cfg, key, [s[1] for s in shapes], shapes, source,
                'head', resolved)
    return ModelCheckResult(size, backbone_shapes, neck_shapes, cfg, device,
                            resolved)


def check_model(model_cfg: dict,
                input_size: Optional[Tuple[int, int]] = None,
                prefix: str = 'model') -> ModelCheckResult:
    """Dry-run the backbone (and neck) of ``model_cfg`` on one dummy image
    of ``input_size`` ``(w, h)`` (default: the head decoder's input size),
    check or fill the ``in_channels`` of the neck, head and auxiliary
    heads, and report the feature shapes. ``model_cfg`` is not modified.

    Raises:
        ModelCheckError: an ``in_channels`` does not match what its input
            has (the message names the key and the right value), a module
            fails on the dummy input, or a backbone/neck returns something
            other than tensors.
        ConfigBuildError: the backbone or neck config cannot be built.
        KeyError: ``model_cfg`` has no ``backbone``.
        ValueError: no input size given or found.
    """
    if not isinstance(model_cfg, dict) or 'backbone' not in model_cfg:
        raise KeyError(f'{prefix}.backbone is missing: the model check '
                       'needs a model config with a backbone')
    size = (_check_size(tuple(input_size), 'input_size')
            if input_size is not None else find_input_size(model_cfg))
    # building on the CPU draws initial weights from the global RNG:
    # restore its state so that the check leaves seeded runs unchanged
    with torch.random.fork_rng(devices=[]):
        try:
            return _dry_run(ConfigDict(copy.deepcopy(model_cfg)), size,
                            prefix, 'meta')
        except _NoMetaKernel:
            return _dry_run(ConfigDict(copy.deepcopy(model_cfg)), size,
                            prefix, 'cpu')


def resolve_auto_in_channels(model_cfg: dict,
                             input_size: Optional[Tuple[int, int]] = None,
                             prefix: str = 'model') -> ConfigDict:
    """A copy of ``model_cfg`` with every ``in_channels='auto'`` of the
    neck and heads filled from a dry run (see :func:`check_model`, whose
    errors it raises)."""
    return check_model(model_cfg, input_size, prefix).model_cfg
