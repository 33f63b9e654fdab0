"""pycocotools' ``COCOeval`` for keypoints, with vectorised evaluate and
accumulate.

:class:`KeypointCOCOeval` keeps pycocotools' parameters, result layout
(``eval['precision']`` etc.) and ``summarize``; it replaces the per-image,
per-detection Python loops of ``evaluate``/``accumulate`` with array code
and gives the same numbers. Its OKS follows xtcocotools, which MMPose uses:
``use_area=False`` takes ``0.53 * w * h`` of the ground-truth box as the
area, and a detection whose keypoint scores are all 0 is not evaluated.
"""
import copy
import datetime
from typing import Dict, List, Optional

import numpy as np
from pycocotools.cocoeval import COCOeval

from .coco_matching import match_all


class KeypointCOCOeval(COCOeval):
    """COCO keypoint evaluation (``iouType='keypoints'``).

    Args:
        cocoGt: a pycocotools ``COCO`` with the ground truth.
        cocoDt: a ``COCO`` of detections (from ``loadRes``), or None and
            :meth:`load_detections` instead (no json round trip).
        sigmas: (K,) per-keypoint sigmas; COCO's 17 when None.
        use_area: take the annotations' ``area`` as the OKS scale (else
            ``0.53 * w * h`` of their box).

    ``ious`` is not filled (the OKS is computed in blocks); ``evalImgs`` is
    built on first access.
    """

    def __init__(self, cocoGt=None, cocoDt=None,
                 sigmas: Optional[np.ndarray] = None, use_area: bool = True):
        self._eval_imgs = None
        self._state: Optional[Dict[str, np.ndarray]] = None
        self._dets: Optional[Dict[str, np.ndarray]] = None
        super().__init__(cocoGt, cocoDt, iouType='keypoints')
        if sigmas is not None:
            self.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        self.params.useSegm = None
        self.use_area = use_area

    # pycocotools assigns evalImgs itself; build the dicts only on demand
    @property
    def evalImgs(self):  # noqa: N802 (pycocotools' name)
        if self._eval_imgs is None and self._state is not None:
            self._eval_imgs = self._build_eval_imgs()
        return self._eval_imgs

    @evalImgs.setter
    def evalImgs(self, value):  # noqa: N802
        self._eval_imgs = value

    def load_detections(self, image_ids: np.ndarray, category_ids: np.ndarray,
                        keypoints: np.ndarray, scores: np.ndarray) -> None:
        """Detections as arrays, as ``COCO.loadRes`` would see them.

        Args:
            image_ids, category_ids, scores: (N,).
            keypoints: (N, K, 3) x, y, score in image pixels.

        Detection ``i`` gets id ``i + 1`` and the area of its keypoints'
        extent, like ``loadRes``.
        """
        kpts = np.asarray(keypoints, dtype=np.float64)
        if kpts.ndim != 3 or kpts.shape[2] != 3:
            raise ValueError(f'load_detections: keypoints must be (N, K, 3), '
                             f'got {kpts.shape}')
        self._dets = dict(img=np.asarray(image_ids).reshape(-1),
                          cat=np.asarray(category_ids).reshape(-1),
                          kpts=kpts,
                          score=np.asarray(scores, np.float64).reshape(-1),
                          ids=np.arange(1, len(kpts) + 1))

    # ------------------------------------------------------------ gathering
    def _det_arrays(self, num_kpts: int) -> Dict[str, np.ndarray]:
        if self._dets is not None:
            dets = dict(self._dets)
        else:
            if self.cocoDt is None:
                raise ValueError('KeypointCOCOeval: no detections; pass '
                                 'cocoDt or call load_detections()')
            anns = list(self.cocoDt.anns.values())
            dets = dict(
                img=np.array([a['image_id'] for a in anns]),
                cat=np.array([a.get('category_id', 1) for a in anns]),
                kpts=_keypoint_array(anns, num_kpts, 'detection'),
                score=np.array([a['score'] for a in anns], float),
                ids=np.array([a['id'] for a in anns]))
        if dets['kpts'].shape[1] != num_kpts:
            raise ValueError(
                f"detections have {dets['kpts'].shape[1]} keypoints but "
                f'{num_kpts} sigmas were given')
        xy = dets['kpts'][..., :2]
        extent = xy.max(1) - xy.min(1)
        dets['area'] = extent[:, 0] * extent[:, 1]
        return dets

    def _gt_arrays(self, num_kpts: int) -> Dict[str, np.ndarray]:
        p = self.params
        anns = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(
            imgIds=p.imgIds, catIds=p.catIds))
        kpts = _keypoint_array(anns, num_kpts, 'ground-truth')
        try:
            bbox = np.array([a['bbox'] for a in anns], float).reshape(-1, 4)
        except KeyError:
            bad = next(a for a in anns if 'bbox' not in a)
            raise KeyError(f"ground-truth annotation id {bad.get('id')} has "
                           "no 'bbox' (x, y, w, h)") from None
        box_area = bbox[:, 2] * bbox[:, 3] * 0.53
        if self.use_area:
            missing = [a.get('id') for a in anns if 'area' not in a]
            if missing:
                raise KeyError(
                    f"ground-truth annotation id {missing[0]} has no 'area'; "
                    'add it or evaluate with use_area=False')
            area = np.array([a['area'] for a in anns], float)
        else:
            area = box_area
        crowd = np.array([bool(a.get('iscrowd', 0)) for a in anns], bool)
        return dict(
            img=np.array([a['image_id'] for a in anns]),
            cat=np.array([a.get('category_id', 1) for a in anns]),
            kpts=kpts, bbox=bbox, area=area, crowd=crowd,
            ignore=crowd | ((kpts[..., 2] > 0).sum(1) == 0),
            ids=np.array([a['id'] for a in anns]))

    # ----------------------------------------------------------- evaluation
    def evaluate(self) -> None:
        """Match detections to ground truth per image, category and area
        range at every OKS threshold (results kept as arrays).

        Raises:
            ValueError: keypoint counts disagree with the sigmas, or
                ``params.useSegm`` is set.
        """
        p = self.params
        if p.useSegm is not None:
            raise ValueError('KeypointCOCOeval evaluates keypoints only; '
                             'leave params.useSegm as None')
        if p.useCats != 1:
            # pycocotools' keypoint OKS ignores useCats=0 (matches nothing)
            raise ValueError('KeypointCOCOeval needs params.useCats = 1, '
                             f'got {p.useCats}')
        p.imgIds = np.unique(p.imgIds).tolist()
        p.catIds = np.unique(p.catIds).tolist()
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self._prepare_empty()
        sigmas = np.asarray(p.kpt_oks_sigmas, dtype=np.float64)
        img_ids = np.asarray(p.imgIds)
        cat_ids = np.asarray(p.catIds)
        num_img = len(img_ids)

        gts, dets = self._gt_arrays(len(sigmas)), self._det_arrays(len(sigmas))
        g_img = _index_in(img_ids, gts['img'])
        d_img = _index_in(img_ids, dets['img'])
        g_cat = _index_in(cat_ids, gts['cat'])
        d_cat = _index_in(cat_ids, dets['cat'])
        # as xtcocotools: detections with no positive keypoint score go
        keep = ((d_img >= 0) & (d_cat >= 0)
                & (dets['kpts'][..., 2] > 0).any(1))
        d_pair = (d_cat * num_img + d_img)[keep]
        d_sel = np.flatnonzero(keep)
        order = np.lexsort((-dets['score'][d_sel], d_pair))
        d_sel, d_pair = d_sel[order], d_pair[order]
        d_rank = _rank_in_runs(d_pair)
        top = d_rank < p.maxDets[-1]
        d_sel, d_pair, d_rank = d_sel[top], d_pair[top], d_rank[top]
        dets = {k: v[d_sel] for k, v in dets.items()}

        g_ok = (g_img >= 0) & (g_cat >= 0)
        g_pair = (g_cat * num_img + g_img)[g_ok]
        g_order = np.argsort(g_pair, kind='stable')
        g_pair = g_pair[g_order]
        gts = {k: v[np.flatnonzero(g_ok)[g_order]] for k, v in gts.items()}
        g_slot = _rank_in_runs(g_pair)

        state = match_all(gts, dets, g_pair, g_slot, d_pair, d_rank,
                          len(cat_ids) * num_img, sigmas, p)
        state.update(g_pair=g_pair, d_pair=d_pair, d_rank=d_rank,
                     d_score=dets['score'], d_ids=dets['ids'],
                     g_ids=gts['ids'], num_img=num_img)
        self._state = state
        self._eval_imgs = None
        # one level deeper than a shallow copy is enough (deepcopy of the
        # numpy image ids is slow)
        self._paramsEval = copy.copy(self.params)
        self._paramsEval.__dict__ = {
            k: copy.copy(v) for k, v in vars(self.params).items()}

    def _prepare_empty(self) -> None:
        self.ious = {}
        self.eval = {}
        self._eval_imgs = None

    def accumulate(self, p=None) -> None:
        """Precision/recall over all images, as pycocotools' accumulate.

        Raises:
            RuntimeError: :meth:`evaluate` has not run.
        """
        if self._state is None:
            raise RuntimeError('KeypointCOCOeval: run evaluate() before '
                               'accumulate()')
        if p is None:
            p = self.params
        st, pe = self._state, self._paramsEval
        t_n, r_n = len(p.iouThrs), len(p.recThrs)
        k_n = len(p.catIds)
        a_n, m_n = len(p.areaRng), len(p.maxDets)
        precision = -np.ones((t_n, r_n, k_n, a_n, m_n))
        recall = -np.ones((t_n, k_n, a_n, m_n))
        scores = -np.ones((t_n, r_n, k_n, a_n, m_n))

        set_k = set(pe.catIds)
        set_a = set(map(tuple, pe.areaRng))
        set_i = set(pe.imgIds)
        k_list = [n for n, k in enumerate(p.catIds) if k in set_k]
        m_list = [m for m in p.maxDets if m in set(pe.maxDets)]
        a_list = [n for n, a in enumerate(map(tuple, p.areaRng))
                  if a in set_a]
        i_used = np.zeros(st['num_img'], bool)
        i_used[[n for n, i in enumerate(p.imgIds) if i in set_i]] = True
        num_img = st['num_img']
        d_in = i_used[st['d_pair'] % num_img]
        g_in = i_used[st['g_pair'] % num_img]
        for k, k0 in enumerate(k_list):
            d_k = d_in & (st['d_pair'] // num_img == k0)
            g_k = g_in & (st['g_pair'] // num_img == k0)
            for a, a0 in enumerate(a_list):
                npig = int(np.count_nonzero(~st['gt_ignore'][g_k, a0]))
                if npig == 0:
                    continue
                for m, max_det in enumerate(m_list):
                    sel = np.flatnonzero(d_k & (st['d_rank'] < max_det))
                    q, ss, rc_last = _pr_curve(
                        st['d_score'][sel], st['dt_matched'][sel, a0],
                        st['dt_ignore'][sel, a0], npig, p.recThrs)
                    precision[:, :, k, a, m] = q
                    scores[:, :, k, a, m] = ss
                    recall[:, k, a, m] = rc_last
        self.eval = dict(
            params=p, counts=[t_n, r_n, k_n, a_n, m_n],
            date=datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S'),
            precision=precision, recall=recall, scores=scores)

    def _build_eval_imgs(self) -> List[Optional[dict]]:
        """pycocotools' per (category, area range, image) result dicts."""
        st, p = self._state, self._paramsEval
        num_pairs = st['num_pairs']
        num_img = st['num_img']
        g_start = np.searchsorted(st['g_pair'], np.arange(num_pairs + 1))
        d_start = np.searchsorted(st['d_pair'], np.arange(num_pairs + 1))
        cat_ids = p.catIds
        out = []
        for e0 in range(0, num_pairs, num_img):
            for a, a_rng in enumerate(p.areaRng):
                for e in range(e0, e0 + num_img):
                    out.append(self._one_eval_img(
                        st, slice(g_start[e], g_start[e + 1]),
                        slice(d_start[e], d_start[e + 1]), a, a_rng,
                        p.imgIds[e % num_img], cat_ids[e // num_img]))
        return out

    def _one_eval_img(self, st, gs, ds, a, a_rng, img_id, cat_id):
        if gs.start == gs.stop and ds.start == ds.stop:
            return None
        ig = st['gt_ignore'][gs, a]
        g_order = np.argsort(ig, kind='stable')
        g_ids = st['g_ids'][gs][g_order]
        g_match = st['gt_match'][gs, a].T[:, g_order]  # (T, G) det index
        d_match = st['dt_match'][ds, a].T  # (T, D) gt index
        return {
            'image_id': img_id, 'category_id': cat_id, 'aRng': a_rng,
            'maxDet': self._paramsEval.maxDets[-1],
            'dtIds': st['d_ids'][ds].tolist(), 'gtIds': g_ids.tolist(),
            'dtMatches': _ids_or_zero(st['g_ids'], d_match),
            'gtMatches': _ids_or_zero(st['d_ids'], g_match),
            'dtScores': st['d_score'][ds].tolist(),
            'gtIgnore': ig[g_order].astype(int),
            'dtIgnore': st['dt_ignore'][ds, a].T.copy()}


def _ids_or_zero(ids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """ids[index] as floats, 0 where index is -1 (pycocotools' layout)."""
    return np.append(ids, 0).astype(np.float64)[index]


def _keypoint_array(anns: List[dict], num_kpts: int, what: str) -> np.ndarray:
    lengths = np.array([len(a.get('keypoints', ())) for a in anns], int)
    bad = np.flatnonzero(lengths != 3 * num_kpts)
    if len(bad):
        ann = anns[bad[0]]
        raise ValueError(
            f"{what} annotation id {ann.get('id')} has {lengths[bad[0]] // 3}"
            f' keypoints (a flat x, y, v list of length {lengths[bad[0]]}), '
            f'but {num_kpts} sigmas were given')
    if not anns:
        return np.zeros((0, num_kpts, 3))
    return np.array([a['keypoints'] for a in anns],
                    float).reshape(len(anns), num_kpts, 3)


def _index_in(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``sorted_ids``, -1 if absent."""
    if len(values) == 0 or len(sorted_ids) == 0:
        return np.full(len(values), -1)
    pos = np.searchsorted(sorted_ids, values).clip(0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == values, pos, -1)


def _rank_in_runs(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal consecutive keys."""
    if len(sorted_keys) == 0:
        return np.zeros(0, int)
    idx = np.arange(len(sorted_keys))
    new_run = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    return idx - np.maximum.accumulate(np.where(new_run, idx, 0))


def _pr_curve(scores, matched, ignored, npig, rec_thrs):
    """Interpolated precision (T, R), score at each recall (T, R) and the
    final recall (T,) of detections pooled over images."""
    order = np.argsort(-scores, kind='mergesort')
    scores = scores[order]
    matched, ignored = matched[order].T, ignored[order].T  # (T, nd)
    t_n, nd = matched.shape
    if nd == 0:
        return 0., 0., 0.
    tp = np.cumsum(matched & ~ignored, axis=1).astype(float)
    fp = np.cumsum(~matched & ~ignored, axis=1).astype(float)
    rc = tp / npig
    pr = tp / (fp + tp + np.spacing(1))
    # precision made non-increasing from the right
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
    q = np.zeros((t_n, len(rec_thrs)))
    ss = np.zeros((t_n, len(rec_thrs)))
    for t in range(t_n):
        inds = np.searchsorted(rc[t], rec_thrs, side='left')
        ok = inds < nd
        q[t, ok] = pr[t, inds[ok]]
        ss[t, ok] = scores[inds[ok]]
    return q, ss, rc[:, -1]
