"""ImageGroupedSampler: shuffled epochs with each image's samples in a row."""
import numpy as np
import pytest
from mmengine.runner import Runner

from posekit.datasets import CocoDataset, ImageGroupedSampler, LoadImage
from posekit.datasets import samplers as samplers_mod
from posekit.utils import register_all_modules


class _Infos:
    """A dataset without sample_image_groups(): read from its infos."""

    def __init__(self, images):
        self.images = list(images)

    def __len__(self):
        return len(self.images)

    def get_data_info(self, i):
        return dict(img_path=self.images[i]) if self.images[i] else {}


def _runs(order, groups):
    """The image of each run of equal groups along ``order``."""
    seq = groups[order]
    return [g for i, g in enumerate(seq) if i == 0 or seq[i - 1] != g]


def test_each_epoch_is_a_permutation_with_images_in_a_row():
    images = [f'{i % 7}.jpg' for i in range(40)]  # 7 images, 5-6 persons
    sampler = ImageGroupedSampler(_Infos(images), seed=3)
    groups = sampler._groups
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        order = np.array(list(sampler))
        assert len(sampler) == 40 and sorted(order) == list(range(40))
        runs = _runs(order, groups)
        assert len(runs) == 7 and len(set(runs)) == 7  # one run per image
        orders.append(order.tolist())
    assert orders[0] != orders[1] != orders[2]
    sampler.set_epoch(1)
    assert list(sampler) == orders[1]           # reproducible
    again = ImageGroupedSampler(_Infos(images), seed=3)
    again.set_epoch(1)
    assert list(again) == orders[1]


def test_no_shuffle_keeps_the_dataset_order():
    sampler = ImageGroupedSampler(_Infos(['a', 'a', 'b']), shuffle=False,
                                  seed=0)
    assert list(sampler) == [0, 1, 2]


@pytest.mark.parametrize('round_up', [True, False])
def test_ranks_take_contiguous_parts(monkeypatch, round_up):
    images = [f'{i // 3}.jpg' for i in range(11)]
    parts = []
    for rank in range(2):
        monkeypatch.setattr(samplers_mod, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        sampler = ImageGroupedSampler(_Infos(images), seed=5,
                                      round_up=round_up)
        parts.append(list(sampler))
        assert len(sampler) == len(parts[-1])
    if round_up:
        assert len(parts[0]) == len(parts[1]) == 6
        assert set(parts[0] + parts[1]) == set(range(11))
    else:
        assert (len(parts[0]), len(parts[1])) == (6, 5)
        assert sorted(parts[0] + parts[1]) == list(range(11))
    # each rank's part is a slice of the same epoch order
    monkeypatch.setattr(samplers_mod, 'get_dist_info', lambda: (0, 1))
    whole = list(ImageGroupedSampler(_Infos(images), seed=5))
    assert whole[:6] == parts[0] and whole[6:11] == parts[1][:5]


def test_infos_without_an_image_are_refused():
    with pytest.raises(KeyError, match=r"_Infos data info 1 has neither "
                       r"img_id nor img_path.*DefaultSampler"):
        ImageGroupedSampler(_Infos(['a.jpg', '']), seed=0)


def test_coco_epoch_decodes_each_image_once(shared_data, monkeypatch):
    register_all_modules()
    decodes = []
    real = LoadImage._decode

    def counting(self, path, local):
        decodes.append(path)
        return real(self, path, local)
    monkeypatch.setattr(LoadImage, '_decode', counting)
    dataset = dict(type='CocoDataset', data_root=str(shared_data / 'coco'),
                   ann_file='test_coco.json', data_prefix=dict(img=''),
                   pipeline=[dict(type='LoadImage'),
                             dict(type='GetBBoxCenterScale'),
                             dict(type='TopdownAffine',
                                  input_size=(48, 64)),
                             dict(type='PackPoseInputs')])
    loader = Runner.build_dataloader(dict(
        batch_size=4, num_workers=0, dataset=dataset,
        sampler=dict(type='ImageGroupedSampler', shuffle=True, seed=0)))
    groups = CocoDataset(data_root=str(shared_data / 'coco'),
                         ann_file='test_coco.json').sample_image_groups()
    num_images = len(set(groups.tolist()))
    assert len(groups) == 12 and num_images == 4
    seen = sum(len(batch['data_samples']) for batch in loader)
    assert seen == 12
    assert len(decodes) == num_images
    assert len(set(decodes)) == num_images
