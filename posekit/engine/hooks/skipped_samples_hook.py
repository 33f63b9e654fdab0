"""SkippedSamplesHook: at the end of every training epoch, log how many
samples a dataset with ``skip_invalid=True`` skipped (missing or unreadable
images) and name the first few.

The dataset keeps the count (shared with its data-loader workers, see
:class:`posekit.datasets.datasets.base.skipped_samples.SkippedSamples`);
this hook only reads and resets it. Dataset wrappers (``RepeatDataset``,
``ConcatDataset``, ``CombinedDataset``) are searched for such datasets.
"""
import logging
from typing import Iterator, List, Optional

from mmengine.dist import all_gather_object, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from posekit.registry import HOOKS

__all__ = ['SkippedSamplesHook', 'skipped_sample_reports']


def _datasets(dataset) -> Iterator:
    """``dataset`` and every dataset wrapped inside it."""
    yield dataset
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and inner is not dataset:
        yield from _datasets(inner)
    for child in getattr(dataset, 'datasets', None) or []:
        yield from _datasets(child)


def skipped_sample_reports(dataset, reset: bool = True) -> List[str]:
    """The ``skipped_report()`` of every dataset in ``dataset`` that has
    skipped samples since its last report."""
    reports = []
    for ds in _datasets(dataset):
        report = getattr(ds, 'skipped_report', None)
        text = report(reset=reset) if callable(report) else None
        if text:
            reports.append(text)
    return reports


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """Log the skipped-sample report of the training dataset after every
    training epoch (and once more when training ends, for iteration-based
    loops). In distributed training the reports of all ranks are gathered
    and logged by rank 0."""

    priority = 'LOW'

    def after_train_epoch(self, runner) -> None:
        # mmengine counts epochs from 0 and increments after this hook
        self._report(runner, f'epoch {runner.epoch + 1}')

    def after_train(self, runner) -> None:
        self._report(runner, 'end of training')

    def _report(self, runner, when: str) -> None:
        loader = getattr(runner, 'train_dataloader', None)
        dataset: Optional[object] = getattr(loader, 'dataset', None)
        reports = skipped_sample_reports(dataset) if dataset is not None \
            else []
        if get_world_size() > 1:
            gathered = all_gather_object(reports)
            reports = [f'rank {rank}: {text}'
                       for rank, texts in enumerate(gathered)
                       for text in texts]
        for text in reports:
            print_log(f'{when}: {text}', logger='current',
                      level=logging.WARNING)
