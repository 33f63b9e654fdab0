"""Safe loading of camera-parameter pickles (e.g. Human3.6M cameras.pkl).

The files are pickles of ``{(subject, camera_id): {'R': ndarray, ...}}``.
Unpickling can run arbitrary code, so only numpy array/dtype
reconstruction and plain builtin containers are allowed.
"""
import pickle
from pathlib import Path
from typing import Any, Union

__all__ = ['load_camera_params', 'RestrictedUnpickler']

_ALLOWED = {
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('builtins', 'dict'), ('builtins', 'list'), ('builtins', 'tuple'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'str'),
    ('builtins', 'int'), ('builtins', 'float'), ('builtins', 'bytes'),
    ('collections', 'OrderedDict'),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that refuses every global outside ``_ALLOWED``."""

    def __init__(self, file: Any, source: str = '<stream>') -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            allowed = ', '.join(sorted(f'{m}.{n}' for m, n in _ALLOWED))
            raise pickle.UnpicklingError(
                f'{self.source}: refusing to load {module}.{name}; camera '
                'parameter pickles may only hold numpy arrays and builtin '
                f'containers (allowed globals: {allowed})')
        return super().find_class(module, name)


def load_camera_params(path: Union[str, Path]) -> dict:
    """Read a camera-parameter pickle with :class:`RestrictedUnpickler`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        pickle.UnpicklingError: the pickle needs a disallowed global.
        TypeError: the pickle does not hold a dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'camera_param_file {str(path)!r} does not '
                                'exist')
    with open(path, 'rb') as f:
        data = RestrictedUnpickler(f, str(path)).load()
    if not isinstance(data, dict):
        raise TypeError(f'camera_param_file {str(path)!r} must hold a dict '
                        f'keyed by (subject, camera), got '
                        f'{type(data).__name__}')
    return data
