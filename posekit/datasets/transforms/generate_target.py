"""GenerateTarget: encode the sample's keypoints with the codec(s)."""
import copy
import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from posekit.registry import KEYPOINT_CODECS, TRANSFORMS
from posekit.utils.typing import MultiConfig

from .required_keys import MissingKeyError, check_required_keys

_TABLES = ('field_mapping_table', 'instance_mapping_table',
           'label_mapping_table')
# The dataset's per-keypoint loss weights: MMPose's metainfo name first,
# then posekit's metainfo name for the same list.
_WEIGHT_KEYS = ('dataset_keypoint_weights', 'joint_weights')


@TRANSFORMS.register_module()
class GenerateTarget(BaseTransform):
    """Encode ``transformed_keypoints`` (else ``keypoints``) (N, K, D) and
    ``keypoints_visible`` (N, K) with the codec built from ``encoder`` and
    merge the codec's outputs into the results (e.g. ``heatmaps``
    (K, h, w), ``keypoint_weights`` (N, K)).

    The codec's ``field_mapping_table``, ``instance_mapping_table`` and
    ``label_mapping_table`` (when not empty) are stored in the results so
    :class:`PackPoseInputs` routes each output to the right place.

    Args:
        encoder: codec config, or a list of them. Each is built with
            ``KEYPOINT_CODECS``.
        target_type: deprecated and ignored (MMPose kept it for old
            configs); a warning is issued when given.
        multilevel: with a list of encoders of one kind, store each output
            as a list (one entry per encoder). Without it, the encoders'
            outputs are merged; their ``keypoint_weights`` are kept as a
            list, and any other key appearing twice is an error.
        use_dataset_keypoint_weights: multiply ``keypoint_weights`` by the
            dataset's per-keypoint weights (``dataset_keypoint_weights``,
            else ``joint_weights``, (K,)).

    Raises:
        ValueError: a codec's ``input_size`` differs from the input size of
            the sample (``input_size`` set by TopdownAffine, else the image
            size); ``multilevel`` without a list; clashing outputs.
        MissingKeyError: no keypoints, no ``keypoints_visible``, or no
            dataset weights while ``use_dataset_keypoint_weights``.
    """

    def __init__(self, encoder: MultiConfig,
                 target_type: Optional[str] = None,
                 multilevel: bool = False,
                 use_dataset_keypoint_weights: bool = False) -> None:
        if target_type is not None:
            warnings.warn('GenerateTarget: target_type is deprecated and '
                          'ignored; the codec decides what is encoded.',
                          DeprecationWarning)
        self.encoder_cfg = copy.deepcopy(encoder)
        self.multilevel = multilevel
        self.use_dataset_keypoint_weights = use_dataset_keypoint_weights
        if isinstance(self.encoder_cfg, (list, tuple)):
            self.encoder = [KEYPOINT_CODECS.build(c)
                            for c in self.encoder_cfg]
        else:
            if multilevel:
                raise ValueError('GenerateTarget: multilevel=True needs a '
                                 'list of encoder configs, got one')
            self.encoder = KEYPOINT_CODECS.build(self.encoder_cfg)

    @property
    def _encoders(self) -> List[Any]:
        return self.encoder if isinstance(self.encoder, list) \
            else [self.encoder]

    def _check_input_size(self, results: dict) -> None:
        """Codec and sample must agree on the input size (w, h)."""
        if results.get('input_size') is not None:
            size = tuple(int(v) for v in results['input_size'])
            where = 'TopdownAffine input_size (results["input_size"])'
        elif isinstance(results.get('img'), np.ndarray):
            h, w = results['img'].shape[:2]
            size, where = (w, h), 'the image size (w, h)'
        else:
            return
        for i, codec in enumerate(self._encoders):
            codec_size = getattr(codec, 'input_size', None)
            if codec_size is None:
                continue
            codec_size = tuple(int(v) for v in codec_size)
            if codec_size != size:
                key = 'codec.input_size' if not isinstance(
                    self.encoder, list) else f'encoder[{i}].input_size'
                raise ValueError(
                    f'GenerateTarget: the codec {type(codec).__name__} has '
                    f'input_size {codec_size} but {where} is {size}; '
                    f'{key} (GenerateTarget.encoder) and TopdownAffine\'s '
                    'input_size must be the same (w, h)')

    def _encode(self, codec: Any, keypoints: np.ndarray,
                visible: np.ndarray, results: dict) -> Dict[str, Any]:
        aux = {k: results.get(k)
               for k in getattr(codec, 'auxiliary_encode_keys', ())}
        return codec.encode(keypoints=keypoints, keypoints_visible=visible,
                            **aux)

    def _combine(self, encoded: List[dict]) -> dict:
        """Merge the outputs of several encoders."""
        if self.multilevel:
            keys = set(encoded[0])
            for i, enc in enumerate(encoded[1:], 1):
                if set(enc) != keys:
                    raise ValueError(
                        'GenerateTarget: with multilevel=True every encoder '
                        f'must output the same keys; encoder[0] gives '
                        f'{sorted(keys)}, encoder[{i}] gives {sorted(enc)}')
            return {k: [enc[k] for enc in encoded] for k in encoded[0]}
        out: dict = {}
        weights = []
        for i, enc in enumerate(encoded):
            for key, value in enc.items():
                if key == 'keypoint_weights':
                    weights.append(value)
                elif key in out:
                    raise ValueError(
                        f'GenerateTarget: encoder[{i}] outputs {key!r} '
                        'which an earlier encoder also outputs; with '
                        'multilevel=False only keypoint_weights may repeat')
                else:
                    out[key] = value
        if weights:
            out['keypoint_weights'] = weights
        return out

    def _dataset_weights(self, results: dict) -> np.ndarray:
        for key in _WEIGHT_KEYS:
            if results.get(key) is not None:
                return np.asarray(results[key], dtype=np.float32)
        raise MissingKeyError(
            'GenerateTarget(use_dataset_keypoint_weights=True) needs the '
            f'dataset\'s keypoint weights in {" or ".join(_WEIGHT_KEYS)} '
            '(from the dataset metainfo), but neither is present. Keys '
            f'present: {sorted(map(str, results))}')

    def _pick_keypoints(self, results: dict) -> np.ndarray:
        for key in ('transformed_keypoints', 'keypoints'):
            if results.get(key) is not None:
                return np.asarray(results[key], dtype=np.float32)
        raise MissingKeyError(
            'GenerateTarget needs the key \'transformed_keypoints\' (set by '
            'TopdownAffine) or \'keypoints\' (from the dataset) in its '
            f'input, but neither is present. Keys present: '
            f'{sorted(map(str, results))}')

    def transform(self, results: dict) -> Optional[dict]:
        keypoints = self._pick_keypoints(results)
        check_required_keys(results, ['keypoints_visible'], self)
        self._check_input_size(results)
        visible = np.asarray(results['keypoints_visible'], dtype=np.float32)
        if visible.ndim == 3 and visible.shape[2] == 2:
            # (N, K, 2): visibility plus a per-keypoint loss weight.
            results['keypoints_visible_weights'] = visible[..., 1]
            visible = visible[..., 0]
            results['keypoints_visible'] = visible

        encoded = [self._encode(c, keypoints, visible, results)
                   for c in self._encoders]
        merged = encoded[0] if not isinstance(self.encoder, list) \
            else self._combine(encoded)
        for table in _TABLES:
            entries: dict = {}
            for codec in self._encoders:
                entries.update(getattr(codec, table, None) or {})
            if entries:
                merged[table] = entries

        if self.use_dataset_keypoint_weights and 'keypoint_weights' in merged:
            scale = self._dataset_weights(results)
            kw = merged['keypoint_weights']
            merged['keypoint_weights'] = [w * scale for w in kw] \
                if isinstance(kw, list) else kw * scale
        results.update(merged)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(encoder={self.encoder_cfg!r}, '
                f'multilevel={self.multilevel}, '
                'use_dataset_keypoint_weights='
                f'{self.use_dataset_keypoint_weights})')


__all__: Sequence[str] = ['GenerateTarget']
