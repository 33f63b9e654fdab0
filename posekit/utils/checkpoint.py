"""Safe checkpoint loading: ``weights_only=True`` plus an explicit allow-list.

mmengine checkpoints hold, besides tensors, a ``message_hub`` of
``HistoryBuffer`` objects (numpy arrays inside) and scheduler states. Those
few classes are allow-listed here; anything else in a file is refused with
a message naming it, and no code from the file ever runs.

``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
'mean')`` and so needs the global ``builtins.getattr``. Rather than allowing
``getattr`` itself, that name is mapped to :func:`_history_buffer_getattr`,
which resolves only those methods.

:func:`install_safe_loader` routes every scheme of mmengine's
``CheckpointLoader`` (local files, ``http(s)://``, ``torchvision://``,
``open-mmlab://``, ``mmcls://``, ``s3://``, ``pavi://``) through
:func:`safe_load`. The one way around the allow-list is
:func:`trusted_load`, which has to be called explicitly and extends the
list by the globals it names, for that call only (see
``docs/safe_checkpoints.md``).
"""
import importlib
import io
import os
import pickle
import struct
import warnings
import zipfile
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

FileLike = Union[str, os.PathLike, io.BytesIO]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs something outside posekit's allow-list."""


class CorruptCheckpointError(IOError):
    """A file is corrupt, truncated or not a PyTorch checkpoint at all."""


class CheckpointDownloadError(RuntimeError):
    """A checkpoint named by URL could not be fetched."""


class TrustedLoadWarning(UserWarning):
    """:func:`trusted_load` was used: the allow-list was extended."""


# HistoryBuffer's built-in statistics; registered extras are added at load
_STATISTICS = ('min', 'max', 'current', 'mean')
# parts of torch's weights-only refusals that mean "this file asks for a
# global / object construction outside the allow-list" (others: bad bytes)
_REFUSAL_MARKERS = ('GLOBAL', 'Can only create new object',
                    'call reduce for unrecognized', 'Can only build')
# parts of torch's RuntimeError messages that mean the bytes are broken
_CORRUPT_MARKERS = ('PytorchStreamReader', 'zip archive', 'magic number',
                    'central directory', 'corrupt', 'not found in archive',
                    'file in archive is not in a subdirectory')


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


def _corrupt(name: str, err: BaseException) -> CorruptCheckpointError:
    detail = _first_line(err) if str(err).strip() else ''
    return CorruptCheckpointError(
        f'checkpoint {name} could not be read as a PyTorch checkpoint: the '
        f'file is corrupt, truncated (e.g. an interrupted download or '
        f'copy) or not a checkpoint at all. Nothing from it was run. '
        f'Re-download or re-copy it. Details: {type(err).__name__}'
        + (f': {detail}' if detail else ''))


def _classify(name: str, err: BaseException) -> Optional[BaseException]:
    """The posekit error for ``err`` raised by ``torch.load``; None when it
    is neither a refusal nor broken bytes (e.g. a bad ``map_location``)."""
    if isinstance(err, UnsafeCheckpointError):
        return UnsafeCheckpointError(f'{name}: {err}')
    if isinstance(err, pickle.UnpicklingError):
        text = str(err)
        if any(marker in text for marker in _REFUSAL_MARKERS):
            return UnsafeCheckpointError(
                f'{name} was refused: it needs something posekit does not '
                f'load from checkpoints, so it may run code when unpickled.'
                f' posekit loads with torch.load(weights_only=True) and an '
                f'allow-list (posekit.utils.checkpoint.allowed_globals). '
                f'If you made this file yourself, see docs/safe_'
                f'checkpoints.md (trusted_load). Details from torch: '
                f'{_first_line(err)}')
        return _corrupt(name, err)
    if isinstance(err, (EOFError, KeyError, IndexError, struct.error,
                        zipfile.BadZipFile, UnicodeDecodeError,
                        OverflowError)):
        return _corrupt(name, err)
    if isinstance(err, RuntimeError) and any(
            marker in str(err) for marker in _CORRUPT_MARKERS):
        return _corrupt(name, err)
    return None


