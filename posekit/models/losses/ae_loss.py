"""Associative embedding loss (Newell et al., 2017): the tags of one
person's keypoints are pulled together, the mean tags of different persons
pushed apart."""
from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from posekit.registry import MODELS


def _zero(tags: Tensor) -> Tensor:
    # a zero that stays in the graph, so every parameter gets a gradient
    # (distributed training expects one) even for an image with no person
    return tags.sum() * 0.


def _gather_tags(tags: Tensor, keypoint_indices: Tensor
                 ) -> Tuple[Tensor, Tensor]:
    """Tags at the labelled keypoints of one image.

    Args:
        tags: ``(K * L, H, W)``, channel ``l * K + k`` is component ``l`` of
            keypoint ``k``'s tag.
        keypoint_indices: ``(N, K, 2)`` integer ``[y * W + x, valid]``.

    Returns:
        ``(N, K, L)`` tags and the ``(N, K)`` float validity.
    """
    n, k = keypoint_indices.shape[:2]
    c, h, w = tags.shape
    dim = c // k
    flat = tags.reshape(dim, k, h * w)
    valid = keypoint_indices[..., 1] > 0
    index = torch.where(valid, keypoint_indices[..., 0],
                        torch.zeros_like(keypoint_indices[..., 0]))
    if valid.any():
        bad = valid & ((index < 0) | (index >= h * w))
        if bad.any():
            raise ValueError(
                f'keypoint_indices holds flat index {int(index[bad][0])} '
                f'outside the {h}x{w} tag map (valid range 0..{h * w - 1})')
    kpt = torch.arange(k, device=tags.device).expand(n, k)
    gathered = flat[:, kpt, index]  # (L, N, K)
    return gathered.permute(1, 2, 0), valid.to(tags.dtype)


def ae_loss_per_image(tags: Tensor, keypoint_indices: Tensor
                      ) -> Tuple[Tensor, Tensor]:
    """Unweighted pull and push losses of one image.

    Pull: over persons with at least one valid keypoint, the mean over
    their valid keypoints and the L tag components of ``(tag - mean
    tag)^2``, averaged over those persons. Push: ``exp(-||m_i - m_j||^2)``
    of the mean tags ``m`` summed over ordered pairs ``i != j`` and
    divided by ``N' (N' - 1)`` (N' persons with a valid keypoint). Both
    are 0 (in the graph) when there are too few persons.
    """
    if keypoint_indices.shape[0] == 0:
        return _zero(tags), _zero(tags)
    person_tags, valid = _gather_tags(tags, keypoint_indices)
    dim = person_tags.shape[-1]
    count = valid.sum(dim=1)  # (N,)
    present = count > 0
    num = int(present.sum())
    if num == 0:
        return _zero(tags), _zero(tags)
    denom = count.clamp(min=1)
    mean = (person_tags * valid[..., None]).sum(dim=1) / denom[:, None]
    sq = (person_tags - mean[:, None]).pow(2) * valid[..., None]
    pull = (sq.sum(dim=(1, 2)) / (denom * dim))[present].sum() / num
    if num < 2:
        return pull, _zero(tags)
    m = mean[present]
    dist = (m[:, None] - m[None]).pow(2).sum(dim=-1)
    off_diag = ~torch.eye(num, dtype=torch.bool, device=tags.device)
    push = torch.exp(-dist)[off_diag].sum() / (num * (num - 1))
    return pull, push


@MODELS.register_module()
class AssociativeEmbeddingLoss(nn.Module):
    """Pull/push loss on tag maps.

    ``pull = loss_weight * mean over the batch of each image's pull``;
    ``push = loss_weight * push_loss_factor * mean over the batch of each
    image's push`` (see :func:`ae_loss_per_image`; images without persons
    count as 0).

    This is MMPose 0.x's normalisation (used for the published
    HigherHRNet results, where push carried a factor 0.5): the push sum
    leaves out the pairs ``i == i``, which MMPose 1.x includes as a
    constant (no gradient), and the batch is averaged where MMPose 1.x
    sums it. With tags of more than one component the push uses the
    squared Euclidean distance of the mean tags.

    Args:
        loss_weight: factor on both losses.
        push_loss_factor: extra factor on the push loss.
    """

    def __init__(self, loss_weight: float = 1.0,
                 push_loss_factor: float = 0.5):
        super().__init__()
        self.loss_weight = loss_weight
        self.push_loss_factor = push_loss_factor

    def forward(self, tags: Tensor, keypoint_indices: Sequence[Tensor]
                ) -> Tuple[Tensor, Tensor]:
        """``(pull_loss, push_loss)`` scalars.

        Args:
            tags: ``(B, K * L, H, W)``; channel ``l * K + k`` is component
                ``l`` of keypoint ``k``'s tag (a head with one tag shared by
                all keypoints repeats it per keypoint first).
            keypoint_indices: B integer tensors ``(N_i, K, 2)``
                ``[y * W + x, valid]`` (or one ``(B, N, K, 2)`` tensor).

        Raises:
            ValueError: B differs, the channel count is not a multiple of
                K, or a valid index lies outside the map.
        """
        if tags.ndim != 4:
            raise ValueError('tags must be (B, K * tag_dim, H, W), got shape '
                             f'{tuple(tags.shape)}')
        if len(keypoint_indices) != tags.shape[0]:
            raise ValueError(f'keypoint_indices has {len(keypoint_indices)} '
                             f'entries for a batch of {tags.shape[0]} tag '
                             'maps')
        pulls, pushes = [], []
        for i, indices in enumerate(keypoint_indices):
            indices = torch.as_tensor(indices, device=tags.device)
            if indices.ndim != 3 or indices.shape[-1] != 2:
                raise ValueError(f'keypoint_indices[{i}] must be (N, K, 2), '
                                 f'got shape {tuple(indices.shape)}')
            k = indices.shape[1]
            if k == 0 or tags.shape[1] % k:
                raise ValueError(f'tags have {tags.shape[1]} channels, not '
                                 f'a multiple of the {k} keypoints of '
                                 f'keypoint_indices[{i}]')
            pull, push = ae_loss_per_image(tags[i], indices.long())
            pulls.append(pull)
            pushes.append(push)
        pull = torch.stack(pulls).mean() * self.loss_weight
        push = torch.stack(pushes).mean() * (self.loss_weight *
                                             self.push_loss_factor)
        return pull, push
