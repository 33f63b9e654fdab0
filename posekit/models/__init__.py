"""Models: backbones, necks, heads, losses, data preprocessors and pose
estimators, all registered in ``posekit.registry.MODELS``."""
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .pose_estimators import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
