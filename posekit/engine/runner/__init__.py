from .atomic_backend import AtomicLocalBackend, atomic_write_bytes
from .pose_runner import PoseRunner

__all__ = ['PoseRunner', 'AtomicLocalBackend', 'atomic_write_bytes']
