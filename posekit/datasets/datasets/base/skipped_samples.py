"""Bookkeeping for ``skip_invalid=True``: which samples were skipped
because their image is missing or unreadable.

One flag per sample in shared memory: data-loader workers (forked, or
spawned with torch's pickler) mark samples, the main process reads and
resets the flags at the end of an epoch. A sample is marked at most once
per epoch however often it is drawn, so no lock is needed.
"""
from typing import Callable, List, Optional, Tuple

import torch

__all__ = ['SkippedSamples']

MISSING, UNREADABLE = 1, 2
_REASONS = {MISSING: 'missing', UNREADABLE: 'unreadable'}


class SkippedSamples:
    """Per-sample skip flags of a dataset with ``num_samples`` samples."""

    def __init__(self, num_samples: int) -> None:
        self.flags = torch.zeros(num_samples, dtype=torch.uint8)
        self.flags.share_memory_()

    def mark(self, index: int, err: BaseException) -> None:
        """Record that sample ``index`` failed with ``err`` (an OSError)."""
        self.flags[index] = MISSING if isinstance(err, FileNotFoundError) \
            else UNREADABLE

    def count(self) -> int:
        return int(torch.count_nonzero(self.flags))

    def all_skipped(self) -> bool:
        return self.count() == self.flags.numel()

    def first(self, num: int) -> List[Tuple[int, str]]:
        """``(index, 'missing' | 'unreadable')`` of the first ``num``
        skipped samples in index order."""
        idx = torch.nonzero(self.flags).flatten()[:num].tolist()
        return [(i, _REASONS[int(self.flags[i])]) for i in idx]

    def report(self, where: str, describe: Callable[[int], str],
               reset: bool = True, shown: int = 5) -> Optional[str]:
        """A sentence with the count and the first ``shown`` samples
        (``describe(index)`` names one), or None when nothing was skipped;
        the flags are cleared with ``reset``."""
        num = self.count()
        if num == 0:
            return None
        missing = int(torch.count_nonzero(self.flags == MISSING))
        listed = '; '.join(f'{describe(i)} ({why})'
                           for i, why in self.first(shown))
        more = f'; and {num - shown} more' if num > shown else ''
        if reset:
            self.flags.zero_()
        return (f'{where}: skipped {num} of {self.flags.numel()} samples '
                f'because their image is missing ({missing}) or unreadable '
                f'({num - missing}) (skip_invalid=True): {listed}{more}. '
                'Restore or remove these files to train on every sample')
