"""Readable reports of what a checkpoint load matched: tensors loaded,
missing, unexpected and of another shape (used by PoseRunner for
``load_from``, resume and ``Pretrained`` inits)."""
import re
from collections import OrderedDict
from typing import Any, Iterator, List, Mapping, Optional, Tuple

import torch.nn as nn

# keys listed per category in a load report before "... and N more"
_MAX_LISTED = 30


def _listing(title: str, keys: List[str]) -> List[str]:
    if not keys:
        return []
    lines = [f'  {title} ({len(keys)}):']
    lines += [f'    {k}' for k in keys[:_MAX_LISTED]]
    if len(keys) > _MAX_LISTED:
        lines.append(f'    ... and {len(keys) - _MAX_LISTED} more')
    return lines


def _prefixes(keys) -> str:
    return ', '.join(sorted({k.split('.')[0] + '.' for k in keys})[:8])


def load_report(source: str, expected: Mapping[str, Any],
                loaded: Mapping[str, Any],
                missing: Optional[List[str]] = None,
                unexpected: Optional[List[str]] = None) -> Tuple[str, bool]:
    """A readable account of loading ``loaded`` into a module whose state
    dict is ``expected`` (both name -> tensor): the count of tensors
    loaded, then one key per line for each of missing (kept as
    initialised), unexpected (ignored) and shape-mismatched (skipped).
    ``missing``/``unexpected`` override the plain key comparison (torch's
    own result, which knows about key upgrades). Returns the text and
    whether everything matched."""
    shape = [k for k in loaded if k in expected and
             tuple(loaded[k].shape) != tuple(expected[k].shape)]
    if missing is None:
        missing = [k for k in expected if k not in loaded]
    if unexpected is None:
        unexpected = [k for k in loaded if k not in expected]
    skipped = set(shape)  # torch reports them as missing too
    missing = [k for k in missing if k not in skipped]
    # BatchNorm fills in an absent num_batches_tracked without reporting
    # it missing; it was not loaded all the same
    filled = {k for k in expected if k.endswith('num_batches_tracked')
              and k not in loaded} - set(missing)
    n_loaded = len(expected) - len(missing) - len(shape) - len(filled)
    # BN batch counters are not weights: never worth a warning
    missing = sorted(k for k in missing
                     if not k.endswith('num_batches_tracked'))
    unexpected = sorted(unexpected)
    text = f'{source}: {n_loaded} of {len(expected)} tensors loaded'
    if not (missing or unexpected or shape):
        return text + ', all keys matched', True
    lines = [text]
    lines += _listing('missing from the checkpoint, left as initialised',
                      missing)
    lines += _listing('unexpected in the checkpoint, ignored', unexpected)
    lines += _listing('shape mismatch, not loaded', [
        f'{k}: checkpoint {tuple(loaded[k].shape)}, model '
        f'{tuple(expected[k].shape)}' for k in sorted(shape)])
    if n_loaded == 0 and loaded:
        lines.append(f'  no key matched: the checkpoint keys start with '
                     f'{_prefixes(loaded)}, the model keys with '
                     f'{_prefixes(expected)}; to load one part of a '
                     "checkpoint use init_cfg=dict(type='Pretrained', "
                     "checkpoint=..., prefix='backbone.') on that part")
    return '\n'.join(lines), False


def pretrained_inits(model: nn.Module) -> Iterator[Tuple[str, nn.Module,
                                                          dict]]:
    """(module path, module, cfg) of every ``Pretrained`` init_cfg."""
    for name, module in model.named_modules():
        cfgs = getattr(module, 'init_cfg', None)
        for cfg in cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]:
            if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained' \
                    and cfg.get('checkpoint'):
                yield name, module, cfg


def apply_revise_keys(state_dict: Mapping, revise_keys) -> 'OrderedDict':
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, repl in revise_keys:
        state_dict = OrderedDict(
            (re.sub(pattern, repl, k), v) for k, v in state_dict.items())
    state_dict = OrderedDict(state_dict)
    state_dict._metadata = metadata
    return state_dict
