from .base import *  # noqa: F401,F403
from .body import *  # noqa: F401,F403
from .body3d import *  # noqa: F401,F403
from .generic import *  # noqa: F401,F403
from .hand import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
