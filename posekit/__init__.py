"""posekit: a registry-driven pose-estimation framework on mmengine.

Importing the package is cheap: nothing heavy is imported until a registry
builds something or :func:`register_all_modules` is called.
"""
from .version import __version__


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every posekit module that registers classes.

    With ``init_default_scope`` the default registry scope becomes
    ``'posekit'``, so config ``type`` names resolve to posekit's classes.
    """
    from .utils.setup_env import register_all_modules as _register
    _register(init_default_scope)


__all__ = ['__version__', 'register_all_modules']