def _checked_path(file: FileLike) -> FileLike:
    if isinstance(file, (str, os.PathLike)):
        file = os.path.expanduser(os.fspath(file))
        if not os.path.isfile(file):
            raise FileNotFoundError(f'checkpoint file {file} does not exist')
        if os.path.getsize(file) == 0:
            raise CorruptCheckpointError(
                f'checkpoint {file} could not be read as a PyTorch '
                'checkpoint: the file is empty (an interrupted download or '
                'copy?)')
    return file


def safe_load(file: FileLike, map_location: Any = None) -> Any:
    """``torch.load(file, weights_only=True)`` with posekit's allow-list.

    Raises:
        FileNotFoundError: ``file`` is a path that does not exist.
        UnsafeCheckpointError: the file needs a global that is not allowed
            (the message names it); nothing from the file was executed.
        CorruptCheckpointError: the file is empty, truncated, corrupt or
            not a PyTorch checkpoint (an ``IOError``).
    """
    file = _checked_path(file)
    name = file if isinstance(file, str) else '<in-memory checkpoint>'
    try:
        with torch.serialization.safe_globals(allowed_globals()), \
                warnings.catch_warnings():
            # torch's note on odd pickle protocols only confuses here: the
            # bytes are refused or reported as corrupt anyway
            warnings.filterwarnings('ignore', 'Detected pickle protocol')
            return torch.load(file, map_location=map_location,
                              weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        mapped = _classify(name, err)
        if mapped is None:
            raise
        raise mapped from None


def _resolve_global(item: Any) -> Any:
    """An allow-list entry: an object, or its ``'module.Name'`` path."""
    if not isinstance(item, str):
        return item
    module, _, attr = item.rpartition('.')
    if not module:
        raise ValueError(f'trusted_load: {item!r} is not a "module.Name" '
                         'path (copy it from the UnsafeCheckpointError '
                         'message)')
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f'trusted_load: cannot import {item!r} ({err}); '
                         'install the package that defines it') from None


def trusted_load(file: FileLike, allow: Sequence[Any],
                 map_location: Any = None) -> Any:
    """Load a checkpoint that needs globals beyond posekit's allow-list,
    allowing exactly ``allow`` for this one call.

    The one opt-out for legacy files you made yourself or fully trust
    (e.g. an ``argparse.Namespace`` or a config class in ``meta``). It is
    still ``torch.load(weights_only=True)``: only the named classes or
    functions (objects, or ``'module.Name'`` strings as the
    :class:`UnsafeCheckpointError` message names them) are added, never
    arbitrary code. Warns with :class:`TrustedLoadWarning` every time.
    Never called by posekit itself; convert such a file once into a safe
    one (``docs/safe_checkpoints.md``).

    Raises:
        FileNotFoundError: ``file`` is a path that does not exist.
        ValueError: ``allow`` is empty or names something unimportable.
        UnsafeCheckpointError: the file needs yet another global.
        CorruptCheckpointError: the file is corrupt or not a checkpoint.
    """
    if isinstance(allow, str) or not allow:
        raise ValueError('trusted_load needs allow=[...], the globals the '
                         'file may use (e.g. ["argparse.Namespace"]); '
                         'safe_load names them when it refuses a file')
    extra = [_resolve_global(item) for item in allow]
    file = _checked_path(file)
    name = file if isinstance(file, str) else '<in-memory checkpoint>'
    with warnings.catch_warnings():
        warnings.simplefilter('always', TrustedLoadWarning)
        warnings.warn(
            f'trusted_load({name!r}): allowing {list(allow)} beyond '
            "posekit's checkpoint allow-list. Only do this for files you "
            'made yourself or fully trust', TrustedLoadWarning,
            stacklevel=2)
    try:
        with torch.serialization.safe_globals(allowed_globals() + extra):
            return torch.load(file, map_location=map_location,
                              weights_only=True)
    except Exception as err:
        mapped = _classify(name, err)
        if mapped is None:
            raise
        raise mapped from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    for line in text.splitlines():
        if any(key in line for key in ('GLOBAL', 'Unsupported', 'Can only',
                                       'String is too long')):
            return line.strip()
    return text.splitlines()[0] if text else type(err).__name__


# ---- mmengine CheckpointLoader schemes, every one through safe_load ----
# (the function names matter: mmengine logs ``name[10:]`` as the scheme)

def load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
    return safe_load(filename, map_location=map_location)


