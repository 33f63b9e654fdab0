import contextlib
import io
import json

import numpy as np
import pytest

from posekit.evaluation.metrics import CocoMetric
from posekit.registry import METRICS

COCO_SIGMAS = [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062,
               .062, .107, .107, .087, .087, .089, .089]


def _meta(name='coco_test', sigmas=COCO_SIGMAS):
    # a dataset name of our own so no dataset's MessageHub entry applies
    return dict(dataset_name=name, num_keypoints=len(sigmas), sigmas=sigmas)


@pytest.fixture(scope='module')
def coco_json(shared_data):
    path = shared_data / 'coco' / 'test_coco.json'
    with open(path) as f:
        return str(path), json.load(f)


def _topdown_samples(gt, noise=0.0, seed=0):
    """One sample per annotation with its ground truth as prediction (plus
    Gaussian noise scaled by the person's size)."""
    rng = np.random.default_rng(seed)
    sizes = {img['id']: (img['height'], img['width']) for img in gt['images']}
    samples = []
    for ann in gt['annotations']:
        kpts = np.array(ann['keypoints'], float).reshape(-1, 3)
        w, h = ann['bbox'][2:]
        xy = kpts[:, :2] + rng.normal(0, noise * np.sqrt(w * h),
                                      (len(kpts), 2))
        samples.append(dict(
            id=ann['id'], img_id=ann['image_id'], category_id=1,
            ori_shape=sizes[ann['image_id']], raw_ann_info=ann,
            pred_instances=dict(
                keypoints=xy[None].astype(np.float32),
                keypoint_scores=(kpts[None, :, 2] > 0).astype(np.float32),
                bbox_scores=np.ones(1, np.float32)),
            gt_instances=dict(bbox_scales=np.array([[w, h]]) * 1.25)))
    return samples


def _evaluate(metric, samples, meta=None):
    metric.dataset_meta = meta or _meta()
    for sample in samples:
        metric.process([], [sample])
    return metric.compute_metrics(metric.results)


STATS = ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5',
         'AR .75', 'AR (M)', 'AR (L)']


@pytest.mark.parametrize('with_ann_file', [True, False])
def test_ground_truth_as_prediction_and_noise(coco_json, tmp_path,
                                              with_ann_file):
    path, gt = coco_json
    ann_file = path if with_ann_file else None
    prefix = str(tmp_path / 'res')
    perfect = _evaluate(CocoMetric(ann_file=ann_file, outfile_prefix=prefix),
                        _topdown_samples(gt))
    assert list(perfect) == STATS
    assert perfect['AP'] == pytest.approx(1.0)
    assert perfect['AR'] == pytest.approx(1.0)
    with open(prefix + '.keypoints.json') as f:
        written = json.load(f)
    assert len(written) == len(gt['annotations']) == 14
    assert {r['image_id'] for r in written} == {
        img['id'] for img in gt['images']}
    if not with_ann_file:
        with open(prefix + '.gt.json') as f:
            built = json.load(f)
        assert len(built['images']) == 4
        assert len(built['annotations']) == 14
    small = _evaluate(CocoMetric(ann_file=ann_file),
                      _topdown_samples(gt, noise=0.03))
    large = _evaluate(CocoMetric(ann_file=ann_file),
                      _topdown_samples(gt, noise=0.15))
    assert 1.0 > small['AP'] > large['AP']


def test_repeated_samples_count_once(coco_json, tmp_path):
    path, gt = coco_json
    samples = _topdown_samples(gt, noise=0.03)
    once = _evaluate(CocoMetric(ann_file=path), samples)
    prefix = str(tmp_path / 'twice')
    twice = _evaluate(CocoMetric(ann_file=path, outfile_prefix=prefix),
                      samples + samples[:5])
    assert twice == once
    with open(prefix + '.keypoints.json') as f:
        assert len(json.load(f)) == 14


def test_keypoint_count_must_match_sigmas(coco_json):
    path, gt = coco_json
    metric = CocoMetric(ann_file=path)
    with pytest.raises(ValueError, match=r'17 keypoints.*has 14'):
        _evaluate(metric, _topdown_samples(gt), _meta(sigmas=[.05] * 14))


