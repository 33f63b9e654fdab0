"""Top-down heatmap head of Simple Baselines (Xiao et al., 2018): strided
deconvolutions, optional convolutions and a final 1x1 convolution."""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_conv_layer
from mmengine.structures import PixelData
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, Features, OptConfigType,
                                  OptSampleList, Predictions)
from ...utils.accuracy import pose_pck_accuracy
from ...utils.tta import flip_heatmaps
from ..base_head import BaseHead, check_in_channels

OptIntSeq = Optional[Sequence[int]]

# kernel size -> (padding, output_padding) giving an exact 2x upsampling
_DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


def gather_heatmap_targets(batch_data_samples: Sequence
                           ) -> Tuple[Tensor, Tensor]:
    """Stack ``gt_fields.heatmaps`` ``(K, H, W)`` into ``(B, K, H, W)`` and
    concatenate ``gt_instance_labels.keypoint_weights`` ``(1, K)`` into
    ``(B, K)``.

    Raises:
        KeyError: a sample lacks one of the two fields.
    """
    heatmaps, weights = [], []
    for i, sample in enumerate(batch_data_samples):
        fields = sample.get('gt_fields')
        labels = sample.get('gt_instance_labels')
        if fields is None or 'heatmaps' not in fields:
            raise KeyError(f'data sample {i} has no gt_fields.heatmaps; the '
                           'pipeline must run GenerateTarget with a heatmap '
                           'codec before PackPoseInputs')
        if labels is None or 'keypoint_weights' not in labels:
            raise KeyError(f'data sample {i} has no gt_instance_labels.'
                           'keypoint_weights; the pipeline must run '
                           'GenerateTarget before PackPoseInputs')
        heatmaps.append(torch.as_tensor(fields.heatmaps))
        weights.append(torch.as_tensor(labels.keypoint_weights))
    return torch.stack(heatmaps), torch.cat(weights)


