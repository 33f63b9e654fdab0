"""Base class of posekit pose estimators."""
from abc import ABCMeta, abstractmethod
from typing import Optional, Tuple, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModel
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, ForwardResults, MultiConfig,
                                  OptConfigType,
                                  OptMultiConfig, OptSampleList, SampleList)
from ..utils.batch_norm_errors import explain_batch_norm_error
from .auxiliary import (auxiliary_losses, build_auxiliary_heads,
                        ignore_auxiliary_weights)

_MODES = ('loss', 'predict', 'tensor')


class BasePoseEstimator(BaseModel, metaclass=ABCMeta):
    """A pose estimator: data preprocessor -> backbone -> neck -> head.

    Args:
        backbone: config of the backbone.
        neck: config of the neck (optional).
        head: config of the head (optional).
        train_cfg / test_cfg: runtime options passed to the head's
            ``loss`` / ``predict`` (e.g. ``flip_test``).
        data_preprocessor: config (or module) of the data preprocessor.
        use_syncbn: convert batch norms to SyncBatchNorm when a process
            group is initialised.
        init_cfg: mmengine initialisation config.
        metainfo: dataset meta information (e.g. ``dict(from_file=...)``)
            written into every data sample at prediction time.

    Children are built with posekit's ``MODELS`` registry, so a bad config
    names its key path (``model.backbone.type``).
    """

    _version = 2

    # whether inputs are image batches; the runner's model check (a dry run
    # on a dummy image) only applies to models that take images
    takes_images: bool = True

    def __init__(self, backbone: ConfigType, neck: OptConfigType = None,
                 head: OptConfigType = None, train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: Union[OptConfigType, nn.Module] = None,
                 use_syncbn: bool = False, init_cfg: OptMultiConfig = None,
                 metainfo: Optional[dict] = None):
        if isinstance(data_preprocessor, (dict, ConfigDict)):
            # build through posekit's registry for scope-free type names and
            # key-path errors
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.metainfo = self._load_metainfo(metainfo)
        self.train_cfg = train_cfg if train_cfg else {}
        self.test_cfg = test_cfg if test_cfg else {}
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        if head is not None:
            self.head = MODELS.build(head)
        if use_syncbn and torch.distributed.is_available() and \
                torch.distributed.is_initialized():
            nn.SyncBatchNorm.convert_sync_batchnorm(self)
        self._register_load_state_dict_pre_hook(self._upgrade_state_dict)

    @property
    def with_neck(self) -> bool:
        return getattr(self, 'neck', None) is not None

    @property
    def with_head(self) -> bool:
        return getattr(self, 'head', None) is not None

    @property
    def with_auxiliary_head(self) -> bool:
        return getattr(self, 'auxiliary_head', None) is not None

    def _init_auxiliary_heads(self, cfg: Optional[MultiConfig]) -> None:
        """Build the training-only ``auxiliary_head`` (one config or a
        list). With ``test_cfg.drop_auxiliary`` they are not built, and
        their weights in a loaded checkpoint are ignored."""
        if self.test_cfg.get('drop_auxiliary', False):
            self._register_load_state_dict_pre_hook(ignore_auxiliary_weights)
            return
        heads = build_auxiliary_heads(cfg)
        if heads is not None:
            self.auxiliary_head = heads

    def _auxiliary_losses(self, feats, inputs: Tensor,
                          data_samples: SampleList) -> dict:
        """Prefixed losses of the auxiliary heads ({} without any)."""
        if not self.with_auxiliary_head:
            return {}
        return auxiliary_losses(self.auxiliary_head, feats, inputs,
                                data_samples, self.train_cfg)

    @staticmethod
    def _load_metainfo(metainfo: Optional[dict]) -> Optional[dict]:
        """Parse dataset meta information (MMPose format).

        Raises:
            TypeError: ``metainfo`` is not a dict.
        """
        if metainfo is None:
            return None
        if not isinstance(metainfo, dict):
            raise TypeError('metainfo must be a dict (e.g. dict(from_file='
                            f'...)), got {type(metainfo).__name__}')
        # imported here: the datasets layer is only needed with metainfo
        from posekit.datasets.datasets.utils import parse_pose_metainfo
        return parse_pose_metainfo(metainfo)

    def forward(self, inputs: Union[Tensor, list],
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> ForwardResults:
        """Run the model in one of three modes.

        - ``'loss'``: dict of losses; needs ``data_samples`` with targets.
        - ``'predict'``: ``data_samples`` with ``pred_instances`` in
          original-image pixels.
        - ``'tensor'``: the head's raw output (or the features without a
          head).

        Raises:
            ValueError: unknown ``mode``, or no ``data_samples`` in 'loss'
                or 'predict' mode.
            BatchTooSmallError: in 'loss' mode, a batch-norm layer got one
                value per channel (names the layer and
                ``train_dataloader.batch_size``).
        """
        if mode not in _MODES:
            raise ValueError(f'forward mode must be one of {_MODES}, got '
                             f'{mode!r}')
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if mode == 'tensor':
            return self._forward(inputs)
        if data_samples is None:
            raise ValueError(f"forward(mode='{mode}') needs data_samples")
        if mode == 'loss':
            try:
                return self.loss(inputs, data_samples)
            except ValueError as err:
                better = explain_batch_norm_error(err, self)
                if better is None:
                    raise
                raise better from err
        if self.metainfo is not None:
            for sample in data_samples:
                sample.set_metainfo(self.metainfo)
        return self.predict(inputs, data_samples)

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone (and neck) features of ``inputs (B, C, H, W)``."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def _forward(self, inputs: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        """Head output for ``inputs`` (features when there is no head)."""
        x = self.extract_feat(inputs)
        if self.with_head:
            x = self.head.forward(x)
        return x

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of the head plus prefixed losses of auxiliary heads (an
        estimator with other training signals overrides this)."""
        feats = self.extract_feat(inputs)
        losses = dict()
        if self.with_head:
            losses.update(self.head.loss(feats, data_samples,
                                         train_cfg=self.train_cfg))
        losses.update(self._auxiliary_losses(feats, inputs, data_samples))
        return losses

    def _test_features(self, inputs: Tensor):
        """Features of ``inputs``; with ``test_cfg.flip_test`` the list
        ``[feats, feats_of_the_mirrored_inputs]`` the heads expect."""
        if self.test_cfg.get('flip_test', False):
            return [self.extract_feat(inputs),
                    self.extract_feat(inputs.flip(-1))]
        return self.extract_feat(inputs)

    @staticmethod
    def _split_predictions(preds) -> tuple:
        """A head's predict output as ``(instances, fields or None)``."""
        return preds if isinstance(preds, tuple) else (preds, None)

    @abstractmethod
    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """Data samples with predictions in original-image pixels."""

    def _upgrade_state_dict(self, state_dict: dict, prefix: str,
                            local_metadata: dict, *args, **kwargs) -> None:
        """Rename pre-1.0 MMPose keys (``keypoint_head.*`` -> ``head.*``)."""
        version = local_metadata.get('version')
        if version is not None and version >= self._version:
            return
        old = prefix + 'keypoint_head.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + 'head.' + key[len(old):]] = \
                state_dict.pop(key)
