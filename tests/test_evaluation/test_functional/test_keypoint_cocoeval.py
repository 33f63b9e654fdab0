"""KeypointCOCOeval must give pycocotools' (and, for its xtcocotools rules,
xtcocotools') numbers; the stock evaluators are the reference."""
import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posekit.evaluation.functional import KeypointCOCOeval

SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                   1.07, 1.07, .87, .87, .89, .89]) / 10


def _random_set(seed, num_images=25):
    """Ground truth with crowds, unlabelled people, two categories and
    varied sizes; detections with duplicates, misses, score ties, clutter
    and more than 20 per image."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    for im in range(1, num_images + 1):
        images.append(dict(id=im * 3, width=640, height=480))
        for _ in range(rng.integers(0, 6)):
            x0, y0 = rng.uniform(0, 400), rng.uniform(0, 250)
            w, h = rng.uniform(10, 200), rng.uniform(10, 220)
            k = np.stack([rng.uniform(x0, x0 + w, 17),
                          rng.uniform(y0, y0 + h, 17)], -1)
            v = (rng.choice([0, 1, 2], 17, p=[.3, .2, .5])
                 if rng.random() < .85 else np.zeros(17, int))
            cat = int(rng.integers(1, 3))
            anns.append(dict(
                id=len(anns) + 1, image_id=im * 3, category_id=cat,
                iscrowd=int(rng.random() < .1), bbox=[x0, y0, w, h],
                area=w * h * rng.uniform(.4, .9), num_keypoints=int(
                    (v > 0).sum()), keypoints=np.concatenate(
                        [k * (v[:, None] > 0), v[:, None]],
                        -1).reshape(-1).tolist()))
            for _ in range(rng.integers(0, 4)):
                noise = rng.normal(0, 1, k.shape) * np.sqrt(w * h) * \
                    SIGMAS[:, None] * rng.uniform(.2, 3)
                dets.append(dict(
                    image_id=im * 3, category_id=cat,
                    keypoints=np.concatenate(
                        [k + noise, rng.uniform(.05, 1, (17, 1))],
                        -1).reshape(-1).tolist(),
                    score=float(np.round(rng.uniform(.5, 1), 1))))
        for _ in range(rng.integers(0, 25 if im % 7 == 0 else 3)):
            dets.append(dict(
                image_id=im * 3, category_id=int(rng.integers(1, 3)),
                keypoints=np.concatenate(
                    [rng.uniform(0, 500, (17, 2)), np.full((17, 1), .5)],
                    -1).reshape(-1).tolist(),
                score=float(np.round(rng.uniform(0, 1), 1))))
    gt = dict(images=images, annotations=anns,
              categories=[dict(id=1, name='a'), dict(id=2, name='b')])
    return gt, dets


def _coco(gt, dets):
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        return coco, coco.loadRes(copy.deepcopy(dets))


def _run(evaluator):
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_same_as_pycocotools(seed):
    gt, dets = _random_set(seed)
    coco, coco_dt = _coco(gt, dets)
    ref = COCOeval(coco, coco_dt, 'keypoints')
    ref.params.kpt_oks_sigmas = SIGMAS
    ours = KeypointCOCOeval(*_coco(gt, dets), sigmas=SIGMAS)
    _run(ref)
    _run(ours)
    assert ref.stats[0] > 0.02  # the data exercise matching at all
    np.testing.assert_allclose(ours.stats, ref.stats, atol=1e-12)
    for key in ('precision', 'recall', 'scores'):
        np.testing.assert_allclose(ours.eval[key], ref.eval[key],
                                   atol=1e-12)
    # the per-image records too, in pycocotools' layout
    assert len(ours.evalImgs) == len(ref.evalImgs)
    for a, b in zip(ref.evalImgs, ours.evalImgs):
        assert (a is None) == (b is None)
        if a is None:
            continue
        assert a['dtIds'] == b['dtIds'] and a['gtIds'] == b['gtIds']
        for key in ('dtMatches', 'gtMatches', 'dtIgnore', 'gtIgnore'):
            np.testing.assert_array_equal(a[key], b[key])


def test_load_detections_equals_loadres():
    gt, dets = _random_set(3)
    coco, coco_dt = _coco(gt, dets)
    from_coco = _run(KeypointCOCOeval(coco, coco_dt, sigmas=SIGMAS))
    arrays = KeypointCOCOeval(coco, sigmas=SIGMAS)
    arrays.load_detections(
        np.array([d['image_id'] for d in dets]),
        np.array([d['category_id'] for d in dets]),
        np.array([d['keypoints'] for d in dets]).reshape(len(dets), 17, 3),
        np.array([d['score'] for d in dets]))
    np.testing.assert_allclose(_run(arrays).stats, from_coco.stats)


@pytest.mark.parametrize('use_area', [True, False])
def test_xtcocotools_rules(use_area):
    xt_coco = pytest.importorskip('xtcocotools.coco')
    xt_eval = pytest.importorskip('xtcocotools.cocoeval')
    gt, dets = _random_set(4)
    for d in dets[::5]:  # detections without any positive score
        d['keypoints'][2::3] = [0.0] * 17
    with contextlib.redirect_stdout(io.StringIO()):
        coco = xt_coco.COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ref = xt_eval.COCOeval(coco, coco.loadRes(copy.deepcopy(dets)),
                               'keypoints', SIGMAS, use_area)
    ref.params.useSegm = None
    ours = KeypointCOCOeval(*_coco(gt, dets), sigmas=SIGMAS,
                            use_area=use_area)
    np.testing.assert_allclose(_run(ours).stats, _run(ref).stats,
                               atol=1e-12)


def test_errors():
    gt, dets = _random_set(0, num_images=3)
    gt['annotations'][0]['keypoints'] = [0.0] * 42
    coco, coco_dt = _coco(gt, dets)
    with pytest.raises(ValueError, match=r'annotation id 1 has 14 keypoints.*'
                       r'17 sigmas'):
        KeypointCOCOeval(coco, coco_dt, sigmas=SIGMAS).evaluate()
    with pytest.raises(RuntimeError, match='evaluate'):
        KeypointCOCOeval(coco, coco_dt, sigmas=SIGMAS).accumulate()
    del gt['annotations'][0]
    del gt['annotations'][0]['area']
    missing_id = gt['annotations'][0]['id']
    coco, coco_dt = _coco(gt, dets)
    with pytest.raises(KeyError, match=f'id {missing_id} has no .area.*'
                       'use_area=False'):
        KeypointCOCOeval(coco, coco_dt, sigmas=SIGMAS).evaluate()