def test_needs_sigmas(coco_json):
    path, gt = coco_json
    metric = CocoMetric(ann_file=path)
    with pytest.raises(KeyError, match="dataset_meta\\['sigmas'\\]"):
        _evaluate(metric, _topdown_samples(gt),
                  dict(dataset_name='coco_test'))


def _one_image_gt(tmp_path, num=2):
    """A two-person ground-truth file; returns its path and keypoints."""
    rng = np.random.default_rng(1)
    kpts = np.stack([rng.uniform(100, 300, (17, 2)) + 400 * i
                     for i in range(num)])
    anns = [dict(id=i + 1, image_id=7, category_id=1, iscrowd=0,
                 bbox=[float(k[:, 0].min()), float(k[:, 1].min()), 200., 200.],
                 area=30000., num_keypoints=17,
                 keypoints=np.concatenate([k, np.full((17, 1), 2.)],
                                          1).reshape(-1).tolist())
            for i, k in enumerate(kpts)]
    path = tmp_path / 'one.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=7, width=900, height=700)], annotations=anns,
        categories=[dict(id=1, name='person')])))
    return str(path), kpts


def _image_sample(kpts, scores, bbox_scores):
    # several persons in one sample: one id each (a scalar id stands for
    # one instance, see test_one_instance_per_image_and_scalar_id_as_mmpose)
    return dict(id=list(range(1, len(kpts) + 1)), img_id=7,
                pred_instances=dict(
                    keypoints=kpts, keypoint_scores=scores,
                    bbox_scores=bbox_scores,
                    areas=np.full(len(kpts), 30000.)))


@pytest.mark.parametrize('mode,expected', [
    ('bbox_keypoint', 0.5 * (0.5 + 0.9 * 15) / 16),  # scores > 0.2 only
    ('bbox', 0.5),
    ('keypoint', (0.1 + 0.5 + 0.9 * 15) / 17),
    ('bbox_rle', 0.5 + (0.1 + 0.5 + 0.9 * 15) / 17 + 0.9),
])
def test_score_modes(tmp_path, mode, expected):
    path, kpts = _one_image_gt(tmp_path, num=1)
    scores = np.full((1, 17), 0.9)
    scores[0, :2] = [0.1, 0.5]
    prefix = str(tmp_path / mode)
    metric = CocoMetric(ann_file=path, score_mode=mode,
                        outfile_prefix=prefix)
    _evaluate(metric, [_image_sample(kpts, scores, np.array([0.5]))])
    with open(prefix + '.keypoints.json') as f:
        (result, ) = json.load(f)
    assert result['score'] == pytest.approx(expected)


def test_nms_modes_on_a_duplicate(tmp_path):
    path, kpts = _one_image_gt(tmp_path)
    pred = np.concatenate([kpts, kpts[:1] + 0.5])  # a near duplicate
    sample = _image_sample(pred, np.ones((3, 17)), np.array([.9, .8, .7]))
    counts = {}
    for mode in ('oks_nms', 'soft_oks_nms', 'none'):
        prefix = str(tmp_path / mode)
        result = _evaluate(CocoMetric(ann_file=path, nms_mode=mode,
                                      outfile_prefix=prefix), [sample])
        with open(prefix + '.keypoints.json') as f:
            written = json.load(f)
        counts[mode] = len(written)
        assert result['AP'] == pytest.approx(1.0)
        if mode == 'soft_oks_nms':
            # as in MMPose, soft NMS only picks (up to 20 per image); the
            # written scores are the undecayed ones
            assert sorted(r['score'] for r in written) == pytest.approx(
                [0.7, 0.8, 0.9])
    assert counts == {'oks_nms': 2, 'soft_oks_nms': 3, 'none': 3}


