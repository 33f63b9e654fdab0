"""``AEHigherResolutionHead``: MMPose 0.x's name and arguments for the
HigherHRNet head, translated to :class:`HigherHRNetHead`."""
from typing import Optional, Sequence

from posekit.registry import MODELS
from posekit.utils.typing import OptConfigType
from .higherhrnet_head import HigherHRNetHead


def _loss_args(loss_keypoint: Optional[dict], levels: int) -> dict:
    """HigherHRNetHead loss arguments equal to a 0.x ``MultiLossFactory``
    config: its push term is ``0.5 * push_factor * mean exp(-d^2)`` and
    its pull ``pull_factor * pull``, so ``loss_weight = pull_factor`` and
    ``push_loss_factor = 0.5 * push_factor / pull_factor``.

    Raises:
        ValueError: an AE loss type other than 'exp', or factor lists of
            the wrong length.
    """
    if not loss_keypoint:
        return {}
    cfg = dict(loss_keypoint)
    if cfg.get('ae_loss_type', 'exp') != 'exp':
        raise ValueError("AEHigherResolutionHead: only ae_loss_type='exp' "
                         f"is supported, got {cfg['ae_loss_type']!r}")
    for key in ('heatmaps_loss_factor', 'with_heatmaps_loss',
                'push_loss_factor', 'pull_loss_factor'):
        if key in cfg and len(cfg[key]) != levels:
            raise ValueError(f'AEHigherResolutionHead: loss_keypoint.{key} '
                             f'needs {levels} entries (one per output), got '
                             f'{cfg[key]!r}')
    factors = cfg.get('heatmaps_loss_factor', [1.0] * levels)
    used = cfg.get('with_heatmaps_loss', [True] * levels)
    pull = float(cfg.get('pull_loss_factor', [1.0])[0])
    push = float(cfg.get('push_loss_factor', [1.0])[0])
    if pull <= 0:
        raise ValueError('AEHigherResolutionHead: loss_keypoint.'
                         'pull_loss_factor[0] must be > 0, got '
                         f'{pull!r}')
    return dict(
        keypoint_loss_weights=[float(f) if u else 0.0
                               for f, u in zip(factors, used)],
        tag_loss=dict(type='AssociativeEmbeddingLoss', loss_weight=pull,
                      push_loss_factor=0.5 * push / pull))


@MODELS.register_module()
class AEHigherResolutionHead(HigherHRNetHead):
    """HigherHRNet head configured with MMPose 0.x's arguments.

    ``num_joints`` -> ``num_keypoints``, ``tag_per_joint`` ->
    ``tag_per_keypoint``, ``extra.final_conv_kernel``,
    ``num_deconv_layers/filters/kernels`` -> ``num_deconvs``,
    ``num_channels``, ``kernel_size``; ``loss_keypoint`` (a
    ``MultiLossFactory`` config) -> per-level heatmap loss weights and an
    equivalent ``AssociativeEmbeddingLoss``.

    Raises:
        ValueError: ``with_ae_loss`` asks for tags at a level other than
            the first (only level-0 tags are supported).
    """

    def __init__(self, in_channels: int, num_joints: int,
                 tag_per_joint: bool = True, extra: Optional[dict] = None,
                 num_deconv_layers: int = 1,
                 num_deconv_filters: Sequence[int] = (32, ),
                 num_deconv_kernels: Sequence[int] = (4, ),
                 num_basic_blocks: int = 4,
                 cat_output: Optional[Sequence[bool]] = None,
                 with_ae_loss: Optional[Sequence[bool]] = None,
                 loss_keypoint: Optional[dict] = None,
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        levels = num_deconv_layers + 1
        with_ae_loss = list(with_ae_loss or [True] + [False] * (levels - 1))
        if with_ae_loss != [True] + [False] * (levels - 1):
            raise ValueError('AEHigherResolutionHead: with_ae_loss must be '
                             f'{[True] + [False] * (levels - 1)} (tags at the '
                             f'first output only), got {with_ae_loss!r}')
        super().__init__(
            in_channels=in_channels, num_keypoints=num_joints,
            tag_dim=1, tag_per_keypoint=tag_per_joint,
            num_deconvs=num_deconv_layers,
            num_channels=num_deconv_filters, kernel_size=num_deconv_kernels,
            num_basic_blocks=num_basic_blocks,
            cat_output=(cat_output if cat_output is not None
                        else [False] * num_deconv_layers),
            final_conv_kernel=(extra or {}).get('final_conv_kernel', 1),
            decoder=decoder, init_cfg=init_cfg,
            **_loss_args(loss_keypoint, levels))
