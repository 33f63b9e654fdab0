"""Registration of all posekit modules and the default scope."""
import datetime
import warnings

from mmengine import DefaultScope

_MODULES = ('posekit.codecs', 'posekit.datasets', 'posekit.evaluation',
            'posekit.models', 'posekit.engine', 'posekit.visualization')


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every registering subpackage, route mmengine's checkpoint
    loading through posekit's safe loader, and optionally set scope
    'posekit'."""
    import importlib

    from .checkpoint import install_safe_loader
    for name in _MODULES:
        importlib.import_module(name)
    # Pretrained inits outside PoseRunner/init_model load safely too
    install_safe_loader()
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'posekit':
        if current is not None:
            warnings.warn(f'The current default scope {current.scope_name!r}'
                          " is not 'posekit'; switching to 'posekit'.")
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'posekit-{stamp}', scope_name='posekit')
