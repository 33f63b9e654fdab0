"""Models: backbones, necks, heads, losses, data preprocessors and pose
estimators, all registered in ``posekit.registry.MODELS``."""
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .pose_estimators import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

# ``init_cfg=dict(type='Pretrained', ...)`` goes through mmengine's
# CheckpointLoader: route it to posekit's weights-only loader for every
# model built from this package, not only inside PoseRunner
from posekit.utils.checkpoint import install_safe_loader  # noqa: E402

install_safe_loader()
