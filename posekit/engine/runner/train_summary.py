"""The summary PoseRunner logs when training starts: parameters, dataset
sizes, batch size per device and in total, the learning rate after
``auto_scale_lr``, the schedule and the work dir."""
from typing import List

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict
from mmengine.runner import IterBasedTrainLoop

from posekit.engine.unwrap import unwrap_model


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def group_lrs(optim_wrapper, initial: bool = False) -> List[float]:
    """The learning rate of every param group (``initial_lr``, the rate
    schedulers start from, when ``initial`` and present)."""
    wrappers = optim_wrapper.values() if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    return [float(g.get('initial_lr', g['lr']) if initial else g['lr'])
            for w in wrappers for g in w.optimizer.param_groups]


def training_summary(runner) -> str:
    """Parameters, data sizes, batch sizes, learning rate, schedule and
    work dir of ``runner``'s run (a :class:`PoseRunner` whose optimizer,
    loops and dataloaders are built), as logged when training starts."""
    model = unwrap_model(runner.model)
    count = lambda m, train=False: sum(  # noqa: E731
        p.numel() for p in m.parameters() if p.requires_grad or not train)
    parts = ', '.join(f'{name} {type(m).__name__} {count(m):,}'
                      for name, m in model.named_children() if count(m))
    lines = ['Training summary:',
             f'  model: {type(model).__name__}, {count(model):,} '
             f'parameters ({count(model, True):,} trainable): {parts}']
    loader = runner.train_dataloader
    data = (f'  data: train {plural(len(loader.dataset), "sample")} '
            f'({type(loader.dataset).__name__}, '
            f'{plural(len(loader), "iteration")} per epoch)')
    if runner._val_loop is not None and hasattr(runner.val_loop, 'dataloader'):
        data += ', val ' + plural(len(runner.val_loop.dataloader.dataset),
                                   'sample')
    lines.append(data)
    size, world = loader.batch_size, runner.world_size
    batch = (f'  batch size: {size} per device x '
             f'{plural(world, "device")} = {size * world} in total')
    wrappers = runner.optim_wrapper.values() if isinstance(
        runner.optim_wrapper, OptimWrapperDict) else [runner.optim_wrapper]
    accumulate = getattr(list(wrappers)[0], '_accumulative_counts', 1)
    if accumulate > 1:
        batch += (f', x{accumulate} gradient accumulation = '
                  f'{size * world * accumulate} per update')
    lines.append(batch)
    lines.append('  ' + lr_summary(runner))
    loop = runner.train_loop
    iters = plural(loop.max_iters, 'iteration')
    lines.append(f'  schedule: {iters}' if isinstance(
        loop, IterBasedTrainLoop) else
        f'  schedule: {plural(loop.max_epochs, "epoch")}, {iters}')
    lines.append(f'  optimizer wrapper: {type(list(wrappers)[0]).__name__}'
                 + ('; test after training'
                    if runner.cfg.get('test_after_train') else ''))
    lines.append(f'  work dir: {runner.work_dir}')
    return '\n'.join(lines)

def lr_summary(runner) -> str:
    """The initial learning rate(s), and how ``auto_scale_lr`` changed
    them (read from ``runner._lr_scaling``, set by ``scale_lr``)."""
    lrs = group_lrs(runner.optim_wrapper, initial=True)
    text = f'learning rate: {max(lrs):.6g}'
    if min(lrs) != max(lrs):
        text += f' (param groups from {min(lrs):.6g} to {max(lrs):.6g})'
    scaling = runner._lr_scaling
    auto = runner.auto_scale_lr or {}
    if scaling is not None:
        ratio = scaling['real'] / scaling['base']
        text += (f' = {max(scaling["before"]):.6g} x {ratio:.6g} by '
                 f'auto_scale_lr (batch {scaling["real"]} / '
                 f'base_batch_size {scaling["base"]})')
    elif 'base_batch_size' in auto:
        text += (f' (not scaled; --auto-scale-lr would scale it for '
                 f'base_batch_size {auto["base_batch_size"]})')
    return text


class TrainSummaryHook(Hook):
    """Logs :func:`training_summary` when training starts (after the
    optimizer, schedulers and loops are built and any checkpoint is
    loaded)."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        print_log(training_summary(runner), logger='current')
