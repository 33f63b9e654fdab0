"""Human3.6M for 2D-to-3D pose lifting: windows of frames from ``.npz``
annotation files (MMPose's preprocessed format)."""
import os.path as osp
from collections import defaultdict
from copy import deepcopy
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from posekit.registry import DATASETS
from ..base import build_pipeline
from ..base.pipeline_meta import PipelineMeta
from ..utils import parse_pose_metainfo
from .camera_params import load_camera_params

__all__ = ['Human36mDataset', 'parse_h36m_imgname']

_KEYPOINT_2D_SRCS = ('gt', 'detection', 'pipeline')


def parse_h36m_imgname(imgname: str) -> Tuple[str, str, str]:
    """'S1_Directions_1.54138969_000001.jpg' (any folder) ->
    ('S1', 'Directions_1', '54138969').

    Raises:
        ValueError: the name does not follow that pattern.
    """
    base = osp.basename(str(imgname))
    try:
        subj, rest = base.split('_', 1)
        action, rest = rest.split('.', 1)
        camera, _ = rest.split('_', 1)
    except ValueError:
        raise ValueError(
            f'Human36mDataset: image name {imgname!r} is not of the form '
            '<subject>_<action>.<camera>_<frame>.jpg') from None
    return subj, action, camera


def _window_indices(n: int, seq_len: int, step: int, causal: bool,
                    pad: bool) -> np.ndarray:
    """Positions (within one video of n frames) of every sample's frames:
    (num_samples, seq_len)."""
    if pad:
        left = seq_len - 1 if causal else (seq_len - 1) // 2
        offsets = np.arange(-left, seq_len - left) * step
        # Frames beyond either end repeat the first/last frame.
        return np.clip(np.arange(n)[:, None] + offsets, 0, n - 1)
    span = (seq_len - 1) * step + 1
    starts = np.arange(max(n - span + 1, 0))
    return starts[:, None] + np.arange(seq_len) * step