def _guard_network(loader):
    if getattr(loader, '_posekit_guarded', False):
        return loader

    def load_from_network(filename, *args, **kwargs):
        try:
            return loader(filename, *args, **kwargs)
        except (OSError, ConnectionError) as err:
            if isinstance(err, (CorruptCheckpointError, FileNotFoundError)):
                raise
            raise CheckpointDownloadError(
                f'could not fetch the checkpoint {filename} ({err}). If this '
                f'machine has no internet access, download the file '
                f'elsewhere, copy it here and give its local path instead '
                f'(e.g. init_cfg=dict(type="Pretrained", checkpoint='
                f'"/path/to/file.pth") or load_from="/path/to/file.pth"), '
                f'or delete the init_cfg to start from random '
                f'weights') from err

    load_from_network._posekit_guarded = True
    load_from_network.__name__ = getattr(loader, '__name__',
                                         'load_from_network')
    return load_from_network


def _download(url: str) -> str:
    """The cached local copy of ``url`` (torch hub's checkpoint folder);
    in a distributed run local rank 0 downloads while the others wait."""
    from urllib.parse import urlparse

    from mmengine.dist import barrier, get_dist_info
    folder = os.path.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(folder, exist_ok=True)
    cached = os.path.join(folder, os.path.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    local_rank = int(os.environ.get('LOCAL_RANK', rank))
    if local_rank == 0 and not os.path.isfile(cached):
        torch.hub.download_url_to_file(url, cached, progress=False)
    if world_size > 1:
        barrier()
    if not os.path.isfile(cached):  # another node's rank 0 downloaded
        torch.hub.download_url_to_file(url, cached, progress=False)
    return cached


def load_from_http(filename: str, map_location: Optional[Any] = None) -> Any:
    return safe_load(_download(filename), map_location=map_location)


def load_from_torchvision(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    from mmengine.runner.checkpoint import get_torchvision_models
    name = filename.split('://', 1)[1]
    return load_from_http(get_torchvision_models()[name], map_location)


def load_from_openmmlab(filename: str,
                        map_location: Optional[Any] = None) -> Any:
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            get_deprecated_model_names,
                                            get_external_models)
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    return safe_load(os.path.join(_get_mmengine_home(), url), map_location)


def load_from_mmcls(filename: str, map_location: Optional[Any] = None) -> Any:
    from mmengine.runner.checkpoint import (_process_mmcls_checkpoint,
                                            get_mmcls_models)
    url = get_mmcls_models()[filename[len('mmcls://'):]]
    return _process_mmcls_checkpoint(load_from_http(url, map_location))


def load_from_ceph(filename: str, map_location: Optional[Any] = None) -> Any:
    from mmengine.fileio import get_file_backend
    backend = get_file_backend(filename,
                               backend_args=dict(backend='petrel'))
    buffer = io.BytesIO(backend.get(filename))
    return safe_load(buffer, map_location=map_location)


def load_from_pavi(filename: str, map_location: Optional[Any] = None) -> Any:
    import tempfile
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError('loading pavi:// checkpoints needs the pavi '
                          'package') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, model.name)
        model.download(path)
        return safe_load(path, map_location=map_location)


_SCHEMES = (
    (('',), load_from_local, False),
    (('http://', 'https://'), load_from_http, True),
    (('modelzoo://', 'torchvision://'), load_from_torchvision, True),
    (('open-mmlab://', 'openmmlab://'), load_from_openmmlab, True),
    (('mmcls://',), load_from_mmcls, True),
    ((r'(\S+\:)?s3://', r'(\S+\:)?petrel://'), load_from_ceph, True),
    (('pavi://',), load_from_pavi, True),
)


def install_safe_loader() -> None:
    """Make every scheme of mmengine's ``CheckpointLoader`` load through
    :func:`safe_load` (resume, ``load_from`` and ``Pretrained`` init all go
    through it), with URL checkpoints that cannot be fetched failing with a
    message saying what to do. Idempotent."""
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefixes, loader, network in _SCHEMES:
        if network:
            loader = _guarded.setdefault(loader, _guard_network(loader))
        for prefix in prefixes:
            if CheckpointLoader._schemes.get(prefix) is not loader:
                CheckpointLoader.register_scheme(prefix, loader, force=True)


_guarded: dict = {}
