"""Model size and cost: parameters per part and FLOPs of the inference
forward (``mode='tensor'``: backbone -> neck -> head), counted by
mmengine's tracing FLOP analyzer (a fused multiply-add counts as one, as
in MMPose's and most papers' tables)."""
from typing import Dict, Tuple

import torch
from torch import nn

# the parts of a pose estimator, in the order they run
PARTS = ('data_preprocessor', 'backbone', 'neck', 'head', 'auxiliary_head')


def count_parameters(model: nn.Module) -> Dict[str, int]:
    """Parameter count of each direct child of ``model`` that has
    parameters (``backbone``, ``neck``, ``head``, ...; known parts first)
    and the ``'total'``."""
    counts = {}
    children = dict(model.named_children())
    names = [n for n in PARTS if n in children]
    names += [n for n in children if n not in PARTS]
    for name in names:
        n = sum(p.numel() for p in children[name].parameters())
        if n:
            counts[name] = n
    counts['total'] = sum(p.numel() for p in model.parameters())
    return counts


def count_flops(model: nn.Module, input_shape: Tuple[int, int, int],
                batch_size: int = 1) -> Dict[str, int]:
    """FLOPs of ``model(inputs)`` for a random ``(batch_size, *input_shape)``
    batch (``input_shape`` is ``(C, H, W)``): ``'total'`` and one entry per
    direct child that does any arithmetic. ``model`` runs as it is (put it
    in eval mode first); gradients are off.

    Raises:
        ValueError: ``input_shape`` is not three positive ints.
    """
    # imported here: tracing tools are only needed by the analysis tools
    from mmengine.analysis import FlopAnalyzer
    if len(input_shape) != 3 or not all(isinstance(s, int) and s > 0
                                        for s in input_shape):
        raise ValueError(f'input_shape must be (C, H, W), got {input_shape}')
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    inputs = torch.rand(batch_size, *input_shape, device=device)
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        by_module = analyzer.by_module()
    out = {'total': int(analyzer.total())}
    for name, _ in model.named_children():
        if by_module.get(name):
            out[name] = int(by_module[name])
    return out