@MODELS.register_module()
class HeatmapHead(BaseHead):
    """Heatmap head: ``feats[-1] (B, in_channels, h, w)`` ->
    ``(B, out_channels, h * 2**n, w * 2**n)`` for n deconv layers.

    Args:
        in_channels: channels of the last feature map.
        out_channels: number of heatmaps (keypoints).
        deconv_out_channels: output channels of each stride-2 deconv
            (+BN+ReLU); None or empty for none.
        deconv_kernel_sizes: kernel size (4, 3 or 2) of each deconv.
        conv_out_channels: output channels of each conv (+BN+ReLU) after
            the deconvs; None for none.
        conv_kernel_sizes: kernel size of each conv.
        final_layer: arguments of the final conv (``kernel_size`` etc.);
            None for no final layer.
        loss: config of the heatmap loss.
        decoder: config of the keypoint codec used in :meth:`predict`.
        init_cfg: mmengine initialisation config; defaults to N(0, 0.001)
            convs and unit batch norms.

    Raises:
        ValueError: mismatched channel/kernel lists or an unsupported
            deconv kernel size.
    """

    _version = 2

    def __init__(self, in_channels: int, out_channels: int,
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 conv_out_channels: OptIntSeq = None,
                 conv_kernel_sizes: OptIntSeq = None,
                 final_layer: Optional[dict] = dict(kernel_size=1),
                 loss: ConfigType = dict(type='KeypointMSELoss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        self.in_channels = check_in_channels(self, in_channels)
        self.out_channels = out_channels
        self.loss_module = MODELS.build(loss)
        self.decoder = decoder

        channels = in_channels
        if deconv_out_channels:
            self._check_pairs('deconv', deconv_out_channels,
                              deconv_kernel_sizes)
            self.deconv_layers = self._make_deconv_layers(
                channels, deconv_out_channels, deconv_kernel_sizes)
            channels = deconv_out_channels[-1]
        else:
            self.deconv_layers = nn.Identity()
        if conv_out_channels:
            self._check_pairs('conv', conv_out_channels, conv_kernel_sizes)
            self.conv_layers = self._make_conv_layers(
                channels, conv_out_channels, conv_kernel_sizes)
            channels = conv_out_channels[-1]
        else:
            self.conv_layers = nn.Identity()
        if final_layer is not None:
            cfg = dict(type='Conv2d', in_channels=channels,
                       out_channels=out_channels, kernel_size=1)
            cfg.update(final_layer)
            self.final_layer = build_conv_layer(cfg)
        else:
            self.final_layer = nn.Identity()
        self._register_load_state_dict_pre_hook(self._upgrade_state_dict)

    @property
    def default_init_cfg(self) -> list:
        return [dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'],
                     std=0.001),
                dict(type='Constant', layer='BatchNorm2d', val=1)]

    @staticmethod
    def _check_pairs(kind: str, channels: Sequence[int],
                     kernels: OptIntSeq) -> None:
        if kernels is None or len(channels) != len(kernels):
            raise ValueError(f'{kind}_out_channels {tuple(channels)} and '
                             f'{kind}_kernel_sizes {kernels} must be int '
                             'sequences of the same length')

    @staticmethod
    def _make_deconv_layers(in_channels: int, out_channels: Sequence[int],
                            kernel_sizes: Sequence[int]) -> nn.Sequential:
        layers = []
        for cout, k in zip(out_channels, kernel_sizes):
            if k not in _DECONV_PADDING:
                raise ValueError(f'deconv kernel size must be one of '
                                 f'{sorted(_DECONV_PADDING)}, got {k}')
            pad, out_pad = _DECONV_PADDING[k]
            layers += [nn.ConvTranspose2d(in_channels, cout, k, stride=2,
                                          padding=pad, output_padding=out_pad,
                                          bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            in_channels = cout
        return nn.Sequential(*layers)

    @staticmethod
    def _make_conv_layers(in_channels: int, out_channels: Sequence[int],
                          kernel_sizes: Sequence[int]) -> nn.Sequential:
        layers = []
        for cout, k in zip(out_channels, kernel_sizes):
            layers += [nn.Conv2d(in_channels, cout, k, stride=1,
                                 padding=(k - 1) // 2),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            in_channels = cout
        return nn.Sequential(*layers)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Heatmaps ``(B, K, H, W)`` from the last of ``feats``."""
        x = feats[-1]
        return self.final_layer(self.conv_layers(self.deconv_layers(x)))

    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Decode heatmaps into keypoints in input pixels.

        With ``test_cfg.flip_test``, ``feats`` is ``[feats, feats_of_the_
        horizontally_flipped_input]``; the flipped heatmaps are mapped back
        (``flip_mode``, ``shift_heatmap``, the ``flip_indices`` of the first
        sample's metainfo) and averaged with the plain ones. With
        ``test_cfg.output_heatmaps`` also returns one
        ``PixelData(heatmaps=(K, H, W))`` per sample.

        Raises:
            ValueError: flip test without two feature sets.
            KeyError: flip test without ``flip_indices`` in the metainfo.
        """
        if test_cfg.get('flip_test', False):
            if not (isinstance(feats, list) and len(feats) == 2):
                raise ValueError('flip_test needs feats = [feats, '
                                 'flipped_feats] (a list of two)')
            if not batch_data_samples or \
                    'flip_indices' not in batch_data_samples[0].metainfo:
                raise KeyError('flip_test needs flip_indices in the data '
                               "samples' metainfo (add 'flip_indices' to "
                               "PackPoseInputs' meta_keys)")
            flip_indices = batch_data_samples[0].metainfo['flip_indices']
            heatmaps = self.forward(feats[0])
            flipped = flip_heatmaps(
                self.forward(feats[1]), flip_indices=flip_indices,
                flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                shift_heatmap=test_cfg.get('shift_heatmap', False))
            heatmaps = (heatmaps + flipped) * 0.5
        else:
            heatmaps = self.forward(feats)
        preds = self.decode(heatmaps)
        if test_cfg.get('output_heatmaps', False):
            fields = [PixelData(heatmaps=h) for h in heatmaps.detach()]
            return preds, fields
        return preds

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` (the loss module's value, or its dict) and
        ``acc_pose`` (PCK@0.05 of the heatmap maxima, keypoints with
        weight > 0)."""
        pred = self.forward(feats)
        gt, weights = gather_heatmap_targets(batch_data_samples)
        gt = gt.to(pred.device)
        weights = weights.to(pred.device)
        loss = self.loss_module(pred, gt, weights)
        losses = dict(loss) if isinstance(loss, dict) else dict(loss_kpt=loss)
        _, acc, _ = pose_pck_accuracy(
            pred.detach().float().cpu().numpy(),
            gt.detach().float().cpu().numpy(),
            mask=weights.detach().cpu().numpy() > 0)
        losses['acc_pose'] = torch.tensor(acc, device=gt.device)
        return losses

    def _upgrade_state_dict(self, state_dict: dict, prefix: str,
                            local_metadata: dict, *args, **kwargs) -> None:
        """Rename keys of pre-1.0 MMPose checkpoints, where ``final_layer``
        held the extra convs too (``final_layer.<i>.*``): the first ones
        become ``conv_layers.<i>.*``, the last conv ``final_layer.*``."""
        version = local_metadata.get('version')
        if version is not None and version >= self._version:
            return
        n_conv = len(self.conv_layers) \
            if isinstance(self.conv_layers, nn.Sequential) else 0
        for key in [k for k in state_dict if k.startswith(prefix)]:
            parts = key[len(prefix):].split('.')
            if parts[0] != 'final_layer' or len(parts) != 3:
                continue
            if int(parts[1]) < n_conv:
                new = f'{prefix}conv_layers.{parts[1]}.{parts[2]}'
            else:
                new = f'{prefix}final_layer.{parts[2]}'
            state_dict[new] = state_dict.pop(key)
