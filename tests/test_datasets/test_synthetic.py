import json
import os

import numpy as np
import pytest

from posekit.datasets.datasets.synthetic import (ensure_synthetic_coco,
                                                 generate_synthetic_coco,
                                                 render_sample, storage)
from posekit.datasets.datasets.synthetic.render import (CODE_STRIDE, HEAD,
                                                        L_FOREARM, TORSO,
                                                        keypoint_visibility)
from posekit.registry import DATASETS

W, H = 256, 192
SMALL = dict(num_train=12, num_val=4, image_size=(W, H), seed=0,
             max_persons=4, side_tint=0.3)
L_SHO, R_SHO, L_EYE, R_EYE, L_EAR, R_EAR = 5, 6, 1, 2, 3, 4


def _load(root, split='train'):
    with open(os.path.join(root, 'annotations',
                           f'person_keypoints_{split}.json')) as f:
        return json.load(f)


def _kpts(ann):
    return np.array(ann['keypoints'], dtype=float).reshape(17, 3)


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth') / 'data'
    generate_synthetic_coco(str(root), **SMALL)
    return root


# ----------------------------------------------------------- determinism
def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    again, other = tmp_path / 'again', tmp_path / 'other'
    generate_synthetic_coco(str(again), **SMALL)
    generate_synthetic_coco(str(other), **dict(SMALL, seed=1))
    for rel in ('annotations/person_keypoints_train.json',
                'annotations/person_keypoints_val.json',
                'images/train/000003.jpg', 'images/val/000004.jpg'):
        assert (small / rel).read_bytes() == (again / rel).read_bytes(), rel
        assert (small / rel).read_bytes() != (other / rel).read_bytes(), rel


def test_val_split_does_not_depend_on_num_train(small, tmp_path):
    generate_synthetic_coco(str(tmp_path), **dict(SMALL, num_train=3))
    assert (_load(small, 'val') == _load(tmp_path, 'val'))


# ---------------------------------------------------------------- format
@pytest.mark.parametrize('split,count', [('train', 12), ('val', 4)])
def test_counts_and_coco_fields(small, split, count):
    coco = _load(small, split)
    assert [img['id'] for img in coco['images']] == list(range(1, count + 1))
    for img in coco['images']:
        assert (img['width'], img['height']) == (W, H)
        assert (small / 'images' / split / img['file_name']).is_file()
    assert len(list((small / 'images' / split).iterdir())) == count
    per_image = np.bincount([a['image_id'] for a in coco['annotations']],
                            minlength=count + 1)[1:]
    assert per_image.min() >= 1 and per_image.max() <= 4
    ids = [a['id'] for a in coco['annotations']]
    assert ids == list(range(1, len(ids) + 1))
    cat = coco['categories'][0]
    assert cat['id'] == 1 and len(cat['keypoints']) == 17
    assert cat['keypoints'][9] == 'left_wrist'
    assert [16, 14] in cat['skeleton'] and len(cat['skeleton']) == 19
    for ann in coco['annotations']:
        assert ann['category_id'] == 1 and ann['iscrowd'] == 0
        assert len(ann['keypoints']) == 51


def test_keypoints_in_image_and_visibility_codes(small):
    anns = _load(small)['annotations']
    kp = np.stack([_kpts(a) for a in anns])
    v = kp[..., 2]
    assert set(np.unique(v)) == {0, 1, 2}
    lab = v > 0
    assert (kp[lab, 0] >= 0).all() and (kp[lab, 0] <= W - 1).all()
    assert (kp[lab, 1] >= 0).all() and (kp[lab, 1] <= H - 1).all()
    assert (kp[~lab, :2] == 0).all()
    assert [a['num_keypoints'] for a in anns] == lab.sum(1).tolist()


def test_bbox_contains_labelled_keypoints_and_stays_in_image(small):
    for ann in _load(small)['annotations']:
        x, y, w, h = ann['bbox']
        kp = _kpts(ann)
        kp = kp[kp[:, 2] > 0]
        assert w > 0 and h > 0
        assert x >= 0 and y >= 0 and x + w <= W + 1e-6 and y + h <= H + 1e-6
        assert (kp[:, 0] >= x).all() and (kp[:, 0] <= x + w).all()
        assert (kp[:, 1] >= y).all() and (kp[:, 1] <= y + h).all()
        assert ann['area'] == round(w * h, 2)


