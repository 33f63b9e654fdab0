"""The modules that get exported: raw network outputs, or a top-down
model with its whole post-processing (flip test, decoding, mapping to
the original image).

Both take **raw pixels**: a float ``(N, 3, H, W)`` crop with values in
0..255, channels in the order the test pipeline gives them (BGR for
``LoadImage``). The data preprocessor's channel swap, ``(x - mean) /
std`` and padding are the first operations of the graph.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor, ImgDataPreprocessor
from torch import Tensor, nn

from posekit.codecs import (IntegralRegressionLabel, MSRAHeatmap,
                            RegressionLabel, SimCCLabel, UDPHeatmap)
from posekit.models.heads import (HeatmapHead, IntegralRegressionHead,
                                  RegressionHead, RLEHead, SimCCHead)
from posekit.models.pose_estimators import TopdownPoseEstimator
from posekit.models.utils.tta import (flip_coordinates, flip_heatmaps,
                                      flip_vectors)
from .coord_decoders import RegressionDecoder, SimCCDecoder
from .heatmap_decoders import MSRAHeatmapDecoder, UDPHeatmapDecoder

# head kind -> (its predict method, the codecs it decodes with)
_HEAD_KINDS = {
    'heatmap': (HeatmapHead.predict, (MSRAHeatmap, UDPHeatmap)),
    'simcc': (SimCCHead.predict, (SimCCLabel, )),
    'regression': (RegressionHead.predict,
                   (RegressionLabel, IntegralRegressionLabel)),
    'integral': (IntegralRegressionHead.predict,
                 (IntegralRegressionLabel, RegressionLabel)),
}
# head kind -> names of its raw outputs
RAW_OUTPUT_NAMES = {'heatmap': ['heatmaps'], 'simcc': ['simcc_x', 'simcc_y'],
                    'regression': ['coords'],
                    'integral': ['coords', 'heatmaps']}
SUPPORTED = ('TopdownPoseEstimator with HeatmapHead + MSRAHeatmap '
             '(unbiased or not) or UDPHeatmap (gaussian or combined); '
             'SimCCHead + SimCCLabel; RegressionHead or RLEHead + '
             'RegressionLabel; IntegralRegressionHead or DSNTHead + '
             'IntegralRegressionLabel (and subclasses of these heads that '
             'keep their predict)')


class UnsupportedModelError(ValueError):
    """The model cannot be exported the way that was asked."""


class InputNormalizer(nn.Module):
    """What ``PoseDataPreprocessor`` does to a batch, as graph operations:
    ``(N, C, H, W)`` raw pixels -> channel swap (``bgr_to_rgb`` /
    ``rgb_to_bgr``), ``(x - mean) / std``, padding of the bottom/right to
    ``pad_size_divisor`` with ``pad_value``.

    Raises:
        UnsupportedModelError: a data preprocessor that is not mmengine's
            ``ImgDataPreprocessor`` (or a subclass such as posekit's).
    """

    def __init__(self, preprocessor: Optional[nn.Module]) -> None:
        super().__init__()
        self.swap = False
        self.normalize = False
        self.divisor, self.pad_value = 1, 0.
        if isinstance(preprocessor, ImgDataPreprocessor):
            self.swap = bool(preprocessor._channel_conversion)
            self.normalize = bool(preprocessor._enable_normalize)
            if self.normalize:
                self.register_buffer(
                    'mean', preprocessor.mean.detach().float().clone(),
                    False)
                self.register_buffer(
                    'std', preprocessor.std.detach().float().clone(), False)
            self.divisor = int(preprocessor.pad_size_divisor)
            self.pad_value = float(preprocessor.pad_value)
        elif preprocessor is not None and \
                type(preprocessor) is not BaseDataPreprocessor:
            raise UnsupportedModelError(
                f'model.data_preprocessor is a {type(preprocessor).__name__}'
                "; export supports PoseDataPreprocessor (mmengine's "
                'ImgDataPreprocessor and its subclasses)')

    def forward(self, pixels: Tensor) -> Tensor:
        x = pixels.float()
        if self.swap:
            x = x.flip(1)
        if self.normalize:
            x = (x - self.mean) / self.std
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % self.divisor, (-w) % self.divisor
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), value=self.pad_value)
        return x


def flatten_outputs(outputs) -> List[Tensor]:
    if isinstance(outputs, Tensor):
        return [outputs]
    if isinstance(outputs, (tuple, list)):
        return [t for o in outputs for t in flatten_outputs(o)]
    raise UnsupportedModelError(
        'the head returned a ' + type(outputs).__name__ + '; raw export '
        'needs tensors (or tuples/lists of tensors)')


def head_kind(model: nn.Module) -> Optional[str]:
    """Which supported head family ``model.head`` belongs to ('heatmap',
    'simcc', 'regression', 'integral'), judged by the ``predict`` it
    uses; None when none (or no head)."""
    head = getattr(model, 'head', None)
    for kind, (predict, _) in _HEAD_KINDS.items():
        if head is not None and type(head).predict is predict:
            return kind
    return None


class RawExportModel(nn.Module):
    """Raw pixels ``(N, C, H, W)`` -> the head's raw outputs (the backbone
    and neck features when the model has no head), as a flat tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not getattr(model, 'takes_images', True) or not hasattr(
                model, 'extract_feat'):
            raise UnsupportedModelError(
                f'{type(model).__name__} does not take images; export '
                'supports image models (top-down and bottom-up pose '
                'estimators)')
        self.normalize = InputNormalizer(getattr(model, 'data_preprocessor',
                                                 None))
        self.model = model

    def output_names(self) -> List[str]:
        """Names of the outputs for the known head kinds (else output0..)."""
        return list(RAW_OUTPUT_NAMES.get(head_kind(self.model), []))

    def forward(self, pixels: Tensor) -> Tuple[Tensor, ...]:
        feats = self.model.extract_feat(self.normalize(pixels))
        head = getattr(self.model, 'head', None)
        outputs = head.forward(feats) if head is not None else feats
        return tuple(flatten_outputs(outputs))


