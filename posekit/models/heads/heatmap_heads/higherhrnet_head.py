"""HigherHRNet head (Cheng et al., 2020): associative embedding at 1/4 of
the input plus deconvolution stages that predict heatmaps at 1/2, 1/1...

Module names follow the official code and MMPose 0.x
(``final_layers.<i>``, ``deconv_layers.<i>.0.{0,1}`` for the transposed
convolution and its batch norm, ``deconv_layers.<i>.<1+j>.0`` for the
basic blocks), so their checkpoints' head weights load as they are.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType
from ...backbones.resnet import BasicBlock
from ..base_head import BaseHead, check_in_channels
from .ae_head import (check_positive_int, gather_bottomup_targets,
                      heatmap_loss, tag_channels)
from .bottomup_predict import BottomupPredictMixin, resize_maps
from .heatmap_head import _DECONV_PADDING

_FINAL_PADDING = {1: 0, 3: 1}


def _as_list(head: object, name: str, value: object, length: int) -> list:
    """``value`` as a list of ``length`` entries.

    Raises:
        ValueError: it is not a sequence of that length; names ``name``.
    """
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise ValueError(f'{type(head).__name__}: {name} must be a list of '
                         f'num_deconvs={length} entries, got {value!r}')
    return list(value)


def make_deconv_stage(in_channels: int, out_channels: int, kernel_size: int,
                      num_basic_blocks: int) -> nn.Sequential:
    """One 2x upsampling stage: ConvTranspose2d + BN + ReLU, then
    ``num_basic_blocks`` residual blocks at ``out_channels``.

    Raises:
        ValueError: ``kernel_size`` is not 2, 3 or 4.
    """
    if kernel_size not in _DECONV_PADDING:
        raise ValueError(f'HigherHRNetHead: kernel_size entries must be one '
                         f'of {sorted(_DECONV_PADDING)} (an exact 2x '
                         f'upsampling), got {kernel_size!r}')
    padding, output_padding = _DECONV_PADDING[kernel_size]
    up = nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=2,
                           padding=padding, output_padding=output_padding,
                           bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
    # each block sits in its own Sequential: that is where the official
    # checkpoints' names put it
    blocks = [nn.Sequential(BasicBlock(out_channels, out_channels))
              for _ in range(num_basic_blocks)]
    return nn.Sequential(up, *blocks)


@MODELS.register_module()
class HigherHRNetHead(BottomupPredictMixin, BaseHead):
    """Multi-resolution associative embedding head.

    ``forward(feats)`` takes ``feats[-1] (B, in_channels, h, w)`` (the
    1/4-resolution feature) and returns a list of ``1 + num_deconvs``
    maps: level 0 ``(B, K + T, h, w)`` (heatmaps then tags, ``T = K *
    tag_dim`` or ``tag_dim``), level ``i`` ``(B, K, h * 2**i, w * 2**i)``.
    Deconv stage ``i`` takes the previous feature, concatenated with the
    whole level-``i`` output when ``cat_output[i]``.

    Training: heatmap loss at every level against
    ``gt_fields.heatmaps[l]`` (masked by ``gt_fields.heatmap_mask[l]``),
    weighted by ``keypoint_loss_weights[l]`` and summed into
    ``loss_kpt``; associative embedding loss on the level-0 tags with
    ``keypoint_indices[0]`` (``loss_pull``, ``loss_push``).
    Prediction: every level's heatmaps are resized to the last level's size
    and averaged, the level-0 tags resized likewise, then decoded as in
    :class:`BottomupPredictMixin` (so the decoder sees maps of the last
    level's size, or of the input size with ``restore_heatmap_size``).

    Args:
        in_channels: channels of the input feature.
        num_keypoints: K.
        tag_dim / tag_per_keypoint: as in AssociativeEmbeddingHead.
        num_deconvs: number of 2x upsampling stages.
        num_channels: output channels of each stage.
        kernel_size: transposed-convolution kernel of each stage (2, 3, 4).
        num_basic_blocks: residual blocks after each upsampling.
        cat_output: per stage, whether its input gets the previous level's
            output concatenated.
        final_conv_kernel: kernel of the final convolutions (1 or 3).
        keypoint_loss / tag_loss: loss configs.
        keypoint_loss_weights: factor of each level's heatmap loss (None:
            1 for every level).
        decoder: an ``AssociativeEmbedding`` codec config.
        init_cfg: defaults to N(0, 0.001) for the transposed and final
            convolutions (zero bias), unit batch norms, PyTorch's default
            for the residual blocks' convolutions (as the official code).

    Raises:
        ValueError: a list argument of the wrong length, an unsupported
            kernel, or a non-positive count.
    """

    def __init__(self, in_channels: int, num_keypoints: int,
                 tag_dim: int = 1, tag_per_keypoint: bool = True,
                 num_deconvs: int = 1, num_channels: Sequence[int] = (32, ),
                 kernel_size: Sequence[int] = (4, ),
                 num_basic_blocks: int = 4,
                 cat_output: Sequence[bool] = (True, ),
                 final_conv_kernel: int = 1,
                 keypoint_loss: ConfigType = dict(type='KeypointMSELoss'),
                 tag_loss: ConfigType = dict(
                     type='AssociativeEmbeddingLoss'),
                 keypoint_loss_weights: Optional[Sequence[float]] = None,
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        self.in_channels = check_in_channels(self, in_channels)
        self.num_keypoints = check_positive_int(self, 'num_keypoints',
                                                num_keypoints)
        self.tag_dim = check_positive_int(self, 'tag_dim', tag_dim)
        self.tag_per_keypoint = tag_per_keypoint
        if isinstance(num_deconvs, bool) or not isinstance(
                num_deconvs, int) or num_deconvs < 0:
            raise ValueError(f'HigherHRNetHead: num_deconvs must be an int '
                             f'>= 0, got {num_deconvs!r}')
        if isinstance(num_basic_blocks, bool) or not isinstance(
                num_basic_blocks, int) or num_basic_blocks < 0:
            raise ValueError(f'HigherHRNetHead: num_basic_blocks must be an '
                             f'int >= 0, got {num_basic_blocks!r}')
        if final_conv_kernel not in _FINAL_PADDING:
            raise ValueError(f'HigherHRNetHead: final_conv_kernel must be 1 '
                             f'or 3, got {final_conv_kernel!r}')
        self.num_deconvs = num_deconvs
        num_channels = _as_list(self, 'num_channels', num_channels,
                                num_deconvs)
        kernel_size = _as_list(self, 'kernel_size', kernel_size, num_deconvs)
        self.cat_output = _as_list(self, 'cat_output', cat_output,
                                   num_deconvs)
        if keypoint_loss_weights is None:
            keypoint_loss_weights = [1.0] * (num_deconvs + 1)
        self.keypoint_loss_weights = [float(w) for w in _as_list(
            self, 'keypoint_loss_weights (one per level, i.e. num_deconvs '
            '+ 1)', keypoint_loss_weights, num_deconvs + 1)]

        level_out = [num_keypoints + tag_channels(
            num_keypoints, tag_dim, tag_per_keypoint)]
        level_out += [num_keypoints] * num_deconvs
        feat_channels = [in_channels] + num_channels
        pad = _FINAL_PADDING[final_conv_kernel]
        self.final_layers = nn.ModuleList([
            nn.Conv2d(c, out, final_conv_kernel, padding=pad)
            for c, out in zip(feat_channels, level_out)])
        self.deconv_layers = nn.ModuleList([
            make_deconv_stage(
                feat_channels[i] + (level_out[i] if self.cat_output[i]
                                    else 0),
                num_channels[i], kernel_size[i], num_basic_blocks)
            for i in range(num_deconvs)])

        self.loss_module = nn.ModuleDict(dict(
            keypoint_loss=MODELS.build(keypoint_loss),
            tag_loss=MODELS.build(tag_loss)))
        self.decoder = decoder

    @property
    def default_init_cfg(self) -> list:
        return [dict(type='Normal', layer='ConvTranspose2d', std=0.001,
                     override=dict(type='Normal', name='final_layers',
                                   std=0.001, bias=0)),
                dict(type='Constant', layer='BatchNorm2d', val=1)]

    def forward(self, feats: Tuple[Tensor, ...]) -> List[Tensor]:
        """Outputs of every level, level 0 (1/4 resolution) first."""
        x = feats[-1]
        y = self.final_layers[0](x)
        outputs = [y]
        for i, stage in enumerate(self.deconv_layers):
            if self.cat_output[i]:
                x = torch.cat([x, y], dim=1)
            x = stage(x)
            y = self.final_layers[i + 1](x)
            outputs.append(y)
        return outputs

    def predict_maps(self, feats: Tuple[Tensor, ...],
                     align_corners: bool = False) -> Tuple[Tensor, Tensor]:
        """Heatmaps averaged over the levels and level-0 tags, both at the
        last level's resolution."""
        outputs = self.forward(feats)
        k = self.num_keypoints
        size_hw = tuple(outputs[-1].shape[-2:])
        heatmaps = sum(resize_maps(out[:, :k], size_hw, align_corners)
                       for out in outputs) / len(outputs)
        tags = resize_maps(outputs[0][:, k:], size_hw, align_corners)
        return heatmaps, tags

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` (weighted sum over levels of the masked heatmap
        loss), ``loss_pull`` and ``loss_push`` (level-0 tags).

        Raises:
            ValueError: the samples' targets have a different number of
                levels than the head's outputs (and the errors of
                :func:`gather_bottomup_targets`).
        """
        outputs = self.forward(feats)
        k = self.num_keypoints
        for i, sample in enumerate(batch_data_samples):
            maps = sample.get('gt_fields', {}).get('heatmaps', None)
            if isinstance(maps, (list, tuple)) and len(maps) != len(outputs):
                raise ValueError(
                    f'data sample {i} has target heatmaps for {len(maps)} '
                    f'levels but HigherHRNetHead predicts {len(outputs)} '
                    '(one GenerateTarget encoder per level is needed)')
        loss_kpt = 0.
        indices = None
        for level, (out, weight) in enumerate(zip(
                outputs, self.keypoint_loss_weights)):
            gt, mask, level_indices = gather_bottomup_targets(
                batch_data_samples, level=level)
            if level == 0:
                indices = level_indices
            loss_kpt = loss_kpt + weight * heatmap_loss(
                self.loss_module.keypoint_loss, out[:, :k], gt, mask)
        tags = self.per_keypoint_tags(outputs[0][:, k:])
        pull, push = self.loss_module.tag_loss(
            tags, [i.to(tags.device) for i in indices])
        return dict(loss_kpt=loss_kpt, loss_pull=pull, loss_push=push)