def test_occluded_keypoints_are_marked(small):
    v = np.stack([_kpts(a)[:, 2] for a in _load(small)['annotations']])
    # Occlusion happens (other figures, own torso), but not everywhere.
    assert 0.02 < (v == 1).mean() < 0.4


def test_facing_decides_which_side_is_left(small):
    """Front-facing figures (eyes labelled) show their left shoulder on the
    image's right; back-facing ones (ears but no eyes) on its left."""
    anns = (_load(small)['annotations'] + _load(small, 'val')['annotations'])
    front = back = 0
    for ann in anns:
        kp = _kpts(ann)
        if kp[L_SHO, 2] == 0 or kp[R_SHO, 2] == 0:
            continue
        if kp[L_EYE, 2] > 0 and kp[R_EYE, 2] > 0:
            assert kp[L_SHO, 0] > kp[R_SHO, 0], ann['id']
            front += 1
        elif kp[L_EAR, 2] > 0 and kp[R_EAR, 2] > 0 and kp[L_EYE, 2] == 0:
            assert kp[L_SHO, 0] < kp[R_SHO, 0], ann['id']
            back += 1
    assert front >= 5 and back >= 2


# ------------------------------------------------------- left/right tint
def _forearm_colours(img, anns):
    """Median colour in the middle of each fully visible forearm."""
    out = {}
    t = np.linspace(0.35, 0.65, 7)[:, None]
    for i, ann in enumerate(anns):
        kp = ann['keypoints']
        for side, (elb, wri) in (('l', (7, 9)), ('r', (8, 10))):
            if kp[elb, 2] == 2 and kp[wri, 2] == 2:
                pts = np.round(kp[elb, :2] + t * (kp[wri, :2] - kp[elb, :2]))
                pix = img[pts[:, 1].astype(int), pts[:, 0].astype(int)]
                out[(i, side)] = np.median(pix.astype(float), axis=0)
    return out


def test_side_tint_changes_left_limbs_only():
    left_red, right_diff = [], []
    for index in range(12):
        plain, anns = render_sample(np.random.default_rng([5, index]),
                                    (W, H), side_tint=0.0)
        tinted, anns_t = render_sample(np.random.default_rng([5, index]),
                                       (W, H), side_tint=0.5)
        assert all((a['keypoints'] == b['keypoints']).all()
                   for a, b in zip(anns, anns_t))
        c0, c1 = _forearm_colours(plain, anns), _forearm_colours(tinted, anns)
        for key in c0:
            # BGR: the tint (40, 150, 255) pulls red up, blue down.
            diff = c1[key] - c0[key]
            if key[1] == 'l':
                left_red.append(diff[2] - diff[0])
            else:
                right_diff.append(np.abs(diff).max())
    assert len(left_red) >= 10 and len(right_diff) >= 10
    assert np.median(left_red) > 40
    assert np.median(right_diff) == 0


# -------------------------------------------------------------- occlusion
def test_keypoint_visibility_reads_owner_map():
    owner = np.zeros((10, 10), dtype=np.int32)
    owner[:, :5] = 0 * CODE_STRIDE + L_FOREARM + 1  # figure 0's forearm
    owner[:, 5:] = 1 * CODE_STRIDE + TORSO + 1  # figure 1's torso
    owner[0, 0] = 0 * CODE_STRIDE + HEAD + 1
    kpts = np.zeros((2, 17, 2))
    kpts[:, 9] = [2, 5]  # left wrist on figure 0's forearm
    kpts[:, 7] = [7, 5]  # left elbow on figure 1's torso
    kpts[:, 5] = [8, 8]  # left shoulder on figure 1's torso
    kpts[:, 0] = [0, 0]  # nose on figure 0's head
    seen = keypoint_visibility(owner, kpts, np.array([0, 1]))
    assert seen[0, 9] and not seen[1, 9]
    assert not seen[0, 7] and not seen[1, 7]  # a torso never shows an elbow
    assert not seen[0, 5] and seen[1, 5]
    assert seen[0, 0] and not seen[1, 0]


