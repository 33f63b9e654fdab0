from .nan_guard_hook import NaNGuardHook, NonFiniteLossError
from .visualization_hook import PoseVisualizationHook

__all__ = ['PoseVisualizationHook']
__all__ += ['NaNGuardHook', 'NonFiniteLossError']
