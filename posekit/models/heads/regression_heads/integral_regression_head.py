"""Top-down integral regression head of IPR (Sun et al., 2018): heatmaps
turned into coordinates by a soft-argmax (the expectation of a spatial
softmax), optionally with the debiasing of Gu et al. (2021)."""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_conv_layer
from mmengine.structures import PixelData
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, Features, OptConfigType,
                                  OptSampleList, Predictions)
from ...utils.tta import flip_coordinates, flip_heatmaps, flip_test_metainfo
from ..base_head import BaseHead, check_in_channels, check_size
from ..heatmap_heads import HeatmapHead
from .regression_head import coord_accuracy, gather_instance_labels

OptIntSeq = Optional[Sequence[int]]


@MODELS.register_module()
class IntegralRegressionHead(BaseHead):
    """Integral regression head: ``feats[-1] (B, in_channels, h, w)`` ->
    coordinates ``(B, K, 2)`` normalised by the heatmap (= input) size,
    and the softmax heatmaps ``(B, K, H, W)`` they are the expectation of.

    Heatmap cell ``i`` of a row of width ``W`` stands for the normalised
    coordinate ``i / W``, so the decoder's ``x * input_w`` lands on the
    input pixel ``i * stride``, as with MSRA heatmaps.

    Args:
        in_channels: channels of the last feature map.
        in_featuremap_size: ``(w, h)`` of that feature map.
        num_joints: number of keypoints K.
        debias: remove the bias that the softmax's mass far from the peak
            puts on the expectation (Gu et al., 2021).
        beta: factor on the features before the softmax (sharpness).
        deconv_out_channels / deconv_kernel_sizes / conv_out_channels /
            conv_kernel_sizes / final_layer: as :class:`HeatmapHead`; with
            deconvs these layers are a ``HeatmapHead`` named
            ``simplebaseline_head``, else ``final_layer`` alone (a conv to
            K channels, or None to use the features as they are).
        loss: config of the coordinate loss, called as ``loss(pred (B, K,
            2), labels (B, K, 2), weights (B, K))``.
        decoder: config of the codec used in :meth:`predict`.
        init_cfg: mmengine initialisation config.

    Raises:
        TypeError: ``in_channels`` is not an int.
        ValueError: ``in_featuremap_size`` is not two positive ints.
    """

    _version = 2

    def __init__(self, in_channels: int, in_featuremap_size: Tuple[int, int],
                 num_joints: int, debias: bool = False, beta: float = 1.0,
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 conv_out_channels: OptIntSeq = None,
                 conv_kernel_sizes: OptIntSeq = None,
                 final_layer: Optional[dict] = dict(kernel_size=1),
                 loss: ConfigType = dict(type='SmoothL1Loss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        self.in_channels = check_in_channels(self, in_channels)
        size = check_size(self, 'in_featuremap_size', in_featuremap_size)
        self.num_joints = num_joints
        self.debias = debias
        self.beta = beta
        self.loss_module = MODELS.build(loss)
        self.decoder = decoder

        num_deconv = len(deconv_out_channels) if deconv_out_channels else 0
        if num_deconv:
            self.simplebaseline_head = HeatmapHead(
                in_channels=in_channels, out_channels=num_joints,
                deconv_out_channels=deconv_out_channels,
                deconv_kernel_sizes=deconv_kernel_sizes,
                conv_out_channels=conv_out_channels,
                conv_kernel_sizes=conv_kernel_sizes, final_layer=final_layer)
            self.heatmap_size = tuple(s * 2**num_deconv for s in size)
        else:
            self.simplebaseline_head = None
            if final_layer is not None:
                cfg = dict(type='Conv2d', in_channels=in_channels,
                           out_channels=num_joints, kernel_size=1)
                cfg.update(final_layer)
                self.final_layer = build_conv_layer(cfg)
            else:
                self.final_layer = None
            self.heatmap_size = size

        w, h = self.heatmap_size
        # fixed grids, kept in the state dict under MMPose's names
        self.register_buffer('linspace_x',
                             (torch.arange(w, dtype=torch.float32) /
                              w).reshape(1, 1, 1, w))
        self.register_buffer('linspace_y',
                             (torch.arange(h, dtype=torch.float32) /
                              h).reshape(1, 1, h, 1))
        self._register_load_state_dict_pre_hook(self._upgrade_state_dict)

    @property
    def default_init_cfg(self) -> list:
        return [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

    def _heatmap_logits(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Unnormalised heatmaps ``(B, K, H, W)``.

        Raises:
            ValueError: their size is not ``heatmap_size``.
        """
        if self.simplebaseline_head is not None:
            x = self.simplebaseline_head(feats)
        else:
            x = feats[-1]
            if self.final_layer is not None:
                x = self.final_layer(x)
        w, h = self.heatmap_size
        if tuple(x.shape[-2:]) != (h, w):
            raise ValueError(
                f'{type(self).__name__}: heatmaps of size (w, h) = '
                f'{(x.shape[-1], x.shape[-2])} do not match heatmap_size '
                f'{self.heatmap_size}; check in_featuremap_size (the (w, h) '
                'of the last feature map)')
        return x

    def forward(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """``(coords (B, K, 2) normalised, heatmaps (B, K, H, W))``: the
        softmax of ``beta * logits`` over each map and its expectation."""
        logits = self._heatmap_logits(feats)
        b, k, h, w = logits.shape
        heatmaps = (logits * self.beta).reshape(b, k, h * w).softmax(
            dim=-1).reshape(b, k, h, w)
        x = (heatmaps * self.linspace_x).sum(dim=(2, 3))
        y = (heatmaps * self.linspace_y).sum(dim=(2, 3))
        coords = torch.stack([x, y], dim=-1)
        if self.debias:
            # C = sum(exp(logits)) (unscaled, as MMPose); the debiased
            # value C / (C - 1) * (coords - 1 / (2C)) is written with 1 / C
            # from a log-sum-exp so large logits do not overflow to inf/inf
            inv_c = torch.exp(-torch.logsumexp(
                logits.reshape(b, k, h * w), dim=-1, keepdim=True))
            coords = (coords - 0.5 * inv_c) / (1 - inv_c)
        return coords, heatmaps

    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Keypoints in input pixels, one ``InstanceData`` per sample; with
        ``test_cfg.output_heatmaps`` also one ``PixelData(heatmaps=(K, H,
        W))`` per sample.

        With ``test_cfg.flip_test`` the coordinates (``shift_coords``,
        default True) and heatmaps (``shift_heatmap``, default False) of
        the flipped input are mapped back and averaged with the plain ones.

        Raises:
            ValueError: flip test without two feature sets, or no decoder.
            KeyError: flip test without ``flip_indices``/``input_size``.
        """
        if test_cfg.get('flip_test', False):
            flip_indices, input_size = flip_test_metainfo(
                feats, batch_data_samples, ('flip_indices', 'input_size'))
            coords, heatmaps = self.forward(feats[0])
            coords_f, heatmaps_f = self.forward(feats[1])
            coords_f = flip_coordinates(
                coords_f, flip_indices=flip_indices,
                shift_coords=test_cfg.get('shift_coords', True),
                input_size=input_size)
            heatmaps_f = flip_heatmaps(
                heatmaps_f, flip_indices=flip_indices, flip_mode='heatmap',
                shift_heatmap=test_cfg.get('shift_heatmap', False))
            coords = (coords + coords_f) * 0.5
            heatmaps = (heatmaps + heatmaps_f) * 0.5
        else:
            coords, heatmaps = self.forward(feats)
        preds = self.decode(coords.unsqueeze(1))
        if test_cfg.get('output_heatmaps', False):
            return preds, [PixelData(heatmaps=hm) for hm in heatmaps.detach()]
        return preds

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` of the coordinates against ``keypoint_labels`` and
        ``acc_pose`` (PCK@0.05 of the input size).

        Raises:
            KeyError: a sample lacks ``keypoint_labels`` or
                ``keypoint_weights``.
        """
        coords, _ = self.forward(feats)
        labels, weights = gather_instance_labels(
            batch_data_samples, ('keypoint_labels', 'keypoint_weights'))
        labels = labels.to(coords)
        weights = weights.to(coords)
        loss = self.loss_module(coords, labels, weights)
        return dict(loss_kpt=loss,
                    acc_pose=coord_accuracy(coords, labels, weights))

    def _upgrade_state_dict(self, state_dict: dict, prefix: str,
                            local_metadata: dict, *args, **kwargs) -> None:
        """Rename keys of checkpoints written before MMPose 1.0, where the
        deconvs were ``conv_layers.*`` and the last conv ``final_layer.*``
        of this head itself."""
        version = local_metadata.get('version')
        if (version is not None and version >= self._version) or \
                self.simplebaseline_head is None:
            return
        renames = {'conv_layers.': 'simplebaseline_head.deconv_layers.',
                   'final_layer.': 'simplebaseline_head.final_layer.'}
        for key in [k for k in state_dict if k.startswith(prefix)]:
            rest = key[len(prefix):]
            for old, new in renames.items():
                if rest.startswith(old):
                    state_dict[prefix + new + rest[len(old):]] = \
                        state_dict.pop(key)
                    break
