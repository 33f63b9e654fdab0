"""Safe checkpoint loading: ``weights_only=True`` plus an explicit allow-list.

mmengine checkpoints hold, besides tensors, a ``message_hub`` of
``HistoryBuffer`` objects (numpy arrays inside) and scheduler states. Those
few classes are allow-listed here; anything else in a file is refused with
a message naming it, and no code from the file ever runs.

``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
'mean')`` and so needs the global ``builtins.getattr``. Rather than allowing
``getattr`` itself, that name is mapped to :func:`_history_buffer_getattr`,
which resolves only those methods.
"""
import io
import os
import pickle
from typing import Any, List, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs something outside posekit's allow-list."""


# HistoryBuffer's built-in statistics; registered extras are added at load
_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    names = set(_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in names:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        f'HistoryBuffer statistics methods are allowed')


def _numpy_globals() -> List[Any]:
    core = getattr(np, '_core', None) or np.core
    items: List[Any] = [np.ndarray, np.dtype,
                        (core.multiarray._reconstruct,
                         f'{core.__name__}.multiarray._reconstruct'),
                        (core.multiarray.scalar,
                         f'{core.__name__}.multiarray.scalar')]
    # numpy >= 1.25 pickles dtypes through their numpy.dtypes classes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [getattr(dtypes, n) for n in dir(dtypes)
                  if n.endswith('DType')]
    return items


def allowed_globals() -> List[Any]:
    """Everything besides plain tensors and containers that posekit lets a
    checkpoint contain."""
    # ``bytes`` rebuilds the (empty) data buffer of a zero-size numpy array
    # under pickle protocol 2, which torch.save uses
    return [HistoryBuffer, bytes, (_history_buffer_getattr,
                                   'builtins.getattr')] + _numpy_globals()


def safe_load(file: Union[str, os.PathLike, io.BytesIO],
              map_location: Any = None) -> Any:
    """``torch.load(file, weights_only=True)`` with posekit's allow-list.

    Raises:
        FileNotFoundError: ``file`` is a path that does not exist.
        UnsafeCheckpointError: the file needs a global that is not allowed
            (the message names it); nothing from the file was executed.
    """
    if isinstance(file, (str, os.PathLike)):
        file = os.path.expanduser(os.fspath(file))
        if not os.path.isfile(file):
            raise FileNotFoundError(f'checkpoint file {file} does not exist')
    name = file if isinstance(file, str) else '<in-memory checkpoint>'
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(file, map_location=map_location,
                              weights_only=True)
    except UnsafeCheckpointError as err:
        raise UnsafeCheckpointError(f'{name}: {err}') from None
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'{name} was refused: it needs something posekit does not load '
            f'from checkpoints, so it may run code when unpickled. posekit '
            f'loads with torch.load(weights_only=True) and an allow-list '
            f'(posekit.utils.checkpoint.allowed_globals). Details from '
            f'torch: {_first_line(err)}') from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    for line in text.splitlines():
        if 'GLOBAL' in line or 'Unsupported' in line:
            return line.strip()
    return text.splitlines()[0] if text else type(err).__name__


def load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
    # mmengine logs the scheme as this name minus "load_from_"
    return safe_load(filename, map_location=map_location)


class CheckpointDownloadError(RuntimeError):
    """A checkpoint named by URL could not be fetched."""


_NETWORK_PREFIXES = ('http://', 'https://', 'torchvision://',
                     'open-mmlab://', 'openmmlab://', 'modelzoo://')


def _guard_network(loader):
    if getattr(loader, '_posekit_guarded', False):
        return loader

    def load_from_network(filename, *args, **kwargs):
        try:
            return loader(filename, *args, **kwargs)
        except (OSError, ConnectionError) as err:
            raise CheckpointDownloadError(
                f'could not fetch the checkpoint {filename} ({err}). If this '
                f'machine has no internet access, download the file '
                f'elsewhere, copy it here and give its local path instead '
                f'(e.g. init_cfg=dict(type="Pretrained", checkpoint='
                f'"/path/to/file.pth") or load_from="/path/to/file.pth"), '
                f'or delete the init_cfg to start from random '
                f'weights') from err

    load_from_network._posekit_guarded = True
    return load_from_network


def install_safe_loader() -> None:
    """Make mmengine's ``CheckpointLoader`` load local files through
    :func:`safe_load` (resume, ``load_from``, ``Pretrained`` init all go
    through it), and make URL checkpoints that cannot be fetched fail
    with a message saying what to do. Idempotent."""
    from mmengine.runner.checkpoint import CheckpointLoader
    schemes = CheckpointLoader._schemes
    if schemes.get('') is not load_from_local:
        register = CheckpointLoader.register_scheme(prefixes='', force=True)
        register(load_from_local)
    for prefix in _NETWORK_PREFIXES:
        if prefix in schemes:
            schemes[prefix] = _guard_network(schemes[prefix])
