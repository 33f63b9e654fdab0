"""Optional packages of the export: importing them with a clear error,
running an ONNX file with onnxruntime, simplifying it."""
import importlib
from types import ModuleType
from typing import Dict, Tuple

import numpy as np

_PIP = {'onnx': 'pip install onnx',
        'onnxruntime': 'pip install onnxruntime (or onnxruntime-gpu)',
        'onnxscript': 'pip install onnxscript'}
_SIMPLIFIERS = ('onnxslim', 'onnxsim')


def require(module: str, purpose: str = 'ONNX export') -> ModuleType:
    """Import ``module``.

    Raises:
        ImportError: it is not installed; the message names the pip
            command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        command = _PIP.get(module, f'pip install {module}')
        raise ImportError(f'{purpose} needs the {module!r} package, which '
                          f'is not installed: {command}') from err


def simplifier() -> Tuple[str, ModuleType]:
    """The installed ONNX simplifier: ``('onnxslim', module)`` or
    ``('onnxsim', module)``.

    Raises:
        ImportError: neither is installed (names the pip command).
    """
    for name in _SIMPLIFIERS:
        try:
            return name, importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError('--simplify needs onnxslim or onnx-simplifier, and '
                      'neither is installed: pip install onnxslim (or pip '
                      'install onnxsim)')


def simplify_onnx(path: str) -> str:
    """Simplify the ONNX file at ``path`` in place with onnxslim (or
    onnx-simplifier); returns the simplifier's name.

    Raises:
        ImportError: neither is installed (names the pip command).
        RuntimeError: onnx-simplifier could not validate its result.
    """
    name, lib = simplifier()
    if name == 'onnxslim':
        lib.slim(path, path)
        return name
    onnx = require('onnx')
    simplified, ok = lib.simplify(onnx.load(path))
    if not ok:
        raise RuntimeError(f'onnx-simplifier could not validate the '
                           f'simplified {path}; export without --simplify')
    onnx.save(simplified, path)
    return name


def onnx_session(path: str, device: str = 'cpu'):
    """An onnxruntime ``InferenceSession`` for ``path``; with a CUDA
    ``device`` the CUDA provider comes first when onnxruntime has it.

    Raises:
        ImportError: onnxruntime is missing (names the pip command).
    """
    ort = require('onnxruntime', 'running the exported model')
    providers = ['CPUExecutionProvider']
    if str(device).startswith('cuda') and 'CUDAExecutionProvider' in \
            ort.get_available_providers():
        providers.insert(0, 'CUDAExecutionProvider')
    return ort.InferenceSession(path, providers=providers)


def run_onnx(session, **inputs: np.ndarray) -> Dict[str, np.ndarray]:
    """Run ``session`` on float32 inputs given by name; returns the
    outputs by name."""
    names = [o.name for o in session.get_outputs()]
    feeds = {k: np.ascontiguousarray(v, dtype=np.float32)
             for k, v in inputs.items()}
    return dict(zip(names, session.run(names, feeds)))


__all__ = ['require', 'simplifier', 'simplify_onnx', 'onnx_session',
           'run_onnx']
