"""SafeCheckpointHook: mmengine's CheckpointHook that never leaves a run
without a complete checkpoint.

mmengine's hook, with ``max_keep_ckpts``, deletes the oldest checkpoint
*before* writing the new one, and writes ``last_checkpoint`` with a plain
``open(..., 'w')``: a kill at the wrong moment leaves no complete
checkpoint, or an empty ``last_checkpoint``. This hook writes the new
checkpoint first (atomically, through ``PoseRunner``'s backend), then
points ``last_checkpoint`` at it (atomically), and only then deletes the
checkpoints beyond ``max_keep_ckpts``.

``PoseRunner`` uses it wherever a config names ``CheckpointHook``; the
arguments are mmengine's.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from posekit.registry import HOOKS
from .atomic_backend import atomic_write_bytes


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` with write-then-delete order
    and an atomic ``last_checkpoint`` (same arguments)."""

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        outdated = []
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            # a deque with maxlen=max_keep_ckpts: make room by hand so the
            # dropped ids are known (and deleted only after the write)
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        name = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, name, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_bytes(str(self.last_ckpt).encode('utf-8'),
                           osp.join(runner.work_dir, 'last_checkpoint'))
        for old in outdated:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # e.g. deepspeed folders
                self.file_backend.rmtree(path)
