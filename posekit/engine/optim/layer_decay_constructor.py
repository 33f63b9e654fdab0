"""Layer-wise learning-rate decay (LLRD) for deep backbones.

Every parameter gets a layer id: 0 for the backbone's stem or embeddings,
``1..num_layers`` for its stages or blocks, and ``num_layers + 1`` for
everything after the backbone (neck, heads). Its learning rate is the
base rate times ``layer_decay_rate ** (num_layers + 1 - layer_id)``, so the
head trains at the full rate and each layer below it at a fraction of the
one above. 1-D parameters (norm weights, biases) and position embeddings
get no weight decay.

Layer ids come from the backbone's top-level children, in order:

- ``layer<i>`` / ``stage<i>`` (ResNet, HRNet, SCTNet) -> ``i``;
  HRNet's ``transition<i>`` feeds ``stage<i+1>`` -> ``i + 1``;
- ``layers.<j>`` / ``blocks.<j>`` (ViT-like block lists) -> ``j + 1``;
- ``cls_token``, ``pos_embed``, ``patch_embed``, ... -> 0;
- any other child takes 0 before the first stage, the id of the stage
  before it between stages, and ``num_layers + 1`` after the last stage.

A backbone of your own can instead define ``get_layer_id(name)`` returning
the id of a parameter named relative to the backbone.
"""
import re
from collections import Counter
from typing import Dict, List, Optional

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from posekit.registry import OPTIM_WRAPPER_CONSTRUCTORS

_STAGE = re.compile(r'(?:layer|stage)(\d+)')
_TRANSITION = re.compile(r'transition(\d+)')
_BLOCK_LISTS = ('layers', 'blocks')
_EMBEDDINGS = ('cls_token', 'mask_token', 'dist_token', 'pos_embed',
               'absolute_pos_embed', 'patch_embed')
_KEY = 'optim_wrapper.paramwise_cfg'


def _explicit_id(child: str) -> Optional[int]:
    """The id a child's name alone gives (None: decided by position)."""
    match = _STAGE.fullmatch(child)
    if match:
        return int(match.group(1))
    match = _TRANSITION.fullmatch(child)
    if match:
        return int(match.group(1)) + 1
    if child in _EMBEDDINGS:
        return 0
    return None


def backbone_layer_ids(backbone: nn.Module) -> Dict[str, int]:
    """Layer id of every parameter of ``backbone`` (names relative to it);
    ``-1`` marks parameters after the last stage (they get the top id).

    Raises:
        ValueError: no stage or block list was found and the backbone has
            no ``get_layer_id`` method.
    """
    names = [name for name, _ in backbone.named_parameters()]
    custom = getattr(backbone, 'get_layer_id', None)
    if callable(custom):
        return {name: int(custom(name)) for name in names}
    children = [name for name, _ in backbone.named_children()]
    block_lists = [c for c in children if c in _BLOCK_LISTS]
    stage_pos = [i for i, c in enumerate(children)
                 if c in block_lists or (_explicit_id(c) or 0) > 0]
    if not stage_pos:
        raise ValueError(
            f'LayerDecayOptimWrapperConstructor found no stages in '
            f'{type(backbone).__name__} (children {children}); it knows '
            f'layer<i>/stage<i>/transition<i> and layers.<j>/blocks.<j>. '
            f'Give the backbone a get_layer_id(name) method')
    child_id: Dict[str, int] = {}
    current = 0
    for i, child in enumerate(children):
        explicit = _explicit_id(child)
        if child in block_lists:
            current = len(getattr(backbone, child))
            continue
        if explicit is not None:
            child_id[child] = explicit
            current = max(current, explicit)
        else:
            child_id[child] = -1 if i > stage_pos[-1] else current
    ids = {}
    for name in names:
        first, _, rest = name.partition('.')
        if first in block_lists:
            ids[name] = int(rest.partition('.')[0]) + 1
        elif first in child_id:
            ids[name] = child_id[first]
        else:  # a parameter of the backbone itself (tokens, embeddings)
            ids[name] = 0
    return ids


