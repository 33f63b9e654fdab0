from .training import build_runner, load_config, parse_cfg_options

__all__ = ['build_runner', 'load_config', 'parse_cfg_options']
