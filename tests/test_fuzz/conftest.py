"""Makes the shared hypothesis strategies in ``fuzz_inputs.py`` importable
as ``_posekit_fuzz_inputs`` by the test modules of this folder (pytest
imports this file before collecting them; tests/ is not a package)."""
import importlib.util
import sys
from pathlib import Path

_NAME = '_posekit_fuzz_inputs'
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).with_name('fuzz_inputs.py'))
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    sys.modules[_NAME] = _module
