from .inference import (build_test_pipeline, inference_bottomup,
                        inference_topdown, merge_data_samples)
from .inference_3d import inference_pose_lifter_model
from .model_init import (CheckpointMismatchError, dataset_meta_from_config,
                         init_model)
from .training import (add_common_args, build_runner, load_config,
                       parse_cfg_options, setup_cfg)

__all__ = ['add_common_args', 'build_runner', 'load_config',
           'parse_cfg_options', 'setup_cfg', 'init_model',
           'inference_topdown', 'inference_bottomup', 'merge_data_samples',
           'inference_pose_lifter_model', 'dataset_meta_from_config',
           'build_test_pipeline', 'CheckpointMismatchError']
