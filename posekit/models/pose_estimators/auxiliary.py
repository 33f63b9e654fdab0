"""Training-only auxiliary heads shared by estimators: building them and
summing their prefixed losses."""
import inspect
from collections import OrderedDict
from typing import Any, Mapping, Optional

from torch import nn

from posekit.registry import MODELS
from posekit.utils.typing import MultiConfig, SampleList

AUX_PREFIX = 'auxiliary_head.'


def loss_takes_inputs(head: nn.Module) -> bool:
    """Whether ``head.loss`` accepts an ``inputs=`` keyword."""
    params = inspect.signature(head.loss).parameters.values()
    return any(p.name == 'inputs' or p.kind is p.VAR_KEYWORD
               for p in params)


def build_auxiliary_heads(cfg: Optional[MultiConfig]
                          ) -> Optional[nn.Module]:
    """One head (a config), an ``nn.ModuleList`` (a list of configs) or
    None."""
    if cfg is None:
        return None
    if isinstance(cfg, (list, tuple)):
        return nn.ModuleList([MODELS.build(c) for c in cfg])
    return MODELS.build(cfg)


def auxiliary_losses(heads: nn.Module, feats: Any, inputs: Any,
                     data_samples: SampleList, train_cfg: dict) -> dict:
    """Losses of the auxiliary head(s), keys prefixed ``aux_`` (one head)
    or ``aux{i}_`` (a ModuleList). A head whose ``loss`` takes ``inputs``
    also gets the preprocessed input batch."""
    if isinstance(heads, nn.ModuleList):
        named = [(f'aux{i}_', h) for i, h in enumerate(heads)]
    else:
        named = [('aux_', heads)]
    losses = dict()
    for prefix, head in named:
        extra = dict(inputs=inputs) if loss_takes_inputs(head) else {}
        aux = head.loss(feats, data_samples, train_cfg=train_cfg, **extra)
        losses.update({prefix + k: v for k, v in aux.items()})
    return losses


def ignore_auxiliary_weights(state_dict: dict, prefix: str, *args,
                             **kwargs) -> None:
    """Load-state-dict pre-hook: drop ``auxiliary_head.*`` entries when the
    model was built without its auxiliary heads."""
    for key in [k for k in state_dict if k.startswith(prefix + AUX_PREFIX)]:
        del state_dict[key]


def drop_auxiliary_weights(state_dict: Mapping) -> 'OrderedDict':
    """A copy of an estimator's ``state_dict`` without the training-only
    ``auxiliary_head.*`` entries (also under a ``module.`` prefix), for
    publishing an inference model."""
    return OrderedDict(
        (k, v) for k, v in state_dict.items()
        if not (k.startswith(AUX_PREFIX)
                or k.startswith('module.' + AUX_PREFIX)))
