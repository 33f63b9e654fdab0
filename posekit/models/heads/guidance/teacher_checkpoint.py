"""Loading a SegFormer teacher (MiT encoder + SegformerHead) from a file.

Two key layouts are understood:
- SCTNet's: ``...teacher_backbone.<key>`` / ``...teacher_head.<key>``
  (anything before ``teacher_`` is ignored, e.g. ``auxiliary_head.1.``);
- MMSeg SegFormer's: ``backbone.<key>`` / ``decode_head.<key>``.
"""
import os
from typing import Dict, Mapping, Tuple

from torch import Tensor, nn

from posekit.utils.checkpoint import safe_load

_LAYOUTS = (('teacher_backbone.', 'teacher_head.'),
            ('backbone.', 'decode_head.'))


def split_teacher_state(state: Mapping[str, Tensor]
                        ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
    """``(encoder_state, decoder_state)`` from a checkpoint's state dict.

    Raises:
        KeyError: neither layout's keys are present.
    """
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    enc_tag, dec_tag = _LAYOUTS[0]
    if any(enc_tag in k for k in state):
        enc = {k.split(enc_tag, 1)[1]: v for k, v in state.items()
               if enc_tag in k}
        dec = {k.split(dec_tag, 1)[1]: v for k, v in state.items()
               if dec_tag in k}
        return enc, dec
    enc_tag, dec_tag = _LAYOUTS[1]
    enc = {k[len(enc_tag):]: v for k, v in state.items()
           if k.startswith(enc_tag)}
    dec = {k[len(dec_tag):]: v for k, v in state.items()
           if k.startswith(dec_tag)}
    if not enc:
        sample = ', '.join(list(state)[:3])
        raise KeyError(f'no teacher weights found (keys start with: '
                       f'{sample} ...); expected keys containing '
                       "'teacher_backbone.'/'teacher_head.' (SCTNet) or "
                       "starting with 'backbone.'/'decode_head.' (an MMSeg "
                       'SegFormer checkpoint)')
    return enc, dec


def _mismatches(module: nn.Module, state: Mapping[str, Tensor]) -> list:
    own = module.state_dict()
    problems = [f'missing {k}' for k in own if k not in state]
    problems += [f'unexpected {k}' for k in state if k not in own]
    problems += [f'{k}: file {tuple(v.shape)} vs model '
                 f'{tuple(own[k].shape)}' for k, v in state.items()
                 if k in own and v.shape != own[k].shape]
    return problems


def load_teacher(path: str, encoder: nn.Module, decoder: nn.Module) -> None:
    """Load ``path`` (via :func:`safe_load`) into ``encoder``/``decoder``,
    requiring every key to match.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        KeyError: the file holds no teacher weights.
        ValueError: keys or shapes differ from the teacher that was built
            (the message lists the first few and hints at ``teacher_arch``
            / ``num_classes``).
    """
    path = os.path.expanduser(str(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'teacher_checkpoint {path} does not exist. Give the path of a '
            'SegFormer checkpoint (e.g. SCTNet\'s Teacher_SegFormer_B3_'
            'COCO.pth), or teacher_checkpoint=None to train with a '
            'randomly initialised teacher (only useful for smoke tests)')
    ckpt = safe_load(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    try:
        enc, dec = split_teacher_state(state)
    except KeyError as err:
        raise KeyError(f'teacher_checkpoint {path}: {err.args[0]}') from None
    problems = [f'encoder {p}' for p in _mismatches(encoder, enc)]
    problems += [f'decoder {p}' for p in _mismatches(decoder, dec)]
    if problems:
        shown = '; '.join(problems[:6])
        more = f' (and {len(problems) - 6} more)' if len(problems) > 6 else ''
        raise ValueError(
            f'teacher_checkpoint {path} does not fit the teacher that was '
            f'built: {shown}{more}. Check teacher_arch (mit-b2 / mit-b3) '
            'and num_classes (150 ADE20K, 171 COCO-Stuff, 19 Cityscapes) '
            'against the checkpoint')
    encoder.load_state_dict(enc, strict=True)
    decoder.load_state_dict(dec, strict=True)