def check_decode_supported(model: nn.Module) -> str:
    """The head kind of a model that :class:`TopdownDecodeModel` can
    export.

    Raises:
        UnsupportedModelError: not a top-down estimator, an unsupported
            head or codec; the message lists what is supported.
    """
    name = type(model).__name__
    if not isinstance(model, TopdownPoseEstimator) or \
            type(model).predict is not TopdownPoseEstimator.predict:
        raise UnsupportedModelError(
            f'--with-decode exports top-down models only, got {name}; '
            f'supported: {SUPPORTED}. Export {name} without --with-decode '
            'to get the raw network outputs.')
    kind = head_kind(model)
    head = getattr(model, 'head', None)
    if kind is None:
        raise UnsupportedModelError(
            f'--with-decode cannot export model.head of type '
            f'{type(head).__name__}; supported: {SUPPORTED}')
    codec = head.decoder
    if codec is None:
        raise UnsupportedModelError(
            f'--with-decode needs the codec that decodes '
            f'{type(head).__name__}, but model.head.decoder is None; set '
            'it in the config (e.g. the codec used to train the model)')
    if type(codec) not in _HEAD_KINDS[kind][1]:
        raise UnsupportedModelError(
            f'--with-decode cannot decode {type(head).__name__} with '
            f'model.head.decoder of type {type(codec).__name__}; '
            f'supported: {SUPPORTED}')
    if kind == 'regression' and type(head)._activate not in (
            RegressionHead._activate, RLEHead._activate):
        raise UnsupportedModelError(
            f'{type(head).__name__} changes how RegressionHead activates '
            f'its outputs; supported: {SUPPORTED}')
    return kind


def _build_decoder(codec) -> nn.Module:
    if isinstance(codec, MSRAHeatmap):
        return MSRAHeatmapDecoder(codec)
    if isinstance(codec, UDPHeatmap):
        return UDPHeatmapDecoder(codec)
    if isinstance(codec, SimCCLabel):
        return SimCCDecoder(codec)
    # RegressionLabel, IntegralRegressionLabel: the same decode
    return RegressionDecoder(codec)


