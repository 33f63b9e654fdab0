"""SCTNet's semantic-guidance head: a frozen SegFormer teacher whose
features a CNN student learns to imitate. Training only.
"""
import logging
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import kaiming_init
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptMultiConfig
from .mit import build_mit
from .segformer_head import SegformerHead
from .teacher_checkpoint import load_teacher

# SCTNet's pairing of student widths with teachers
_DEFAULT_TEACHER = {32: 'mit-b2', 64: 'mit-b3'}
_TEACHERS = ('mit-b2', 'mit-b3')


def match_channel_stats(student: Tensor, teacher: Tensor) -> Tensor:
    """Give each channel of ``student (N, C, H, W)`` the mean and
    (unbiased) std over N, H, W of the same channel of ``teacher``."""
    dims = (0, 2, 3)
    normed = (student - student.mean(dims, keepdim=True)) / (
        student.std(dims, keepdim=True) + 1e-6)
    return normed * teacher.std(dims, keepdim=True) + \
        teacher.mean(dims, keepdim=True)


@MODELS.register_module()
class VitGuidanceHead(BaseModule):
    """Auxiliary head distilling a SegFormer teacher into SCTNet.

    Every training step the teacher (MiT encoder + SegformerHead, always in
    eval mode, under ``no_grad``) runs on the input batch and gives four
    targets: class logits and the fused 256-channel decoder feature at
    1/4, stage-4 (512 ch, 1/32) and stage-3 (320 ch, 1/16) features. The
    student's ``x_out`` is projected to 1024 channels (``feature_
    transforms``), upsampled to 1/4, given the teacher's per-channel
    statistics and passed through the teacher's own ``fusion_conv`` and
    classifier (gradients flow through them to the student; their weights
    stay frozen); ``x5`` and ``x3`` are projected to 512 and 320 channels
    (``convstage4``, ``convstage3``). ``loss_decode`` compares the pairs.

    The teacher has no trainable parameters (``requires_grad=False``), so
    optimizers never change it. Build the model with
    ``test_cfg=dict(drop_auxiliary=True)`` to leave this head out at test
    time, and ``tools/misc/publish_model.py --drop-auxiliary`` to strip it
    from a checkpoint.

    Args:
        base_channels: the student's c (SCTNet-S 32, SCTNet-B 64): inputs
            have 4c (``x_out``), 8c (``x5``) and 4c (``x3``) channels.
        num_classes: classes of the teacher checkpoint (150 ADE20K, 171
            COCO-Stuff, 19 Cityscapes).
        teacher_arch: ``'mit-b2'`` or ``'mit-b3'``; None picks SCTNet's
            pairing (c=32 -> B2, c=64 -> B3).
        teacher_checkpoint: path of the teacher weights (SCTNet's
            ``Teacher_SegFormer_*.pth`` or an MMSeg SegFormer checkpoint),
            loaded with posekit's safe loader; None keeps a randomly
            initialised teacher and logs a warning (smoke tests only).
        in_index: positions in the backbone's feature tuple of ``x_out``,
            ``x5`` and ``x3``; the default fits SCTNet with any
            ``out_indices`` that include 1, 2 and 3.
        loss_decode: config of the loss (``AlignmentLoss``).
        init_cfg: initialisation of the adapters; None for Kaiming.

    Raises:
        ValueError: unknown ``teacher_arch``, ``base_channels`` without a
            default teacher, a ``Pretrained`` init_cfg (use
            ``teacher_checkpoint``), or ``in_index`` not three indices.
        FileNotFoundError / KeyError / ValueError: from loading
            ``teacher_checkpoint`` (see :func:`load_teacher`).
    """

    def __init__(self, base_channels: int = 64, num_classes: int = 150,
                 teacher_arch: Optional[str] = None,
                 teacher_checkpoint: Optional[str] = None,
                 in_index: Sequence[int] = (-1, -2, -3),
                 loss_decode: ConfigType = dict(
                     type='AlignmentLoss', loss_weight=[3, 15, 15, 15]),
                 init_cfg: OptMultiConfig = None):
        if isinstance(init_cfg, dict) and init_cfg.get('type') == \
                'Pretrained':
            raise ValueError(
                'VitGuidanceHead loads its teacher from teacher_checkpoint='
                f"'...', not init_cfg=dict(type='Pretrained') (got "
                f'{init_cfg.get("checkpoint")!r})')
        super().__init__(init_cfg=init_cfg)
        if teacher_arch is None:
            if base_channels not in _DEFAULT_TEACHER:
                raise ValueError(
                    f'VitGuidanceHead has no default teacher for '
                    f'base_channels={base_channels}; set teacher_arch to '
                    f'one of {_TEACHERS}')
            teacher_arch = _DEFAULT_TEACHER[base_channels]
        if teacher_arch not in _TEACHERS:
            raise ValueError(f'teacher_arch must be one of {_TEACHERS}, got '
                             f'{teacher_arch!r}')
        if len(in_index) != 3:
            raise ValueError('in_index must give the positions of (x_out, '
                             f'x5, x3) in the features, got {in_index!r}')
        c = base_channels
        self.base_channels = c
        self.num_classes = num_classes
        self.teacher_arch = teacher_arch
        self.in_index = tuple(in_index)
        self.student_channels = (4 * c, 8 * c, 4 * c)

        self.teacher_backbone = build_mit(teacher_arch)
        self.teacher_head = SegformerHead(
            in_channels=self.teacher_backbone.out_channels, channels=256,
            num_classes=num_classes)
        dec_in = self.teacher_head.channels * len(
            self.teacher_head.in_channels)
        stage3, stage4 = self.teacher_backbone.out_channels[2:]
        self.feature_transforms = nn.Conv2d(4 * c, dec_in, 1)
        self.convstage4 = nn.Conv2d(8 * c, stage4, 1)
        self.convstage3 = nn.Conv2d(4 * c, stage3, 1)
        for conv in (self.feature_transforms, self.convstage4,
                     self.convstage3):
            kaiming_init(conv)
        self.loss_decode = MODELS.build(loss_decode)

        if teacher_checkpoint is None:
            print_log('VitGuidanceHead: teacher_checkpoint is None, so the '
                      f'{teacher_arch} teacher is randomly initialised and '
                      'its guidance is meaningless; set teacher_checkpoint '
                      'for real training', logger='current',
                      level=logging.WARNING)
        else:
            load_teacher(teacher_checkpoint, self.teacher_backbone,
                         self.teacher_head)
        self.teacher_checkpoint = teacher_checkpoint
        for part in (self.teacher_backbone, self.teacher_head):
            part.requires_grad_(False)
            part.eval()

    def init_weights(self) -> None:
        """Initialise as configured, then reload the teacher: an init_cfg
        here or in an enclosing module may have overwritten it."""
        super().init_weights()
        if self.teacher_checkpoint is not None:
            load_teacher(self.teacher_checkpoint, self.teacher_backbone,
                         self.teacher_head)

    def train(self, mode: bool = True) -> 'VitGuidanceHead':
        """Set the adapters' mode; the teacher always stays in eval."""
        super().train(mode)
        self.teacher_backbone.eval()
        self.teacher_head.eval()
        return self

    def _student_feats(self, feats: Sequence[Tensor]) -> List[Tensor]:
        picked = []
        for name, idx, channels in zip(('x_out', 'x5', 'x3'), self.in_index,
                                       self.student_channels):
            try:
                x = feats[idx]
            except IndexError:
                raise ValueError(
                    f'VitGuidanceHead in_index {self.in_index} points past '
                    f'the {len(feats)} backbone features (for {name})'
                ) from None
            if x.shape[1] != channels:
                raise ValueError(
                    f'VitGuidanceHead expects {name} (feats[{idx}]) with '
                    f'{channels} channels for base_channels='
                    f'{self.base_channels}, got {x.shape[1]}; check in_index '
                    'and the backbone\'s out_indices (SCTNet: 1 -> x3, '
                    '2 -> x5, 3 -> x_out)')
            picked.append(x)
        return picked

    def forward(self, feats: Sequence[Tensor], inputs: Tensor
                ) -> Tuple[List[Tensor], List[Tensor]]:
        """Teacher and student maps ``[logits (1/4), fused feature (1/4),
        stage 4 (1/32), stage 3 (1/16)]`` for backbone ``feats`` and the
        normalised input batch ``inputs (B, 3, H, W)``."""
        x_out, x5, x3 = self._student_feats(feats)
        with torch.no_grad():
            stages = self.teacher_backbone(inputs)
            fused_t, logits_t, concat_t = self.teacher_head(stages)
        student = F.interpolate(self.feature_transforms(x_out),
                                size=concat_t.shape[2:], mode='bilinear',
                                align_corners=False)
        student = match_channel_stats(student, concat_t)
        fused_s = self.teacher_head.fusion_conv(student)
        logits_s = self.teacher_head.cls_seg(fused_s)
        teacher = [logits_t, fused_t, stages[3], stages[2]]
        student = [logits_s, fused_s, self.convstage4(x5),
                   self.convstage3(x3)]
        return teacher, student

    def loss(self, feats: Sequence[Tensor], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}, inputs: Optional[Tensor] = None
             ) -> dict:
        """``{loss_decode.loss_name: loss}`` (``loss_guidance`` by default).

        Raises:
            ValueError: ``inputs`` were not given (the pose estimator passes
                them to auxiliary heads whose ``loss`` accepts ``inputs``).
        """
        if inputs is None:
            raise ValueError('VitGuidanceHead.loss needs the input batch '
                             '(inputs=...): its teacher runs on the images')
        teacher, student = self.forward(feats, inputs)
        return {self.loss_decode.loss_name: self.loss_decode(teacher,
                                                             student)}

    def predict(self, *args, **kwargs):
        """Not available: the head only guides training.

        Raises:
            RuntimeError: always.
        """
        raise RuntimeError('VitGuidanceHead is a training-only auxiliary '
                           'head and has no predictions')
