import math

import pytest
import torch

from posekit.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='AssociativeEmbeddingLoss', **kwargs))


def two_person_image():
    """K = 2, L = 1 tags on a 2x2 map: keypoint 0 holds 1..4, keypoint 1
    holds 5..8 (flat index y * 2 + x)."""
    tags = torch.zeros(1, 2, 2, 2)
    tags[0, 0] = torch.tensor([[1., 2.], [3., 4.]])
    tags[0, 1] = torch.tensor([[5., 6.], [7., 8.]])
    # person A: kpt 0 at index 0 (tag 1), kpt 1 at index 0 (tag 5)
    # person B: kpt 0 at index 3 (tag 4), kpt 1 not labelled
    indices = torch.tensor([[[0, 1], [0, 1]], [[3, 1], [2, 0]]])
    return tags, indices


def test_pull_and_push_by_hand():
    tags, indices = two_person_image()
    pull, push = build(loss_weight=2., push_loss_factor=0.5)(tags,
                                                             [indices])
    # A: mean 3, ((1-3)^2 + (5-3)^2) / 2 = 4; B: one tag, 0 -> (4+0)/2 = 2
    assert pull.item() == pytest.approx(2 * 2.)
    # means 3 and 4: exp(-1) for both ordered pairs / (2 * 1)
    assert push.item() == pytest.approx(2 * 0.5 * math.exp(-1))


def test_gradient_pulls_tags_to_the_person_mean():
    tags, indices = two_person_image()
    tags.requires_grad_(True)
    pull, _ = build()(tags, [indices])
    pull.backward()
    # d/dt of (1/2 persons) * (1/2 tags) * sum (t - m)^2 = (t - m) / 2
    assert tags.grad[0, 0, 0, 0].item() == pytest.approx(-1.)
    assert tags.grad[0, 1, 0, 0].item() == pytest.approx(1.)
    assert tags.grad[0, 0, 1, 1].item() == pytest.approx(0.)
    # the unlabelled keypoint (index 2 of keypoint 1) gets no gradient
    assert tags.grad[0, 1, 1, 0].item() == 0.


def test_batch_mean_with_empty_and_single_person_images():
    tags, indices = two_person_image()
    tags = tags.repeat(3, 1, 1, 1).requires_grad_(True)
    empty = torch.zeros(0, 2, 2, dtype=torch.long)
    # one person: kpt 0 tag 2 (index 1), kpt 1 tag 8 (index 3)
    single = torch.tensor([[[1, 1], [3, 1]]])
    pull, push = build(push_loss_factor=1.)(tags, [indices, empty, single])
    # pulls per image: 2, 0, ((2-5)^2 + (8-5)^2) / 2 / 1 = 9
    assert pull.item() == pytest.approx((2 + 0 + 9) / 3)
    assert push.item() == pytest.approx((math.exp(-1) + 0 + 0) / 3)
    (pull + push).backward()
    assert torch.isfinite(tags.grad).all()


def test_persons_without_valid_keypoints_are_ignored():
    tags, indices = two_person_image()
    ghost = torch.tensor([[[1, 0], [1, 0]]])
    pull, push = build()(tags, [torch.cat([indices, ghost])])
    # the same as with the two real persons only
    assert pull.item() == pytest.approx(2.)
    assert push.item() == pytest.approx(0.5 * math.exp(-1))


def test_no_person_gives_zero_in_the_graph():
    tags = torch.randn(2, 3, 4, 4, requires_grad=True)
    empty = torch.zeros(0, 3, 2, dtype=torch.long)
    pull, push = build()(tags, [empty, empty])
    assert pull.item() == 0. and push.item() == 0.
    assert pull.requires_grad and push.requires_grad


def test_two_dimensional_tags_use_euclidean_distance():
    # K = 2, L = 2 on a 1x2 map: channel l * K + k
    tags = torch.zeros(1, 4, 1, 2)
    tags[0, 0, 0] = torch.tensor([0., 1.])  # l=0, k=0
    tags[0, 1, 0] = torch.tensor([0., 1.])  # l=0, k=1
    tags[0, 2, 0] = torch.tensor([0., 2.])  # l=1, k=0
    tags[0, 3, 0] = torch.tensor([2., 2.])  # l=1, k=1
    # person A at x=0: tags (0, 0) and (0, 2) -> mean (0, 1)
    # person B at x=1: tags (1, 2) and (1, 2) -> mean (1, 2)
    indices = torch.tensor([[[0, 1], [0, 1]], [[1, 1], [1, 1]]])
    pull, push = build(push_loss_factor=1.)(tags, [indices])
    # A: ((0)^2 + (-1)^2 + 0^2 + 1^2) / (2 keypoints * 2 dims) = 0.5; B: 0
    assert pull.item() == pytest.approx(0.25)
    # ||(0, 1) - (1, 2)||^2 = 2
    assert push.item() == pytest.approx(math.exp(-2))


def test_input_errors():
    tags, indices = two_person_image()
    loss = build()
    with pytest.raises(ValueError, match='2 entries for a batch of 1'):
        loss(tags, [indices, indices])
    with pytest.raises(ValueError, match='outside the 2x2 tag map'):
        loss(tags, [torch.tensor([[[4, 1], [0, 1]]])])
    with pytest.raises(ValueError, match='not a multiple of the 3 keypoints'):
        loss(tags, [torch.zeros(1, 3, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match=r'must be \(N, K, 2\)'):
        loss(tags, [torch.zeros(2, 2, dtype=torch.long)])
