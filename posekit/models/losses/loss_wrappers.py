"""MultipleLossWrapper: one loss module per output of a multi-output
head."""
from typing import List, Optional, Sequence

from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType


@MODELS.register_module()
class MultipleLossWrapper(nn.Module):
    """Applies ``losses[i]`` to the i-th output and i-th target and returns
    the losses in order, as a list (a head that wants one number sums them;
    keeping them apart lets it log or schedule each one, as DSNT does).

    Args:
        losses: configs of the loss modules, built with ``MODELS``; each is
            called as ``loss(output_i, target_i, keypoint_weights)``.

    Raises:
        ValueError: ``losses`` is not a non-empty list of configs.
    """

    def __init__(self, losses: Sequence[ConfigType]) -> None:
        super().__init__()
        if isinstance(losses, (str, dict)) or not isinstance(
                losses, Sequence) or not losses:
            raise ValueError('MultipleLossWrapper: losses must be a '
                             'non-empty list of loss configs, e.g. '
                             "[dict(type='SmoothL1Loss'), "
                             f"dict(type='JSDiscretLoss')]; got {losses!r}")
        self.num_losses = len(losses)
        self.loss_modules = nn.ModuleList(MODELS.build(cfg) for cfg in losses)

    def forward(self, input_list: Sequence[Tensor],
                target_list: Sequence[Tensor],
                keypoint_weights: Optional[Tensor] = None) -> List[Tensor]:
        """The list of ``loss_modules[i](input_list[i], target_list[i],
        keypoint_weights)``.

        Raises:
            ValueError: the outputs, targets and losses differ in number.
        """
        if not isinstance(input_list, (list, tuple)) or not isinstance(
                target_list, (list, tuple)):
            raise ValueError('MultipleLossWrapper: input_list and '
                             'target_list must be lists (one entry per '
                             f'loss); got {type(input_list).__name__} and '
                             f'{type(target_list).__name__}')
        if not len(input_list) == len(target_list) == self.num_losses:
            raise ValueError(
                f'MultipleLossWrapper has {self.num_losses} losses but got '
                f'{len(input_list)} outputs and {len(target_list)} targets; '
                'pass one output and one target per loss')
        return [loss(output, target, keypoint_weights)
                for loss, output, target in zip(self.loss_modules,
                                                input_list, target_list)]


__all__ = ['MultipleLossWrapper']
