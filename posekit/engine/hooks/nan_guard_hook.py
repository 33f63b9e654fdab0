"""NaNGuardHook: stop training when a loss becomes NaN or inf, before the
bad update reaches the weights, after saving the last good state.

The check sits between the loss computation and the optimizer: the hook
wraps the model's ``parse_losses`` (which mmengine's ``train_step`` calls
right before ``optim_wrapper.update_params``), so when a loss term is not
finite nothing has been back-propagated or stepped yet. The weights,
optimizer and schedulers then hold the state after the previous iteration;
the hook saves them as ``nan_guard_iter_<n>.pth`` in the work dir (and
points ``last_checkpoint`` at it, so ``--resume`` continues from there) and
raises :class:`NonFiniteLossError` naming the loss terms and the iteration.

PoseRunner adds this hook by default; ``nan_guard=dict(enable=False)`` in
the config turns it off, ``nan_guard=dict(save_checkpoint=False)`` keeps
the check without the checkpoint.
"""
import os.path as osp
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from posekit.registry import HOOKS

_HINT = ('Usual causes: a learning rate too high for this batch size (lower '
         'optim_wrapper.optimizer.lr, add a warmup or clip_grad), float16 '
         "overflow under AMP (try optim_wrapper.dtype='bfloat16'), or a bad "
         'sample in this batch. To turn this check off: '
         'nan_guard=dict(enable=False) in the config.')


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf during training.

    Attributes:
        loss_names: the offending entries of the loss dict.
        iteration: 1-based number of the iteration whose loss was bad.
        checkpoint: path of the saved last good state, or None.
    """

    def __init__(self, message: str, loss_names: List[str], iteration: int,
                 checkpoint: Optional[str]):
        super().__init__(message)
        self.loss_names = loss_names
        self.iteration = iteration
        self.checkpoint = checkpoint


def non_finite_losses(log_vars: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the loss entries (keys containing ``'loss'``) of
    ``log_vars`` that are NaN or inf; the total ``'loss'`` is named only
    when no single term is. One device sync for the whole dict."""
    names = [k for k, v in log_vars.items()
             if 'loss' in k and isinstance(v, torch.Tensor)]
    if not names:
        return []
    values = torch.stack([log_vars[k].detach().float().reshape(())
                          for k in names])
    bad = ~torch.isfinite(values)
    if get_world_size() > 1:  # every process must stop together
        flag = bad.any().float().reshape(1)
        torch_dist.all_reduce(flag)
        if flag.item() == 0:
            return []
    elif not bool(bad.any()):
        return []
    found = [n for n, b in zip(names, bad.tolist()) if b]
    terms = [n for n in found if n != 'loss']
    return terms or found or ['loss (on another process)']


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Stop training with a clear message when a loss is NaN or inf.

    Args:
        save_checkpoint: save the last good state before stopping.

    Raises (during training):
        NonFiniteLossError: a loss term is not finite; the message names
            the terms, their values, the iteration and the saved file.
    """

    priority = 'VERY_HIGH'

    def __init__(self, save_checkpoint: bool = True):
        self.save_checkpoint = save_checkpoint
        self._armed = False
        self._checked = False
        self._model = None
        self._had_own_parse = False

    # installation -------------------------------------------------------
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        original = model.parse_losses
        self._had_own_parse = 'parse_losses' in vars(model)
        self._original = original
        self._model = model

        def guarded_parse_losses(losses):
            loss, log_vars = original(losses)
            if self._armed:
                self._checked = True
                bad = non_finite_losses(log_vars)
                if bad:
                    self._stop(runner, bad, log_vars, applied=False)
            return loss, log_vars

        model.parse_losses = guarded_parse_losses

    def after_train(self, runner) -> None:
        self._uninstall()

    def _uninstall(self) -> None:
        if self._model is None:
            return
        if self._had_own_parse:
            self._model.parse_losses = self._original
        else:
            vars(self._model).pop('parse_losses', None)
        self._model = None

    # per iteration --------------------------------------------------------
    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._armed = True
        self._checked = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        self._armed = False
        if self._checked or not isinstance(outputs, dict):
            return
        # the model's train_step does not call parse_losses: check what it
        # returned (the update has been applied by now)
        bad = non_finite_losses(outputs)
        if bad:
            self._stop(runner, bad, outputs, applied=True)

    # stopping ---------------------------------------------------------------
    def _stop(self, runner, bad: List[str], log_vars: dict,
              applied: bool) -> None:
        self._armed = False
        iteration = runner.iter + 1
        values = ', '.join(
            f'{n}={float(torch.as_tensor(log_vars[n]).detach()):g}'
            for n in bad if n in log_vars)
        head = (f'NaN guard: {", ".join(bad)} became non-finite '
                f'({values}) at iteration {iteration} (epoch '
                f'{runner.epoch + 1}).')
        path = None
        if applied:
            body = (' The update of this iteration was already applied (the '
                    "model's train_step does not call parse_losses), so no "
                    'checkpoint was saved.')
        else:
            body = ' Training stopped before this update was applied.'
            if self.save_checkpoint:
                path = self._save(runner, iteration - 1)
                body += (f' The last good state (after iteration '
                         f'{iteration - 1}) was saved to {path}; continue '
                         f'from it with --resume {path}.')
        self._uninstall()
        raise NonFiniteLossError(f'{head}{body} {_HINT}', bad, iteration,
                                 path)

    @staticmethod
    def _save(runner, done: int) -> str:
        filename = f'nan_guard_iter_{done}.pth'
        runner.save_checkpoint(
            runner.work_dir, filename, save_optimizer=True,
            meta=dict(epoch=runner.epoch, iter=runner.iter))
        path = osp.join(runner.work_dir, filename)
        if runner.rank == 0:
            # imported here: the runner package imports the hooks
            from posekit.engine.runner.atomic_backend import \
                atomic_write_bytes
            atomic_write_bytes(path.encode(),
                               osp.join(runner.work_dir, 'last_checkpoint'))
        return path