# ---------------------------------------------------------------- storage
def test_stamp_mismatch_names_folder_and_parameter(tmp_path):
    root = tmp_path / 'synth'
    params = dict(SMALL, num_train=2, num_val=1)
    ensure_synthetic_coco(str(root), **params)
    stamp = (root / storage.STAMP_FILE).stat().st_mtime_ns
    ensure_synthetic_coco(str(root), **params)  # reused, not regenerated
    assert (root / storage.STAMP_FILE).stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match=r'generated with seed=0, but '
                       r'seed=3 is asked') as err:
        ensure_synthetic_coco(str(root), **dict(params, seed=3))
    assert str(root) in str(err.value)
    with pytest.raises(ValueError, match=r'image_size=\[256, 192\], but '
                       r'image_size=\[128, 96\]'):
        ensure_synthetic_coco(str(root), **dict(params, image_size=(128, 96)))


def test_foreign_folder_and_bad_arguments_are_refused(tmp_path):
    (tmp_path / 'mine.txt').write_text('x')
    with pytest.raises(ValueError, match='has no synthetic_stamp.json'):
        ensure_synthetic_coco(str(tmp_path), **SMALL)
    with pytest.raises(ValueError, match='max_persons must be an integer'):
        generate_synthetic_coco(str(tmp_path / 'a'), max_persons=0)
    with pytest.raises(ValueError, match=r'image_size must be \(w, h\)'):
        generate_synthetic_coco(str(tmp_path / 'a'), image_size=(256, ))


def test_losing_the_rename_race_reuses_the_winner(tmp_path, monkeypatch):
    root = tmp_path / 'synth'
    params = dict(SMALL, num_train=2, num_val=1)
    real = storage.generate_synthetic_coco

    def other_process_finishes_first(out_dir, **kwargs):
        monkeypatch.setattr(storage, 'generate_synthetic_coco', real)
        ensure_synthetic_coco(str(root), **params)  # the "other process"
        return real(out_dir, **kwargs)

    monkeypatch.setattr(storage, 'generate_synthetic_coco',
                        other_process_finishes_first)
    assert ensure_synthetic_coco(str(root), **params) == str(root)
    assert sorted(os.listdir(tmp_path)) == ['synth']  # temp folder removed
    assert len(_load(root)['images']) == 2


def test_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    def fail(out_dir, **kwargs):
        (open(os.path.join(out_dir, 'partial.jpg'), 'w')).close()
        raise RuntimeError('disk full')

    monkeypatch.setattr(storage, 'generate_synthetic_coco', fail)
    with pytest.raises(RuntimeError, match='disk full'):
        ensure_synthetic_coco(str(tmp_path / 'synth'), **SMALL)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- dataset
def test_dataset_builds_both_splits_from_one_generation(tmp_path):
    root = tmp_path / 'synth'
    common = dict(type='SyntheticCocoDataset', data_root=str(root),
                  num_train=6, num_val=3, image_size=(W, H))
    train = DATASETS.build(dict(common, split='train'))
    stamp = (root / storage.STAMP_FILE).stat().st_mtime_ns
    val = DATASETS.build(dict(common, split='val', test_mode=True))
    assert (root / storage.STAMP_FILE).stat().st_mtime_ns == stamp
    for dataset, split in ((train, 'train'), (val, 'val')):
        anns = _load(root, split)['annotations']
        assert len(dataset) == sum(a['num_keypoints'] > 0 for a in anns)
        info = dataset.get_data_info(0)
        assert info['img_path'] == str(root / 'images' / split / '000001.jpg')
        assert info['keypoints'].shape == (1, 17, 2)
        np.testing.assert_allclose(info['keypoints'][0],
                                   _kpts(anns[0])[:, :2], atol=1e-4)
    assert train.metainfo['num_keypoints'] == 17
    assert train.metainfo['flip_indices'][9] == 10


def test_dataset_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="split='test' is invalid"):
        DATASETS.build(dict(type='SyntheticCocoDataset',
                            data_root=str(tmp_path), split='test'))
    with pytest.raises(ValueError, match='data_root is required'):
        DATASETS.build(dict(type='SyntheticCocoDataset'))
    with pytest.raises(TypeError, match='ann_file is set from split'):
        DATASETS.build(dict(type='SyntheticCocoDataset',
                            data_root=str(tmp_path), ann_file='x.json'))
