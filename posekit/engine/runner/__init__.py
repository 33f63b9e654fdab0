from .atomic_backend import AtomicLocalBackend, atomic_write_bytes
from .pose_runner import PoseRunner
from .val_loss import PoseValLoop

__all__ = ['PoseRunner', 'PoseValLoop', 'AtomicLocalBackend',
           'atomic_write_bytes']
from .resumable_loop import PoseEpochBasedTrainLoop  # noqa: E402
from .safe_checkpoint_hook import SafeCheckpointHook  # noqa: E402

__all__ += ['PoseEpochBasedTrainLoop', 'SafeCheckpointHook']
