"""Base class of posekit heads."""
from abc import ABCMeta, abstractmethod
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from posekit.registry import KEYPOINT_CODECS
from posekit.utils.typing import (ConfigType, Features, InstanceList,
                                  OptConfigType, OptSampleList, Predictions)


def _per_sample_numpy(outputs: Union[Tensor, Tuple[Tensor, ...]]) -> list:
    """Split batched outputs into per-sample numpy arrays (tuples of arrays
    for multi-tensor outputs such as SimCC's (x, y))."""
    if isinstance(outputs, (tuple, list)):
        parts = [o.detach().float().cpu().numpy() for o in outputs]
        return [tuple(p[i] for p in parts) for i in range(len(parts[0]))]
    return list(outputs.detach().float().cpu().numpy())


def check_in_channels(head: object, in_channels: object) -> int:
    """``in_channels`` as an int.

    Raises:
        TypeError: it is not an int (these heads take one feature map).
    """
    if isinstance(in_channels, bool) or not isinstance(in_channels, int):
        raise TypeError(f'{type(head).__name__} takes one feature map: '
                        f'in_channels must be an int, got {in_channels!r}')
    return in_channels


def check_size(head: object, name: str, value: object
               ) -> Tuple[int, int]:
    """``value`` as a ``(w, h)`` tuple of positive ints.

    Raises:
        ValueError: it is not two positive integers; names ``name``.
    """
    size = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(size) != 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool)
            and s > 0 for s in size):
        raise ValueError(f'{type(head).__name__}: {name} must be (w, h), two '
                         f'positive ints, got {value!r}')
    return int(size[0]), int(size[1])


class BaseHead(BaseModule, metaclass=ABCMeta):
    """A head turns backbone/neck features into outputs (``forward``),
    losses against codec targets (``loss``) and decoded keypoints in input
    pixels (``predict``).

    ``decoder`` is the codec that decodes outputs: set it to a
    ``KEYPOINT_CODECS`` config (built on assignment), a codec object or
    None.
    """

    _decoder: Any = None

    @property
    def decoder(self) -> Any:
        """The keypoint codec used by :meth:`decode` (or None)."""
        return self._decoder

    @decoder.setter
    def decoder(self, value: Union[OptConfigType, Any]) -> None:
        if isinstance(value, (dict, ConfigDict)):
            value = KEYPOINT_CODECS.build(value)
        elif value is not None and not hasattr(value, 'decode'):
            raise TypeError(f'{type(self).__name__}.decoder must be a codec '
                            'config dict, a codec with a decode() method or '
                            f'None, got {type(value).__name__}')
        self._decoder = value

    @abstractmethod
    def forward(self, feats: Tuple[Tensor, ...]) -> Any:
        """Raw outputs for a tuple of feature maps."""

    @abstractmethod
    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Decoded predictions, one :class:`InstanceData` per sample with
        ``keypoints`` in input pixels (and optionally per-sample
        :class:`PixelData` of dense outputs)."""

    @abstractmethod
    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """Dict of loss tensors (and accuracies) for a batch."""

    def decode(self, batch_outputs: Union[Tensor, Tuple[Tensor, ...]]
               ) -> InstanceList:
        """Decode a batch of outputs with :attr:`decoder`.

        Uses the codec's ``batch_decode(batch_outputs)`` when it sets
        ``support_batch_decoding``, else its ``decode`` on each sample (as
        numpy; the parts of a tuple output become separate arguments).
        Returns one ``InstanceData(keypoints (N, K, D) in input pixels,
        keypoint_scores (N, K))`` per sample, with
        ``keypoints_visible`` too when the codec decodes visibility.

        Raises:
            ValueError: the head has no decoder.
        """
        if self.decoder is None:
            raise ValueError(
                f'{type(self).__name__} has no decoder, so it cannot decode '
                'predictions: add decoder=dict(type=...) (a registered '
                'keypoint codec) to the head config')
        if getattr(self.decoder, 'support_batch_decoding', False):
            # posekit codecs take a multi-part output as one tuple argument
            keypoints, scores = self.decoder.batch_decode(batch_outputs)
            if isinstance(scores, tuple) and len(scores) == 2:
                scores, visible = scores
            else:
                visible = [None] * len(keypoints)
        else:
            keypoints, scores, visible = [], [], []
            for outputs in _per_sample_numpy(batch_outputs):
                sample_args = outputs if isinstance(outputs, tuple) \
                    else (outputs, )
                kpts, score = self.decoder.decode(*sample_args)
                vis: Optional[np.ndarray] = None
                if isinstance(score, tuple) and len(score) == 2:
                    score, vis = score
                keypoints.append(kpts)
                scores.append(score)
                visible.append(vis)
        preds = []
        for kpts, score, vis in zip(keypoints, scores, visible):
            inst = InstanceData(keypoints=kpts, keypoint_scores=score)
            if vis is not None:
                inst.keypoints_visible = vis
            preds.append(inst)
        return preds
