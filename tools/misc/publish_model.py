"""Turn a training checkpoint into a smaller file for inference.

    python tools/misc/publish_model.py IN OUT [--drop-auxiliary]

Keeps only ``meta`` and ``state_dict`` (optimizer, scheduler and message
hub states are dropped). With ``--drop-auxiliary`` the training-only
``auxiliary_head.*`` weights (e.g. SCTNet's SegFormer teacher) are removed
too. The input is read with posekit's safe loader; the output is written
atomically (a temporary file renamed into place), and its SHA-256 is
printed.
"""
import argparse
import hashlib
import io
import os.path as osp
import sys
from typing import Optional

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from posekit.engine.runner.atomic_backend import \
    atomic_write_bytes  # noqa: E402
from posekit.models.pose_estimators.auxiliary import \
    drop_auxiliary_weights  # noqa: E402
from posekit.utils.checkpoint import safe_load  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint down to its weights for inference')
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='where to write the result')
    parser.add_argument('--drop-auxiliary', action='store_true',
                        help='also remove auxiliary_head.* weights '
                        '(training-only heads)')
    return parser.parse_args(argv)


def publish(in_file: str, out_file: str, drop_auxiliary: bool = False
            ) -> dict:
    """Write ``in_file``'s ``meta`` and ``state_dict`` (without
    ``auxiliary_head.*`` when ``drop_auxiliary``) to ``out_file``; return
    a summary dict (``kept``, ``dropped`` key counts and ``sha256``).

    Raises:
        FileNotFoundError: ``in_file`` does not exist.
        ValueError: ``in_file`` holds no state dict.
    """
    ckpt = safe_load(in_file, map_location='cpu')
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        state, meta = ckpt['state_dict'], ckpt.get('meta')
    elif isinstance(ckpt, dict) and ckpt and all(
            isinstance(v, torch.Tensor) for v in ckpt.values()):
        state, meta = ckpt, None  # a bare state dict
    else:
        found = sorted(ckpt)[:8] if isinstance(ckpt, dict) \
            else type(ckpt).__name__
        raise ValueError(f'{in_file} holds no state_dict (found: {found})')
    kept = drop_auxiliary_weights(state) if drop_auxiliary else state
    out: dict = dict(state_dict=kept)
    if meta is not None:
        out['meta'] = meta
    buffer = io.BytesIO()
    torch.save(out, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(data, out_file)
    return dict(kept=len(kept), dropped=len(state) - len(kept),
                sha256=hashlib.sha256(data).hexdigest())


def main(argv: Optional[list] = None) -> dict:
    args = parse_args(argv)
    summary = publish(args.in_file, args.out_file, args.drop_auxiliary)
    print(f'wrote {args.out_file}: {summary["kept"]} tensors kept, '
          f'{summary["dropped"]} dropped, sha256 {summary["sha256"]}')
    return summary


if __name__ == '__main__':
    main()
