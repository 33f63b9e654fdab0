"""PoseEpochBasedTrainLoop: mmengine's epoch loop that resumes mid-epoch.

mmengine's ``EpochBasedTrainLoop`` resumed from a checkpoint taken inside an
epoch (``CheckpointHook(by_epoch=False)``) starts that epoch again from its
first batch, so the batches before the checkpoint are trained twice and the
run is longer than asked. This loop instead leaves out the batches the
checkpoint had already trained, then puts back the random-number state the
checkpoint saved (``runner.pending_rng_state``, see
:mod:`posekit.engine.hooks.resume_state_hook`) just before the next batch is
drawn, so the resumed run continues exactly where the interrupted one was.

How the trained batches are left out:

- ``num_workers=0``: the sampler's first ``skip * batch_size`` indices are
  dropped (no image is loaded), and the generator states are put back when
  the first kept index is drawn, i.e. after the data loader's own seed draw
  and before the first kept sample's augmentation.
- ``num_workers>0``: augmentation runs in the workers with their own
  generators, which only evolve by loading samples, so the left-out
  batches are loaded and dropped (replayed); the workers are then where
  they were. Exact when workers are re-created every epoch
  (``persistent_workers=False``); with persistent workers their generators
  also carry over from earlier epochs, which a new process cannot
  reproduce, and a warning says so.

``PoseRunner`` uses this loop for ``train_cfg=dict(by_epoch=True, ...)`` and
``type='EpochBasedTrainLoop'``.
"""
import logging
from typing import Any, Callable, Dict, Iterator, Optional

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import BatchSampler

from posekit.engine.hooks.resume_state_hook import restore_rng_state
from posekit.registry import LOOPS


class _SkipFirst:
    """Yields ``sampler``'s indices after the first ``skip``; calls
    ``on_start`` before yielding the first kept index."""

    def __init__(self, sampler, skip: int, on_start: Callable[[], None]):
        self.sampler = sampler
        self.skip = skip
        self.on_start = on_start

    def __iter__(self) -> Iterator[int]:
        it = iter(self.sampler)
        for _ in range(self.skip):
            next(it, None)
        self.on_start()
        yield from it

    def __len__(self) -> int:
        # the loader's length stays the epoch's (hooks compare batch_idx,
        # which keeps counting from the skipped batches, with it)
        return len(self.sampler)


@LOOPS.register_module()
class PoseEpochBasedTrainLoop(EpochBasedTrainLoop):
    """:class:`mmengine.runner.EpochBasedTrainLoop` with exact mid-epoch
    resume (same arguments)."""

    def run_epoch(self) -> None:
        """Train one epoch, from the first batch not yet trained."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        skip = self._iter - self._epoch * len(self.dataloader)
        state = getattr(self.runner, 'pending_rng_state', None)
        self.runner.pending_rng_state = None
        if not 0 < skip < len(self.dataloader):
            skip = 0
        if skip:
            print_log(f'resuming inside epoch {self._epoch + 1}: leaving out '
                      f'the {skip} batches of it already trained',
                      logger='current')
        batches = self._batches(skip, state)
        for idx, data_batch in enumerate(batches, start=skip):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _batches(self, skip: int, state: Optional[Dict[str, Any]]):
        """The epoch's batches after the first ``skip``; the generator
        state ``state`` (if any) is put back before the next one is
        drawn."""
        restore = (lambda: restore_rng_state(state)) if state is not None \
            else (lambda: None)
        loader = self.dataloader
        batch_sampler = getattr(loader, 'batch_sampler', None)
        if skip == 0:
            restore()
            yield from loader
            return
        if loader.num_workers == 0 and type(batch_sampler) is BatchSampler:
            # batches are consecutive runs of batch_size sampler indices
            sampler = batch_sampler.sampler
            batch_sampler.sampler = _SkipFirst(
                sampler, skip * batch_sampler.batch_size, restore)
            try:
                yield from loader
            finally:
                batch_sampler.sampler = sampler
            return
        if getattr(loader, 'persistent_workers', False):
            print_log('mid-epoch resume with persistent_workers=True: the '
                      "workers' random state from earlier epochs cannot be "
                      'recreated, so augmentation may differ from an '
                      'uninterrupted run; set persistent_workers=False (or '
                      'num_workers=0) for exact resume',
                      logger='current', level=logging.WARNING)
        it = iter(loader)
        for _ in range(skip):
            next(it)
        restore()
        yield from it
