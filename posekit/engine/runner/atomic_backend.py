"""A local file backend whose writes are atomic.

A checkpoint is written to a temporary file in the destination folder,
flushed to disk, then renamed over the destination, so a crash or kill
mid-write never leaves a truncated checkpoint under the final name.
"""
import os
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend

BACKEND_NAME = 'posekit_atomic_local'
# name prefix of the temporary files (resume removes left-over ones)
TMP_PREFIX = '.tmp-'


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that readers see either the old
    file or the complete new one."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX,
                               suffix='-' + os.path.basename(filepath))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@register_backend(BACKEND_NAME)
class AtomicLocalBackend(LocalBackend):
    """mmengine ``LocalBackend`` with atomic ``put``/``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)
