from .training import (add_common_args, build_runner, load_config,
                       parse_cfg_options, setup_cfg)

__all__ = ['add_common_args', 'build_runner', 'load_config',
           'parse_cfg_options', 'setup_cfg']
