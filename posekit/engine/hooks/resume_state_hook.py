"""Random-number state in checkpoints, for exact resume.

mmengine's checkpoints hold the weights, optimizer, schedulers, message hub
and (with ``EMAHook``) the EMA weights, and its resume puts the loop back at
the saved epoch/iteration, but not the random-number generators: a resumed
run draws different augmentations (and dropout masks) from the
uninterrupted one. :class:`ResumeStateHook` (registered by ``PoseRunner``)
adds ``checkpoint['resume_state']`` holding the python, numpy, torch (and
CUDA) generator states at the moment of saving; on resume it hands them to
the training loop, which puts them back right before the next batch is
drawn (see :mod:`posekit.engine.runner.resumable_loop`).

It also keeps validation from moving the training's random stream (the
states are saved before validation and put back after), so the state saved
at the end of an epoch is the one the next epoch starts from, whether or
not that run validated.

Everything saved is a tensor, int, float or tuple, so the checkpoint still
loads with ``weights_only=True``.
"""
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from posekit.registry import HOOKS

STATE_KEY = 'resume_state'


def capture_rng_state() -> Dict[str, Any]:
    """The python, numpy, torch (and CUDA, when initialised) generator
    states, in a form ``torch.load(weights_only=True)`` accepts."""
    kind, key, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(kind=str(kind), key=torch.from_numpy(key.astype(np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss),
                   cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Put back the generator states saved by :func:`capture_rng_state`.

    Raises:
        KeyError: ``state`` lacks the python, numpy or torch entry.
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = state['numpy']
    np.random.set_state((np_state['kind'],
                         np_state['key'].numpy().astype(np.uint32),
                         np_state['pos'], np_state['has_gauss'],
                         np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and \
            len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Saves the generator states in every checkpoint and, on resume,
    leaves them in ``runner.pending_rng_state`` for the training loop.

    Validation during training is made neutral to the random stream.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._before_val: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[STATE_KEY] = dict(rng=capture_rng_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(STATE_KEY)
        if getattr(runner, '_resume', False) and state is not None:
            runner.pending_rng_state = state['rng']

    def before_val(self, runner) -> None:
        self._before_val = capture_rng_state() \
            if _training(runner) else None

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_rng_state(self._before_val)
            self._before_val = None


def _training(runner) -> bool:
    """Whether ``runner`` is inside ``train()`` (validation during
    training), not a stand-alone ``val()``."""
    loop = getattr(runner, '_train_loop', None)
    return loop is not None and not isinstance(loop, dict) and \
        loop.iter < loop.max_iters
