"""A COCO-keypoint dataset of synthetic humanoids, generated on first use."""
from typing import Optional, Sequence

from posekit.registry import DATASETS
from ..body import CocoDataset
from .generator import SPLITS
from .storage import ensure_synthetic_coco

__all__ = ['SyntheticCocoDataset']


@DATASETS.register_module()
class SyntheticCocoDataset(CocoDataset):
    """Synthetic COCO persons (17 keypoints) for quick, offline training.

    On construction the data is generated into ``data_root`` unless it is
    already there (see :func:`ensure_synthetic_coco`): both splits come
    from one generation, so the ``'train'`` and ``'val'`` datasets of a
    config share one folder and must pass the same generation arguments.
    The split's files are then read like any COCO dataset:
    ``annotations/person_keypoints_{split}.json`` with images in
    ``images/{split}/``.

    Args:
        data_root: folder holding (or to receive) the data; required.
        split: ``'train'`` or ``'val'``.
        num_train: number of training images (about 2.5 persons each).
        num_val: number of validation images.
        image_size: ``(w, h)`` of the images in pixels.
        seed: generation seed; same arguments give byte-identical data.
        max_persons: most figures per image.
        side_tint: 0..1, how strongly left limbs are tinted orange (see
            :func:`generate_synthetic_coco` on how this interacts with
            flipping).
        **kwargs: the other arguments of :class:`CocoDataset`
            (``pipeline``, ``test_mode``, ``data_mode``, ``bbox_file``,
            ``filter_cfg``, ``indices``, ``lazy_init`` ...), except
            ``ann_file`` and ``data_prefix``, which ``split`` sets.

    Raises:
        ValueError: bad ``split``, empty ``data_root``, an out-of-range
            generation argument, or a ``data_root`` generated with other
            arguments (the message names the folder and the argument).
        TypeError: ``ann_file`` or ``data_prefix`` was passed.
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 num_train: int = 2000,
                 num_val: int = 200,
                 image_size: Sequence[int] = (256, 192),
                 seed: int = 0,
                 max_persons: int = 4,
                 side_tint: float = 0.3,
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 **kwargs):
        name = type(self).__name__
        if split not in SPLITS:
            raise ValueError(f'{name}: split={split!r} is invalid; use one '
                             f'of {SPLITS}')
        if not data_root:
            raise ValueError(f'{name}: data_root is required (the folder '
                             'the synthetic data is generated into)')
        for key, value in (('ann_file', ann_file),
                           ('data_prefix', data_prefix)):
            if value is not None:
                raise TypeError(f'{name}: {key} is set from split; do not '
                                f'pass it (got {value!r})')
        self.split = split
        self.data_root_abs = ensure_synthetic_coco(
            data_root, num_train=num_train, num_val=num_val,
            image_size=image_size, seed=seed, max_persons=max_persons,
            side_tint=side_tint)
        super().__init__(
            ann_file=f'annotations/person_keypoints_{split}.json',
            data_root=data_root, data_prefix=dict(img=f'images/{split}/'),
            **kwargs)