def test_sidebyside_style_driving(tmp_path):
    """As the side-by-side benchmark drives it: built from the registry,
    dataset_meta set, process([], [dict]) per image with pred_instances
    dicts and gt_instances=dict(bbox_scales=...), then compute_metrics.
    The AP must equal pycocotools' on the written results file."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    rng = np.random.default_rng(0)
    images, anns, samples = [], [], []
    for im in range(1, 21):
        images.append(dict(id=im, width=640, height=480))
        pk = []
        for _ in range(3):
            x0, y0, w, h = rng.uniform(0, 400), rng.uniform(0, 250), 150, 180
            k = rng.uniform([x0, y0], [x0 + w, y0 + h], (17, 2))
            flat = np.concatenate([k, np.full((17, 1), 2)], 1).ravel()
            anns.append(dict(id=len(anns) + 1, image_id=im, category_id=1,
                             iscrowd=0, area=w * h, bbox=[x0, y0, w, h],
                             num_keypoints=17, keypoints=flat.tolist()))
            pk.append(k + rng.normal(0, 3, k.shape))
        samples.append(dict(
            id=im, img_id=im, img_path=f'{im}.jpg', category_id=1,
            ori_shape=(480, 640), raw_ann_info=None,
            pred_instances=dict(keypoints=np.array(pk),
                                keypoint_scores=rng.uniform(.5, 1, (3, 17)),
                                bbox_scores=np.ones(3),
                                bboxes=np.zeros((3, 4)),
                                areas=np.full(3, 1e4)),
            gt_instances=dict(bbox_scales=np.full((3, 2), 100.0))))
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(dict(
        images=images, annotations=anns,
        categories=[dict(id=1, name='person')])))
    prefix = str(tmp_path / 'r')
    metric = METRICS.build(dict(type='CocoMetric', ann_file=str(ann_file),
                                outfile_prefix=prefix))
    assert metric.prefix == 'coco'
    metric.dataset_meta = _meta('coco')
    for s in samples:
        metric.process([], [s])
    out = metric.evaluate(len(samples))
    assert set(out) == {f'coco/{name}' for name in STATS}
    assert metric.results == []
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(ann_file))
        ref = COCOeval(coco, coco.loadRes(prefix + '.keypoints.json'),
                       'keypoints')
        ref.params.kpt_oks_sigmas = np.array(COCO_SIGMAS)
        ref.evaluate()
        ref.accumulate()
        ref.summarize()
    assert 0.05 < out['coco/AP'] < 1.0
    assert out['coco/AP'] == pytest.approx(ref.stats[0], abs=1e-12)
    assert out['coco/AR (L)'] == pytest.approx(ref.stats[9], abs=1e-12)


def test_format_only_writes_and_returns_nothing(tmp_path):
    path, kpts = _one_image_gt(tmp_path)
    with pytest.raises(ValueError, match='outfile_prefix'):
        CocoMetric(ann_file=path, format_only=True)
    prefix = str(tmp_path / 'fmt')
    metric = CocoMetric(format_only=True, outfile_prefix=prefix)
    result = _evaluate(metric, [_image_sample(kpts, np.ones((2, 17)),
                                              np.ones(2))])
    assert result == {}
    with open(prefix + '.keypoints.json') as f:
        assert len(json.load(f)) == 2


def test_bad_options_and_inputs(tmp_path):
    with pytest.raises(ValueError, match="score_mode must be one of"):
        CocoMetric(score_mode='mean')
    with pytest.raises(ValueError, match="nms_mode must be one of"):
        CocoMetric(nms_mode='nms')
    with pytest.raises(FileNotFoundError, match='missing.json'):
        CocoMetric(ann_file=str(tmp_path / 'missing.json'))
    metric = CocoMetric()
    metric.dataset_meta = _meta()
    with pytest.raises(KeyError, match="no 'raw_ann_info'"):
        metric.process([], [_image_sample(np.zeros((1, 17, 2)),
                                          np.ones((1, 17)), np.ones(1))])
    with pytest.raises(ValueError, match=r'\(1, 17, 2\).*\(1, 16\)'):
        metric.process([], [dict(img_id=3, pred_instances=dict(
            keypoints=np.zeros((1, 17, 2)),
            keypoint_scores=np.zeros((1, 16))))])
    path, kpts = _one_image_gt(tmp_path)
    metric = CocoMetric(ann_file=path)
    sample = _image_sample(kpts, np.ones((2, 17)), np.ones(2))
    sample['img_id'] = 99
    with pytest.raises(ValueError, match=r'image ids \[99\]'):
        _evaluate(metric, [sample])


def test_crowdpose_keypoints_crowd(shared_data):
    pytest.importorskip('xtcocotools')
    path = shared_data / 'crowdpose' / 'test_crowdpose.json'
    with open(path) as f:
        gt = json.load(f)
    sigmas = [.079, .079, .072, .072, .062, .062, .107, .107, .087, .087,
              .089, .089, .079, .079]
    results = []
    for noise in (0.0, 0.1):
        samples = _topdown_samples(gt, noise=noise)
        for s in samples:
            s['crowd_index'] = next(i['crowdIndex'] for i in gt['images']
                                    if i['id'] == s['img_id'])
        metric = CocoMetric(iou_type='keypoints_crowd', use_area=False)
        results.append(_evaluate(metric, samples,
                                 _meta('crowdpose_test', sigmas)))
    assert list(results[0]) == ['AP', 'AP .5', 'AP .75', 'AR', 'AR .5',
                                'AR .75', 'AP(E)', 'AP(M)', 'AP(H)']
    assert results[0]['AR'] == pytest.approx(1.0)
    assert results[0]['AP'] > results[1]['AP']


def test_converters_map_both_sides(coco_json):
    path, gt = coco_json
    # evaluate on nose and the two shoulders only
    conv = dict(num_keypoints=3, mapping=[(0, 0), (5, 1), (6, 2)])
    meta = _meta()
    metric = CocoMetric(ann_file=path, pred_converter=conv,
                        gt_converter=conv)
    metric.dataset_meta = meta
    assert metric.dataset_meta['sigmas'] == [.026, .079, .079]
    assert meta['sigmas'] == COCO_SIGMAS  # the caller's dict is untouched
    samples = _topdown_samples(gt)
    # garbage on the joints the mapping drops must not matter
    for s in samples:
        s['pred_instances']['keypoints'][:, 7:] = -1000
    for s in samples:
        metric.process([], [s])
    assert metric.compute_metrics(metric.results)['AP'] == pytest.approx(1.0)


def test_bottomup_sample_lists_ground_truth_categories(tmp_path):
    # A bottom-up sample carries its 2 ground-truth persons' ids and
    # categories; the model found 1 person (or none): the one category
    # applies to every prediction.
    path, kpts = _one_image_gt(tmp_path)
    metric = CocoMetric(ann_file=path, score_mode='bbox', nms_mode='none')
    sample = _image_sample(kpts[:1], np.ones((1, 17)), np.ones(1))
    sample.update(id=[1, 2], category_id=[1, 1])
    empty = _image_sample(np.zeros((0, 17, 2)), np.zeros((0, 17)),
                          np.zeros(0))
    empty.update(id=[1, 2], category_id=[1, 1])
    result = _evaluate(metric, [sample])
    # one of two persons found exactly: recall 0.5 at every threshold
    assert result['AR'] == pytest.approx(0.5)
    # no prediction at all (an untrained model): AP 0, not a crash
    assert _evaluate(CocoMetric(ann_file=path), [empty])['AP'] == 0
    mixed = dict(sample, category_id=[1, 2])
    with pytest.raises(ValueError, match=r'categories \[1, 2\].*1 predict'):
        _evaluate(CocoMetric(ann_file=path), [mixed])


def test_one_instance_per_image_and_scalar_id_as_mmpose(tmp_path):
    """MMPose keeps one instance per (img_id, id) when id is a single
    value (the first processed), so a two-person sample under one id
    finds one of the two people; under a list of ids (bottom-up) both."""
    path, kpts = _one_image_gt(tmp_path)
    sample = dict(_image_sample(kpts.astype(np.float32), np.ones((2, 17)),
                                np.array([.9, .8])), id=7)
    prefix = str(tmp_path / 'scalar')
    scalar = _evaluate(CocoMetric(ann_file=path, outfile_prefix=prefix),
                       [sample])
    with open(prefix + '.keypoints.json') as f:
        (kept, ) = json.load(f)
    assert kept['score'] == pytest.approx(0.9)  # the first instance
    assert kept['keypoints'][:2] == pytest.approx(kpts[0, 0].tolist(),
                                                  abs=1e-4)
    assert scalar['AR'] == pytest.approx(0.5)
    # a later sample under the same key adds nothing, even a better one
    later = dict(sample, pred_instances=dict(
        sample['pred_instances'], bbox_scores=np.array([.95, .95])))
    again = _evaluate(CocoMetric(ann_file=path), [sample, later])
    assert again == scalar
    listed = _evaluate(CocoMetric(ann_file=path), [dict(sample, id=[1, 2])])
    assert listed['AP'] == pytest.approx(1.0)
    assert listed['AR'] == pytest.approx(1.0)
