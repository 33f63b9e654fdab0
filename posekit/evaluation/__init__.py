"""Evaluation: array-level helpers (``functional``) and registered
metrics (``metrics``)."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
