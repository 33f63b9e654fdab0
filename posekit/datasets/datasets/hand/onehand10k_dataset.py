"""The OneHand10K hand-keypoint dataset (21 keypoints, one hand per image)."""
from posekit.registry import DATASETS
from ..base import BaseCocoStyleDataset

__all__ = ['OneHand10KDataset']


@DATASETS.register_module()
class OneHand10KDataset(BaseCocoStyleDataset):
    """OneHand10K (Wang et al., 2018) converted to COCO format: per hand a
    box and 21 keypoints, the wrist then four points per finger from base to
    tip (thumb, forefinger, middle, ring, pinky; see
    ``configs/_base_/datasets/onehand10k.py``).

    The hand has no left/right pairs, so ``flip_indices`` is the identity,
    and the dataset has no OKS sigmas (it is scored with PCK, AUC and EPE).
    Annotations need not carry ``num_keypoints``; it is then the number of
    labelled keypoints.

    Arguments are those of :class:`BaseCocoStyleDataset`.
    """

    METAINFO: dict = dict(from_file='configs/_base_/datasets/onehand10k.py')