class TopdownDecodeModel(nn.Module):
    """A top-down model with its post-processing, as posekit's predict
    path computes it.

    Inputs: ``pixels`` float ``(N, 3, h, w)``, the raw-pixel crop of each
    box (see ``docs/deployment.md`` for the warp), and ``bboxes`` float
    ``(N, 4)`` xyxy in image pixels. Outputs: ``keypoints`` ``(N, K, 2)``
    in image pixels and ``scores`` ``(N, K)``.

    The graph: normalisation -> backbone/neck/head (and, with
    ``model.test_cfg.flip_test``, the same on the mirrored crop, mapped
    back and averaged as the head's ``predict`` does) -> the codec's
    decoding -> box to center/scale (``bbox_padding``, aspect ratio of
    ``input_size``) -> ``input_to_image_coords``. Auxiliary heads are
    never run.

    Args:
        model: a :class:`TopdownPoseEstimator` (eval mode is set).
        input_size: ``(w, h)`` of the crop.
        bbox_padding: GetBBoxCenterScale's padding.
        flip_indices: the dataset's keypoint swap; needed with flip test.

    Raises:
        UnsupportedModelError: see :func:`check_decode_supported`.
        ValueError: flip test without ``flip_indices`` (indices of the
            wrong length fail when the graph first runs, naming both
            numbers).
    """

    def __init__(self, model: nn.Module, input_size: Tuple[int, int],
                 bbox_padding: float = 1.25,
                 flip_indices: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        self.kind = check_decode_supported(model)
        self.model = model.eval()
        self.normalize = InputNormalizer(model.data_preprocessor)
        self.decoder = _build_decoder(model.head.decoder)
        self.test_cfg: Dict = dict(model.test_cfg or {})
        self.flip_test = bool(self.test_cfg.get('flip_test', False))
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.bbox_padding = float(bbox_padding)
        if self.flip_test:
            if flip_indices is None:
                raise ValueError(
                    'model.test_cfg.flip_test is True but the flip indices '
                    'are unknown: give flip_indices, a config whose test '
                    'dataset has metainfo, or set '
                    'model.test_cfg.flip_test=False')
            flip_indices = [int(i) for i in flip_indices]
        self.flip_indices = flip_indices
        keep = self.test_cfg.get('output_keypoint_indices')
        self.register_buffer('keep', None if keep is None else torch.tensor(
            list(keep), dtype=torch.long), False)
        self.register_buffer('size', torch.tensor(self.input_size,
                                                  dtype=torch.float32), False)

    def forward(self, pixels: Tensor, bboxes: Tensor
                ) -> Tuple[Tensor, Tensor]:
        x = self.normalize(pixels)
        feats = self.model.extract_feat(x)
        flipped = self.model.extract_feat(x.flip(-1)) if self.flip_test \
            else None
        keypoints, scores = getattr(self, f'_{self.kind}')(feats, flipped)
        if self.keep is not None:
            keypoints = keypoints.index_select(1, self.keep)
            scores = scores.index_select(1, self.keep)
        return self._to_image(keypoints, bboxes.float()), scores

    def _to_image(self, keypoints: Tensor, bboxes: Tensor) -> Tensor:
        """Input pixels -> image pixels through each box's center and
        aspect-fixed, padded scale (as GetBBoxCenterScale, TopdownAffine
        and ``input_to_image_coords``)."""
        center = (bboxes[:, :2] + bboxes[:, 2:]) * 0.5
        scale = (bboxes[:, 2:] - bboxes[:, :2]) * self.bbox_padding
        aspect = self.input_size[0] / self.input_size[1]
        sw, sh = scale[:, 0], scale[:, 1]
        wider = sw > sh * aspect
        scale = torch.stack([torch.where(wider, sw, sh * aspect),
                             torch.where(wider, sw / aspect, sh)], -1)
        scale, center = scale.unsqueeze(1), center.unsqueeze(1)
        return keypoints / self.size * scale + center - 0.5 * scale

    # ---- the heads' predict, up to their codec's decode ----
    def _heatmap(self, feats, flipped) -> Tuple[Tensor, Tensor]:
        head = self.model.head
        heatmaps = head.forward(feats)
        if flipped is not None:
            mirrored = flip_heatmaps(
                head.forward(flipped), flip_indices=self.flip_indices,
                flip_mode=self.test_cfg.get('flip_mode', 'heatmap'),
                shift_heatmap=self.test_cfg.get('shift_heatmap', False))
            heatmaps = (heatmaps + mirrored) * 0.5
        return self.decoder(heatmaps)

    def _simcc(self, feats, flipped) -> Tuple[Tensor, Tensor]:
        head = self.model.head
        pred_x, pred_y = head.forward(feats)
        if flipped is not None:
            flip_x, flip_y = flip_vectors(*head.forward(flipped),
                                          flip_indices=self.flip_indices)
            pred_x = (pred_x + flip_x) * 0.5
            pred_y = (pred_y + flip_y) * 0.5
        return self.decoder(pred_x, pred_y)

    def _flip_coords(self, coords: Tensor) -> Tensor:
        return flip_coordinates(
            coords, flip_indices=self.flip_indices,
            shift_coords=self.test_cfg.get('shift_coords', True),
            input_size=self.input_size)

    def _regression(self, feats, flipped) -> Tuple[Tensor, Tensor]:
        head = self.model.head
        activate = isinstance(head, RLEHead)

        def act(out: Tensor) -> Tensor:
            # RLEHead: sigmoid on the sigma columns
            if not activate:
                return out
            return torch.cat([out[..., :2], out[..., 2:].sigmoid()], -1)

        coords = act(head.forward(feats))
        if flipped is not None:
            mirrored = act(self._flip_coords(head.forward(flipped)))
            coords = (coords + mirrored) * 0.5
        return self.decoder(coords)

    def _integral(self, feats, flipped) -> Tuple[Tensor, Tensor]:
        head = self.model.head
        coords, _ = head.forward(feats)
        if flipped is not None:
            mirrored, _ = head.forward(flipped)
            coords = (coords + self._flip_coords(mirrored)) * 0.5
        return self.decoder(coords)


def export_module(model: nn.Module, with_decode: bool,
                  input_size: Tuple[int, int], bbox_padding: float = 1.25,
                  flip_indices: Optional[Sequence[int]] = None
                  ) -> Union[RawExportModel, TopdownDecodeModel]:
    """The module to export for ``model`` (see the two classes)."""
    if with_decode:
        return TopdownDecodeModel(model, input_size, bbox_padding,
                                  flip_indices)
    return RawExportModel(model.eval())


__all__ = ['InputNormalizer', 'RawExportModel', 'TopdownDecodeModel',
           'UnsupportedModelError', 'check_decode_supported', 'head_kind',
           'flatten_outputs', 'export_module', 'SUPPORTED',
           'RAW_OUTPUT_NAMES']
