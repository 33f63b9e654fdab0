"""ImageGroupedSampler: shuffled epochs that keep an image's samples
together, so each image is decoded once per epoch.

A top-down dataset has one sample per person. Shuffled freely, the
persons of one image land in different batches and the image is decoded
once per person. This sampler shuffles the images, then the persons
inside each image, and yields each image's persons in a row; with
``LoadImage(reuse_last=True)`` (the default) the data-loader worker that
gets them decodes the image once.

The price is less mixing: a batch of 32 holds the persons of about
32 / (persons per image) images instead of 32 images (COCO train2017
has about 2.6 annotated persons per image), so batch-norm statistics and
gradients see fewer distinct scenes per step. Use it when the data
pipeline limits training speed (``tools/analysis/benchmark_train.py``
says which side does).
"""
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from posekit.registry import DATA_SAMPLERS

from .datasets.base.image_groups import image_groups


def _groups_of(dataset) -> np.ndarray:
    """The dataset's image group per sample: its ``sample_image_groups()``
    when it has one, else read from every data info."""
    if hasattr(dataset, 'sample_image_groups'):
        groups = np.asarray(dataset.sample_image_groups(), dtype=np.int64)
    else:
        try:
            groups = image_groups(dataset.get_data_info(i)
                                  for i in range(len(dataset)))
        except KeyError as err:
            raise KeyError(
                f'ImageGroupedSampler: {type(dataset).__name__} {err.args[0]}'
                '; give its data infos an img_id or img_path, or use '
                "sampler=dict(type='DefaultSampler')") from None
    if groups.shape != (len(dataset), ):
        raise ValueError(f'ImageGroupedSampler: {type(dataset).__name__}.'
                         f'sample_image_groups() has shape {groups.shape}, '
                         f'expected ({len(dataset)}, )')
    return groups


@DATA_SAMPLERS.register_module()
class ImageGroupedSampler(Sampler):
    """Like mmengine's ``DefaultSampler``, but the samples of one image
    come in a row.

    Each epoch (seeded by ``seed + epoch``) the images are put in random
    order, and the samples of each image in random order behind each
    other. Across ``world_size`` processes every rank takes a contiguous
    part of that order (``DefaultSampler`` strides, which would split each
    image's run between ranks).

    Args:
        dataset: a dataset with ``sample_image_groups()`` (the COCO-style
            datasets) or whose data infos have ``img_id`` or ``img_path``.
        shuffle: without it the dataset's own order is kept (a COCO
            top-down dataset lists an image's persons together already).
        seed: shared by all ranks; drawn and synchronised when None.
        round_up: repeat samples from the start so every rank gets
            ``ceil(len / world_size)``, as ``DefaultSampler`` does.

    Raises:
        KeyError: the data infos do not say which image they show.
    """

    def __init__(self, dataset, shuffle: bool = True,
                 seed: Optional[int] = None, round_up: bool = True) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = bool(round_up)
        self.epoch = 0
        self._groups = _groups_of(dataset)
        size = len(dataset)
        # rank r takes order[r * per_rank:][:num_samples]
        self._per_rank = -(-size // self.world_size)
        if self.round_up:
            self.num_samples = self._per_rank
            self.total_size = self._per_rank * self.world_size
        else:
            start = min(self.rank * self._per_rank, size)
            self.num_samples = min(self._per_rank, size - start)
            self.total_size = size

    def _order(self) -> np.ndarray:
        size = len(self._groups)
        if not self.shuffle:
            return np.arange(size)
        gen = torch.Generator()
        gen.manual_seed(self.seed + self.epoch)
        num_groups = int(self._groups.max()) + 1 if size else 0
        group_rank = np.empty(num_groups, dtype=np.int64)
        group_rank[torch.randperm(num_groups, generator=gen).numpy()] = \
            np.arange(num_groups)
        within = torch.rand(size, generator=gen, dtype=torch.float64)
        # sort by the image's place, then by a random key inside it
        return np.lexsort((within.numpy(), group_rank[self._groups]))

    def __iter__(self) -> Iterator[int]:
        order = self._order()
        if self.round_up and self.total_size > len(order):
            reps = -(-self.total_size // len(order))
            order = np.tile(order, reps)[:self.total_size]
        start = self.rank * self._per_rank
        return iter(order[start:start + self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order from the next ``iter``."""
        self.epoch = int(epoch)


__all__: Sequence[str] = ['ImageGroupedSampler']
