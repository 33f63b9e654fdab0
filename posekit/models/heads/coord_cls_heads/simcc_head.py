"""Top-down SimCC head (Li et al., 2022): keypoint coordinates as two 1-D
classifications, over sub-pixel bins of the input's x and y axes."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.cnn import build_conv_layer
from mmengine.structures import PixelData
from torch import Tensor, nn

from posekit.codecs.utils import get_simcc_normalized
from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, Features, OptConfigType,
                                  OptSampleList, Predictions)
from ...utils.accuracy import simcc_pck_accuracy
from ...utils.tta import flip_test_metainfo, flip_vectors
from ..base_head import BaseHead, check_in_channels, check_size
from ..heatmap_heads import HeatmapHead
from ..regression_heads.regression_head import gather_instance_labels

OptIntSeq = Optional[Sequence[int]]
_DECONV_TYPES = ('heatmap', 'vipnas')


@MODELS.register_module()
class SimCCHead(BaseHead):
    """SimCC head: ``feats[-1] (B, in_channels, h, w)`` -> optional
    deconvs and a conv to K maps -> each map flattened -> ``mlp_head_x``
    and ``mlp_head_y`` -> ``(B, K, input_w * r)`` and ``(B, K, input_h *
    r)`` logits, r = ``simcc_split_ratio``.

    Args:
        in_channels: channels of the last feature map.
        out_channels: number of keypoints K.
        input_size: ``(w, h)`` of the input image.
        in_featuremap_size: ``(w, h)`` of the last feature map.
        simcc_split_ratio: bins per input pixel.
        deconv_type: ``'heatmap'`` (the deconvs of :class:`HeatmapHead`) or
            ``'vipnas'`` (those of a registered ``ViPNASHead``, which takes
            ``deconv_num_groups``).
        deconv_out_channels / deconv_kernel_sizes / conv_out_channels /
            conv_kernel_sizes / final_layer: as :class:`HeatmapHead`; with
            deconvs these layers form ``deconv_head``, else ``final_layer``
            alone (a conv to K channels, or None).
        deconv_num_groups: groups of each deconv (``'vipnas'`` only).
        loss: config of the loss, called as ``loss((pred_x, pred_y),
            (gt_x, gt_y), weights (B, K))``.
        decoder: config of the codec (``SimCCLabel``) used in
            :meth:`predict`.
        init_cfg: mmengine initialisation config; defaults to N(0, 0.001)
            convs, unit batch norms and N(0, 0.01) linear layers.

    Raises:
        TypeError: ``in_channels`` is not an int.
        ValueError: unknown ``deconv_type``, or a size that is not (w, h).
    """

    _version = 2

    def __init__(self, in_channels: int, out_channels: int,
                 input_size: Tuple[int, int],
                 in_featuremap_size: Tuple[int, int],
                 simcc_split_ratio: float = 2.0,
                 deconv_type: str = 'heatmap',
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 deconv_num_groups: OptIntSeq = (16, 16, 16),
                 conv_out_channels: OptIntSeq = None,
                 conv_kernel_sizes: OptIntSeq = None,
                 final_layer: Optional[dict] = dict(kernel_size=1),
                 loss: ConfigType = dict(type='KLDiscretLoss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        if deconv_type not in _DECONV_TYPES:
            raise ValueError(f'SimCCHead: deconv_type must be one of '
                             f'{_DECONV_TYPES}, got {deconv_type!r}')
        self.in_channels = check_in_channels(self, in_channels)
        self.out_channels = out_channels
        self.input_size = check_size(self, 'input_size', input_size)
        self.in_featuremap_size = check_size(self, 'in_featuremap_size',
                                             in_featuremap_size)
        self.simcc_split_ratio = simcc_split_ratio
        self.loss_module = MODELS.build(loss)
        self.decoder = decoder

        num_deconv = len(deconv_out_channels) if deconv_out_channels else 0
        if num_deconv:
            self.deconv_head = self._make_deconv_head(
                deconv_type, deconv_out_channels=deconv_out_channels,
                deconv_kernel_sizes=deconv_kernel_sizes,
                deconv_num_groups=deconv_num_groups,
                conv_out_channels=conv_out_channels,
                conv_kernel_sizes=conv_kernel_sizes, final_layer=final_layer)
            self.heatmap_size = tuple(s * 2**num_deconv
                                      for s in self.in_featuremap_size)
        else:
            self.deconv_head = None
            if final_layer is not None:
                cfg = dict(type='Conv2d', in_channels=in_channels,
                           out_channels=out_channels, kernel_size=1)
                cfg.update(final_layer)
                self.final_layer = build_conv_layer(cfg)
            else:
                self.final_layer = None
            self.heatmap_size = self.in_featuremap_size

        flatten_dims = self.heatmap_size[0] * self.heatmap_size[1]
        self.mlp_head_x = nn.Linear(
            flatten_dims, int(self.input_size[0] * simcc_split_ratio))
        self.mlp_head_y = nn.Linear(
            flatten_dims, int(self.input_size[1] * simcc_split_ratio))

    @property
    def default_init_cfg(self) -> list:
        return [dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'],
                     std=0.001),
                dict(type='Constant', layer='BatchNorm2d', val=1),
                dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

    def _make_deconv_head(self, deconv_type: str, deconv_num_groups: OptIntSeq,
                          **kwargs) -> nn.Module:
        """The deconv (+conv +final conv) layers as a heatmap head."""
        if deconv_type == 'heatmap':
            return HeatmapHead(in_channels=self.in_channels,
                               out_channels=self.out_channels, **kwargs)
        if MODELS.get('ViPNASHead') is None:
            raise ValueError("SimCCHead(deconv_type='vipnas') needs a "
                             "registered 'ViPNASHead', and posekit has none; "
                             "use deconv_type='heatmap'")
        kwargs.pop('deconv_kernel_sizes')
        return MODELS.build(dict(type='ViPNASHead',
                                 in_channels=self.in_channels,
                                 out_channels=self.out_channels,
                                 deconv_num_groups=deconv_num_groups,
                                 **kwargs))

    def forward(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """``(pred_x (B, K, Wx), pred_y (B, K, Wy))`` logits.

        Raises:
            ValueError: the maps before the MLPs are not ``heatmap_size``.
        """
        if self.deconv_head is not None:
            x = self.deconv_head(feats)
        else:
            x = feats[-1]
            if self.final_layer is not None:
                x = self.final_layer(x)
        w, h = self.heatmap_size
        if tuple(x.shape[-2:]) != (h, w):
            got = (x.shape[-1], x.shape[-2])
            raise ValueError(
                f'SimCCHead: maps of size (w, h) = {got} do not match '
                f'heatmap_size {self.heatmap_size}; check in_featuremap_size '
                '(the (w, h) of the last feature map)')
        x = torch.flatten(x, 2)
        return self.mlp_head_x(x), self.mlp_head_y(x)

    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Keypoints in input pixels, one ``InstanceData`` per sample.

        With ``test_cfg.flip_test`` the vectors of the flipped input are
        mapped back (:func:`flip_vectors`) and averaged with the plain
        ones. With ``test_cfg.output_heatmaps`` the instances also get the
        display-normalised vectors ``keypoint_x_labels (1, K, Wx)`` /
        ``keypoint_y_labels (1, K, Wy)`` and a ``PixelData(heatmaps=(K, Wy,
        Wx))`` per sample, their outer product.

        Raises:
            ValueError: flip test without two feature sets, or no decoder.
            KeyError: flip test without ``flip_indices`` in the metainfo.
        """
        if test_cfg.get('flip_test', False):
            flip_indices, = flip_test_metainfo(feats, batch_data_samples)
            pred_x, pred_y = self.forward(feats[0])
            flip_x, flip_y = flip_vectors(*self.forward(feats[1]),
                                          flip_indices=flip_indices)
            pred_x = (pred_x + flip_x) * 0.5
            pred_y = (pred_y + flip_y) * 0.5
        else:
            pred_x, pred_y = self.forward(feats)
        preds = self.decode((pred_x, pred_y))
        if not test_cfg.get('output_heatmaps', False):
            return preds
        sigma = getattr(self.decoder, 'sigma', None)
        sx, sy = (None, None) if sigma is None else (float(v) for v in (
            np.broadcast_to(np.asarray(sigma, dtype=np.float64), (2, ))))
        norm_x = get_simcc_normalized(pred_x.detach(), sx)
        norm_y = get_simcc_normalized(pred_y.detach(), sy)
        heatmaps = norm_y.unsqueeze(-1) * norm_x.unsqueeze(-2)
        for inst, vx, vy in zip(preds, norm_x.float().cpu().numpy(),
                                norm_y.float().cpu().numpy()):
            inst.keypoint_x_labels = vx[None]
            inst.keypoint_y_labels = vy[None]
        return preds, [PixelData(heatmaps=hm) for hm in heatmaps]

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` against ``keypoint_x_labels``/``keypoint_y_labels``
        and ``acc_pose`` (PCK@0.05 of the argmax bins, normalised by the
        input's (h, w) as MMPose).

        Raises:
            KeyError: a sample lacks one of the SimCC labels or
                ``keypoint_weights``.
        """
        pred_x, pred_y = self.forward(feats)
        gt_x, gt_y, weights = gather_instance_labels(
            batch_data_samples,
            ('keypoint_x_labels', 'keypoint_y_labels', 'keypoint_weights'))
        gt_x, gt_y, weights = (t.to(pred_x) for t in (gt_x, gt_y, weights))
        loss = self.loss_module((pred_x, pred_y), (gt_x, gt_y), weights)
        _, acc, _ = simcc_pck_accuracy(
            (pred_x.detach().float().cpu().numpy(),
             pred_y.detach().float().cpu().numpy()),
            (gt_x.cpu().float().numpy(), gt_y.cpu().float().numpy()),
            self.simcc_split_ratio, mask=weights.cpu().numpy() > 0)
        return dict(loss_kpt=loss, acc_pose=torch.tensor(acc,
                                                         device=gt_x.device))