def _no_decay(name: str, ndim: int) -> bool:
    return ndim == 1 or name.endswith('.bias') or 'pos_embed' in name


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Optimizer-wrapper constructor with layer-wise lr decay (MMPose name).

    ``paramwise_cfg``:
        num_layers (int, optional): the number of backbone layers (stages
            or blocks); default: the deepest one found. The head's id is
            ``num_layers + 1``.
        layer_decay_rate (float): the lr ratio between adjacent layers,
            in (0, 1].
        Any other key of mmengine's ``DefaultOptimWrapperConstructor``
        (``custom_keys`` with ``lr_mult``, ...) applies first; the layer
        scale multiplies the resulting lr.

    Raises:
        ValueError: ``layer_decay_rate`` is missing or outside (0, 1],
            ``num_layers`` is smaller than the deepest stage, or the model
            has no ``backbone``.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        cfg = dict(paramwise_cfg or {})
        rate = cfg.get('layer_decay_rate')
        if rate is None or not 0.0 < float(rate) <= 1.0:
            raise ValueError(f'{_KEY}.layer_decay_rate must be in (0, 1], '
                             f'got {rate!r}')
        num_layers = cfg.get('num_layers')
        if num_layers is not None and (not isinstance(num_layers, int)
                                       or num_layers < 1):
            raise ValueError(f'{_KEY}.num_layers must be a positive int, '
                             f'got {num_layers!r}')
        super().__init__(optim_wrapper_cfg, cfg)
        if self.base_lr is None:
            raise ValueError('LayerDecayOptimWrapperConstructor needs '
                             'optim_wrapper.optimizer.lr')
        self.layer_decay_rate = float(rate)
        self.num_layers = num_layers

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '', **kwargs) -> None:
        """mmengine's per-parameter groups, then the layer scale and the
        no-decay rule on each (only at the top-level call)."""
        super().add_params(params, module, prefix, **kwargs)
        if not prefix:
            self._apply_layer_decay(params, module)

    def layer_ids(self, model: nn.Module) -> Dict[str, int]:
        """Layer id of every parameter of ``model`` (full names)."""
        backbone = getattr(model, 'backbone', None)
        if not isinstance(backbone, nn.Module):
            raise ValueError('LayerDecayOptimWrapperConstructor needs a model '
                             f'with a backbone; {type(model).__name__} has '
                             'none')
        inner = backbone_layer_ids(backbone)
        deepest = max(inner.values())
        if self.num_layers is None:
            self.num_layers = deepest
        elif self.num_layers < deepest:
            raise ValueError(
                f'{_KEY}.num_layers={self.num_layers} but '
                f'{type(backbone).__name__} has layer ids up to {deepest}; '
                f'set num_layers={deepest} (or leave it out)')
        top = self.num_layers + 1
        ids = {}
        for name, _ in model.named_parameters():
            lid = inner.get(name[len('backbone.'):], top) \
                if name.startswith('backbone.') else top
            ids[name] = top if lid < 0 else lid
        return ids

    def _apply_layer_decay(self, params: List[dict],
                           model: nn.Module) -> None:
        ids = self.layer_ids(model)
        names = {id(p): n for n, p in model.named_parameters()}
        top = self.num_layers + 1
        counts: Counter = Counter()
        for group in params:
            param = group['params'][0]
            name = names[id(param)]
            layer_id = ids[name]
            scale = self.layer_decay_rate ** (top - layer_id)
            group['lr'] = group.get('lr', self.base_lr) * scale
            group['layer_id'] = layer_id
            group['lr_scale'] = scale
            if self.base_wd is not None and _no_decay(name, param.ndim):
                group['weight_decay'] = 0.0
            counts[layer_id] += 1
        lines = [f'  layer {lid}: {counts[lid]} tensors, lr x'
                 f'{self.layer_decay_rate ** (top - lid):.4g}'
                 for lid in sorted(counts)]
        print_log('layer-wise lr decay (rate '
                  f'{self.layer_decay_rate}, num_layers {self.num_layers}):'
                  '\n' + '\n'.join(lines), logger='current')