@DATASETS.register_module()
class Human36mDataset(BaseDataset):
    """Human3.6M lifting samples; each is a window of ``seq_len`` frames
    (every ``seq_step``-th) of one (subject, action, camera) video.

    Data info: ``keypoints`` (T, K, 2) pixels, ``keypoints_visible`` (T, K),
    ``keypoints_3d`` (T, K, 3), ``keypoints_3d_visible`` (T, K),
    ``lifting_target`` (M, K, 3) camera-space metres (M = 1, or
    ``multiple_target``), ``lifting_target_visible`` (M, K),
    ``target_idx`` (list of M frame positions), ``target_img_path``
    (list of M names), ``img_paths``, ``img_ids`` (frame indices),
    ``factor`` (T,), ``camera_param`` (dict, with ``camera_param_file``),
    ``id``, ``category_id``, ``scale``, ``center``.

    Args:
        ann_file: ``.npz`` with ``imgname``, ``S`` (N, K, 4), ``part``
            (N, K, 3), ``center``, ``scale``.
        seq_len, seq_step: window length and frame stride.
        multiple_target, multiple_target_step: with ``multiple_target`` > 0
            (needs ``seq_len`` 1) windows of that many frames, all targets,
            starting every ``multiple_target_step`` frames (default: no
            overlap).
        pad_video_seq: one window per frame, padding with the first/last
            frame.
        causal: target is the last frame (else the middle one).
        subset_frac: keep a random contiguous fraction of the samples.
        keypoint_2d_src: 'gt', 'detection' (``keypoint_2d_det_file``, an
            (N, K, 3) ``.npy``) or 'pipeline'.
        factor_file: (N,) ``.npy`` of projection factors.
        camera_param_file: cameras pickle (loaded safely).
        data_mode: only 'topdown'.
        Others: as in mmengine's ``BaseDataset``.

    Raises:
        ValueError: a bad argument value or array shape.
        FileNotFoundError: a named file is missing.
        KeyError: the annotation file lacks a required array.
    """

    METAINFO: dict = dict(from_file='configs/_base_/datasets/h36m.py')

    def __init__(self, ann_file: str = '', seq_len: int = 1,
                 seq_step: int = 1, multiple_target: int = 0,
                 multiple_target_step: int = 0, pad_video_seq: bool = False,
                 causal: bool = True, subset_frac: float = 1.0,
                 keypoint_2d_src: str = 'gt',
                 keypoint_2d_det_file: Optional[str] = None,
                 factor_file: Optional[str] = None,
                 camera_param_file: Optional[str] = None,
                 data_mode: str = 'topdown',
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 data_prefix: dict = dict(img=''),
                 filter_cfg: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = [],
                 test_mode: bool = False, lazy_init: bool = False,
                 max_refetch: int = 1000):
        name = type(self).__name__
        if keypoint_2d_src not in _KEYPOINT_2D_SRCS:
            raise ValueError(f'{name}: keypoint_2d_src must be one of '
                             f'{_KEYPOINT_2D_SRCS}, got {keypoint_2d_src!r}')
        if keypoint_2d_src == 'detection' and not keypoint_2d_det_file:
            raise ValueError(f"{name}: keypoint_2d_src='detection' needs "
                             'keypoint_2d_det_file')
        if data_mode != 'topdown':
            raise ValueError(f"{name}: only data_mode='topdown' is "
                             f'supported, got {data_mode!r}')
        for arg, val, low in (('seq_len', seq_len, 1), ('seq_step', seq_step,
                              1), ('multiple_target', multiple_target, 0),
                              ('multiple_target_step', multiple_target_step,
                               0)):
            if isinstance(val, bool) or not isinstance(val, int) or val < low:
                raise ValueError(f'{name}: {arg} must be an int >= {low}, '
                                 f'got {val!r}')
        if multiple_target and seq_len != 1:
            raise ValueError(f'{name}: multiple_target needs seq_len=1, got '
                             f'seq_len={seq_len}')
        if not 0 < subset_frac <= 1:
            raise ValueError(f'{name}: subset_frac must be in (0, 1], got '
                             f'{subset_frac!r}')
        root = data_root or ''
        self.seq_len, self.seq_step = seq_len, seq_step
        self.multiple_target = multiple_target
        self.multiple_target_step = multiple_target_step or multiple_target
        self.pad_video_seq, self.causal = pad_video_seq, causal
        self.subset_frac = subset_frac
        self.keypoint_2d_src = keypoint_2d_src
        self.keypoint_2d_det_file = keypoint_2d_det_file and osp.join(
            root, keypoint_2d_det_file)
        self.factor_file = factor_file and osp.join(root, factor_file)
        self.camera_param_file = camera_param_file and osp.join(
            root, camera_param_file)
        self.data_mode = data_mode
        super().__init__(
            ann_file=ann_file, metainfo=metainfo, data_root=root,
            data_prefix=data_prefix, filter_cfg=filter_cfg, indices=indices,
            serialize_data=serialize_data, pipeline=build_pipeline(pipeline),
            test_mode=test_mode, lazy_init=lazy_init,
            max_refetch=max_refetch)

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        if metainfo is None:
            metainfo = deepcopy(cls.METAINFO)
        if not isinstance(metainfo, dict):
            raise TypeError(f'{cls.__name__}: metainfo must be a dict, got '
                            f'{type(metainfo).__name__}')
        return parse_pose_metainfo(metainfo)

    # ------------------------------------------------------------ loading
    def _load_npy(self, path: str, arg: str, num: int) -> np.ndarray:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{type(self).__name__}: {arg} {path!r} '
                                    'does not exist')
        arr = np.load(path).astype(np.float32)
        if arr.shape[0] != num:
            raise ValueError(f'{type(self).__name__}: {arg} {path!r} has '
                             f'{arr.shape[0]} frames, the ann_file {num}')
        return arr

    def get_sequence_indices(self, imgnames: Sequence[str]
                             ) -> List[np.ndarray]:
        """Frame indices (into the ann_file) of every sample, videos in
        sorted (subject, action, camera) order."""
        videos: Dict[Tuple[str, str, str], List[int]] = defaultdict(list)
        for idx, imgname in enumerate(imgnames):
            videos[parse_h36m_imgname(imgname)].append(idx)
        seqs = []
        for key in sorted(videos):
            frames = np.asarray(videos[key])
            n = len(frames)
            if self.multiple_target:
                mt, st = self.multiple_target, self.multiple_target_step
                count = max((n + st - mt) // st, 0)
                pos = (np.arange(count) * st)[:, None] + np.arange(mt)
            else:
                pos = _window_indices(n, self.seq_len, self.seq_step,
                                      self.causal, self.pad_video_seq)
            seqs.extend(frames[pos])
        size = int(len(seqs) * self.subset_frac)
        start = np.random.randint(0, len(seqs) - size + 1)
        return seqs[start:start + size]

    def load_data_list(self) -> List[dict]:
        """Read the ann_file (and side files) into one info per window."""
        name = type(self).__name__
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{name}: ann_file {self.ann_file!r} '
                                    'does not exist')
        with np.load(self.ann_file) as npz:
            data = {k: npz[k] for k in npz.files}
        for key in ('imgname', 'S'):
            if key not in data:
                raise KeyError(f'{name}: ann_file {self.ann_file!r} lacks '
                               f'the array {key!r}; it has {sorted(data)}')
        imgnames = [str(n) for n in data['imgname']]
        num, k = len(imgnames), self._metainfo['num_keypoints']
        kpts_3d = data['S'].astype(np.float32)
        if kpts_3d.shape[1:] != (k, 4):
            raise ValueError(f"{name}: 'S' must be (N, {k}, 4), got "
                             f'{kpts_3d.shape} in {self.ann_file!r}')
        kpts_2d = data.get('part', np.zeros((num, k, 3))).astype(np.float32)
        if self.keypoint_2d_src == 'detection':
            kpts_2d = self._load_npy(self.keypoint_2d_det_file,
                                     'keypoint_2d_det_file', num)
        if kpts_2d.shape[1:] != (k, 3):
            raise ValueError(f'{name}: 2D keypoints must be (N, {k}, 3), '
                             f'got {kpts_2d.shape}')
        factors = self._load_npy(self.factor_file, 'factor_file', num) \
            if self.factor_file else np.zeros(num, np.float32)
        centers = data.get('center', np.zeros((num, 2))).astype(np.float32)
        scales = data.get('scale', np.zeros(num)).astype(np.float32)
        cameras = load_camera_params(self.camera_param_file) \
            if self.camera_param_file else None

        data_list = []
        for idx, frames in enumerate(self.get_sequence_indices(imgnames)):
            target_idx = list(range(len(frames))) if self.multiple_target \
                else [-1 if self.causal else self.seq_len // 2]
            tgt_frames = frames[target_idx]
            info = dict(
                id=idx, category_id=1, iscrowd=0, num_keypoints=k,
                keypoints=kpts_2d[frames, :, :2],
                keypoints_visible=kpts_2d[frames, :, 2],
                keypoints_3d=kpts_3d[frames, :, :3],
                keypoints_3d_visible=kpts_3d[frames, :, 3],
                lifting_target=kpts_3d[tgt_frames, :, :3],
                lifting_target_visible=kpts_3d[tgt_frames, :, 3],
                target_idx=target_idx,
                img_paths=[imgnames[i] for i in frames],
                img_ids=[int(i) for i in frames],
                target_img_path=[imgnames[i] for i in tgt_frames],
                scale=scales[tgt_frames[0]],
                center=centers[tgt_frames[0]].reshape(1, 2),
                factor=factors[frames])
            if cameras is not None:
                info['camera_param'] = self._camera(cameras, imgnames[
                    frames[0]])
            data_list.append(info)
        # Windows whose 2D keypoints are all zero carry no input.
        return [d for d in data_list if d['keypoints'].max() > 0]

    def _camera(self, cameras: dict, imgname: str) -> dict:
        subj, _, cam = parse_h36m_imgname(imgname)
        if (subj, cam) not in cameras:
            raise KeyError(f'{type(self).__name__}: camera_param_file '
                           f'{self.camera_param_file!r} has no entry '
                           f'{(subj, cam)!r} for {imgname!r}')
        return deepcopy(cameras[(subj, cam)])

    def get_camera_param(self, imgname: str) -> dict:
        """The camera parameters of the video ``imgname`` belongs to."""
        if not self.camera_param_file:
            raise KeyError(f'{type(self).__name__}: no camera_param_file '
                           'was given')
        return self._camera(load_camera_params(self.camera_param_file),
                            imgname)

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx`` with the metainfo fields of
        ``PIPELINE_META_KEYS`` added (see :class:`PipelineMeta`)."""
        meta = getattr(self, '_pipeline_meta', None)
        if meta is None:
            meta = self._pipeline_meta = PipelineMeta(type(self).__name__,
                                                      self._metainfo)
        return self.pipeline(meta.add_to(self.get_data_info(idx), idx))
