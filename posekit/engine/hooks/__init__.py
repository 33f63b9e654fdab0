from .nan_guard_hook import NaNGuardHook, NonFiniteLossError
from .resume_state_hook import ResumeStateHook
from .skipped_samples_hook import SkippedSamplesHook, skipped_sample_reports
from .train_speed_hook import (TrainSpeedHook, apply_channels_last,
                               build_train_speed_hook)
from .visualization_hook import PoseVisualizationHook

__all__ = ['PoseVisualizationHook', 'NaNGuardHook', 'NonFiniteLossError',
           'ResumeStateHook', 'SkippedSamplesHook', 'skipped_sample_reports',
           'TrainSpeedHook', 'apply_channels_last', 'build_train_speed_hook']
