"""Reusable scratch arrays for large intermediates of a transform.

An array of a megabyte or more gets fresh pages from the kernel each time
it is allocated (glibc serves it with ``mmap``), and touching those pages
costs about as much as the work done in them: a bottom-up sample spent
about 1 ms of its 6 ms in such page faults. Intermediates that never
leave a transform (the 4-channel copy of an image before a warp, a mask
before it is resized) are therefore written into one array kept per
thread and purpose, and only the arrays handed on are new.
"""
import threading
from typing import Dict, Sequence, Tuple

import numpy as np

_local = threading.local()


def scratch(purpose: str, shape: Tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of ``shape``/``dtype`` owned by ``purpose``
    in this thread: the same memory on every call with the same shape, so
    its content is only valid until the next call for ``purpose``. Never
    return it (or a view of it) from a transform."""
    arrays: Dict[str, np.ndarray] = getattr(_local, 'arrays', None)
    if arrays is None:
        arrays = _local.arrays = {}
    arr = arrays.get(purpose)
    shape = tuple(int(s) for s in shape)
    if arr is None or arr.shape != shape or arr.dtype != np.dtype(dtype):
        arr = arrays[purpose] = np.empty(shape, dtype=dtype)
    return arr


__all__: Sequence[str] = ['scratch']
