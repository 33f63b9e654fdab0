"""LoadImage: read the sample's image from disk (or take the one given)."""
import os
import stat
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from posekit.registry import TRANSFORMS

from .required_keys import check_required_keys

# cv2 flags per mmcv ``color_type`` (the names mmcv.imread accepts).
_CV2_FLAGS = {
    'color': cv2.IMREAD_COLOR,
    'grayscale': cv2.IMREAD_GRAYSCALE,
    'unchanged': cv2.IMREAD_UNCHANGED,
    'color_ignore_orientation': cv2.IMREAD_IGNORE_ORIENTATION
    | cv2.IMREAD_COLOR,
    'grayscale_ignore_orientation': cv2.IMREAD_IGNORE_ORIENTATION
    | cv2.IMREAD_GRAYSCALE,
}
_DECODE_BACKENDS = ('cv2', 'turbojpeg', 'pillow', 'tifffile')
# With reuse_last, a decoded image is kept (and copied for the caller)
# until this many reads in a row named a new file; from then on only the
# name is kept, until a file comes twice in a row again.
_KEEP_WHILE_MISSES = 16


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Load ``img_path`` into ``img``, or keep an ``img`` already given.

    Writes ``img`` ((H, W, 3) uint8 BGR for ``color_type='color'``;
    float32 with ``to_float32``), ``img_shape`` and ``ori_shape`` = (h, w).

    Args:
        to_float32: convert the image to float32.
        color_type: ``'color'``, ``'grayscale'``, ``'unchanged'``,
            ``'color_ignore_orientation'`` or
            ``'grayscale_ignore_orientation'``.
        imdecode_backend: ``'cv2'`` (fast path: ``cv2.imread``),
            ``'turbojpeg'``, ``'pillow'`` or ``'tifffile'`` (through
            ``mmcv.imfrombytes``).
        backend_args: mmengine file-backend arguments for non-local storage.
        ignore_empty: return ``None`` (the dataset then draws another
            sample) instead of raising for a missing or unreadable file.
        reuse_last: keep the last decoded image and hand out a copy of it
            when the next sample names the same file (same path, and for
            a local file the same size and modification time), instead
            of decoding it again. Top-down samples of one image come in a
            row during validation and testing, and in training with
            :class:`~posekit.datasets.samplers.ImageGroupedSampler`; there
            this saves one decode per extra person. Costs one image of
            memory per data-loader worker and one copy per sample; after
            16 reads in a row without a repeat (bottom-up data, shuffled
            top-down data) it stops keeping images, and so stops copying,
            until a file comes twice in a row again.

    Raises:
        FileNotFoundError: the image file does not exist (names the path).
        IOError: the file exists but cannot be decoded (names the path).
        MissingKeyError: neither ``img`` nor ``img_path`` is given.
        TypeError: ``img`` is given but is not a numpy array.
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 ignore_empty: bool = False,
                 reuse_last: bool = True) -> None:
        if color_type not in _CV2_FLAGS:
            raise ValueError(f'LoadImage: color_type must be one of '
                             f'{tuple(_CV2_FLAGS)}, got {color_type!r}')
        if imdecode_backend not in _DECODE_BACKENDS:
            raise ValueError(f'LoadImage: imdecode_backend must be one of '
                             f'{_DECODE_BACKENDS}, got {imdecode_backend!r}')
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = None if backend_args is None else \
            dict(backend_args)
        self.ignore_empty = ignore_empty
        self.reuse_last = bool(reuse_last)
        self._last: Optional[Tuple[tuple, Optional[np.ndarray]]] = None
        self._misses = 0

    def _read(self, path: str) -> Optional[np.ndarray]:
        """Decode the image at ``path`` (or copy the last decode of that
        very file); ``None`` only with ignore_empty."""
        local = self.backend_args is None and '://' not in path
        key: tuple = (path, )
        if local:
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode):
                if self.ignore_empty:
                    return None
                raise FileNotFoundError(
                    f'LoadImage: image file {path!r} (results["img_path"]) '
                    'does not exist; check the dataset\'s '
                    'data_root/data_prefix')
            key = (path, st.st_size, st.st_mtime_ns)
        if not self.reuse_last:
            return self._decode(path, local)
        last_key, kept = self._last if self._last else (None, None)
        if key == last_key:
            self._misses = 0
            if kept is not None:
                return kept.copy()
        else:
            self._misses += 1
        img = self._decode(path, local)
        if img is None:
            return None
        if self._misses > _KEEP_WHILE_MISSES:
            # No file came twice in a row lately (bottom-up samples,
            # shuffled top-down ones): skip the copy, remember the name.
            self._last = (key, None)
            return img
        # The caller gets a copy: later transforms may change their array
        # in place, and the kept one must stay as decoded.
        self._last = (key, img)
        return img.copy()

    def _decode(self, path: str, local: bool) -> Optional[np.ndarray]:
        try:
            if local and self.imdecode_backend == 'cv2':
                img = cv2.imread(path, _CV2_FLAGS[self.color_type])
            else:
                # Imported here: only remote storage or other decoders
                # need mmengine's file backends and mmcv's decoders.
                import mmcv
                from mmengine import fileio
                data = fileio.get(path, backend_args=self.backend_args)
                img = mmcv.imfrombytes(data, flag=self.color_type,
                                       backend=self.imdecode_backend)
        except FileNotFoundError:
            if self.ignore_empty:
                return None
            raise FileNotFoundError(
                f'LoadImage: image file {path!r} (results["img_path"]) does '
                'not exist') from None
        except Exception as err:  # decoder errors vary by backend
            if self.ignore_empty:
                return None
            raise IOError(f'LoadImage: could not read image {path!r}: '
                          f'{err}') from err
        if img is None:
            if self.ignore_empty:
                return None
            raise IOError(f'LoadImage: could not decode image {path!r} '
                          '(empty or not an image file)')
        return img

    def transform(self, results: dict) -> Optional[dict]:
        if 'img' in results:
            img = results['img']
            if not isinstance(img, np.ndarray):
                raise TypeError(f'LoadImage: results["img"] must be a numpy '
                                f'array, got {type(img).__name__}')
            results.setdefault('img_path', None)
        else:
            check_required_keys(results, ['img_path'], self)
            img = self._read(str(results['img_path']))
            if img is None:
                return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __getstate__(self) -> dict:
        # Workers and saved pipelines do not carry the kept image along.
        state = self.__dict__.copy()
        state['_last'] = None
        state['_misses'] = 0
        return state

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r}, '
                f'backend_args={self.backend_args}, '
                f'ignore_empty={self.ignore_empty}, '
                f'reuse_last={self.reuse_last})')
