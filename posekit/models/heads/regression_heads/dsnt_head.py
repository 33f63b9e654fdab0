"""Top-down DSNT head (Nibali et al., 2018): an integral regression head
whose heatmaps are also supervised, by a divergence to Gaussian targets."""
from typing import Optional, Sequence, Tuple

from mmengine.logging import MessageHub
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType
from ..heatmap_heads.heatmap_head import gather_heatmap_targets
from .integral_regression_head import IntegralRegressionHead
from .regression_head import coord_accuracy, gather_instance_labels

OptIntSeq = Optional[Sequence[int]]


@MODELS.register_module()
class DSNTHead(IntegralRegressionHead):
    """DSNT head: :class:`IntegralRegressionHead` trained with a coordinate
    loss plus a heatmap loss.

    ``loss`` is a ``MultipleLossWrapper`` of two losses, called as
    ``loss([coords, heatmaps], [keypoint_labels, gt heatmaps], weights)``
    and returning the two values; ``loss_kpt`` is their sum. The targets
    come from ``IntegralRegressionLabel`` (``keypoint_labels`` and
    normalised ``heatmaps``).

    Args:
        lambda_t: from this epoch on (when > 0) only the coordinate loss
            counts; -1 keeps both losses throughout.

    The other arguments are those of :class:`IntegralRegressionHead`.
    """

    _version = 2

    def __init__(self, in_channels: int, in_featuremap_size: Tuple[int, int],
                 num_joints: int, lambda_t: int = -1, debias: bool = False,
                 beta: float = 1.0,
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 conv_out_channels: OptIntSeq = None,
                 conv_kernel_sizes: OptIntSeq = None,
                 final_layer: Optional[dict] = dict(kernel_size=1),
                 loss: ConfigType = dict(
                     type='MultipleLossWrapper',
                     losses=[dict(type='SmoothL1Loss', use_target_weight=True),
                             dict(type='JSDiscretLoss',
                                  use_target_weight=True)]),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(
            in_channels=in_channels, in_featuremap_size=in_featuremap_size,
            num_joints=num_joints, debias=debias, beta=beta,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes, final_layer=final_layer,
            loss=loss, decoder=decoder, init_cfg=init_cfg)
        self.lambda_t = lambda_t

    def _heatmap_loss_active(self) -> bool:
        """Whether the heatmap loss still counts at the current epoch.

        Raises:
            RuntimeError: ``lambda_t > 0`` but the message hub has no
                epoch (not training with an epoch-based loop).
        """
        if self.lambda_t <= 0:
            return True
        epoch = MessageHub.get_current_instance().get_info('epoch')
        if epoch is None:
            raise RuntimeError(
                f'DSNTHead(lambda_t={self.lambda_t}) needs the current epoch '
                "from mmengine's MessageHub, which has none; train with an "
                'epoch-based loop or set lambda_t=-1')
        return epoch < self.lambda_t

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` (coordinate loss + heatmap loss, the latter only
        before epoch ``lambda_t``) and ``acc_pose`` (PCK@0.05 of the input
        size).

        Raises:
            KeyError: a sample lacks ``keypoint_labels``,
                ``keypoint_weights`` or ``gt_fields.heatmaps``.
            ValueError: the loss does not return two values.
        """
        coords, heatmaps = self.forward(feats)
        labels, weights = gather_instance_labels(
            batch_data_samples, ('keypoint_labels', 'keypoint_weights'))
        gt_heatmaps, _ = gather_heatmap_targets(batch_data_samples)
        labels = labels.to(coords)
        weights = weights.to(coords)
        values = self.loss_module([coords, heatmaps],
                                  [labels, gt_heatmaps.to(heatmaps)], weights)
        if not isinstance(values, (list, tuple)) or len(values) != 2:
            raise ValueError(
                'DSNTHead.loss_module must return two losses (coordinates, '
                "heatmaps), e.g. type='MultipleLossWrapper' with two losses;"
                f' got {type(values).__name__}')
        loss = values[0] + values[1] if self._heatmap_loss_active() \
            else values[0]
        return dict(loss_kpt=loss,
                    acc_pose=coord_accuracy(coords, labels, weights))
