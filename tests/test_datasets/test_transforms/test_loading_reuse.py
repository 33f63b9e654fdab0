"""LoadImage(reuse_last=True): one decode per run of samples of one file."""
import os
import pickle

import cv2
import numpy as np

from posekit.datasets.transforms import LoadImage
from posekit.datasets.transforms import loading


def _write(path, value, h=6, w=4):
    img = np.full((h, w, 3), value, dtype=np.uint8)
    img[0, 0] = (1, 2, 3)
    assert cv2.imwrite(str(path), img)
    return img


class _CountingLoad(LoadImage):
    """Counts the real decodes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.decodes = 0

    def _decode(self, path, local):
        self.decodes += 1
        return super()._decode(path, local)


def _load(t, path):
    return t(dict(img_path=str(path)))['img']


def test_same_file_in_a_row_is_decoded_once(tmp_path):
    img = _write(tmp_path / 'a.png', 50)
    _write(tmp_path / 'b.png', 90)
    t = _CountingLoad()
    first = _load(t, tmp_path / 'a.png')
    first[:] = 0            # a later transform scribbling on its array
    second = _load(t, tmp_path / 'a.png')
    np.testing.assert_array_equal(second, img)
    assert t.decodes == 1
    assert not np.shares_memory(first, second)
    _load(t, tmp_path / 'b.png')
    _load(t, tmp_path / 'a.png')   # not the last one any more
    assert t.decodes == 3


def test_off_decodes_every_time(tmp_path):
    _write(tmp_path / 'a.png', 50)
    t = _CountingLoad(reuse_last=False)
    for _ in range(3):
        _load(t, tmp_path / 'a.png')
    assert t.decodes == 3


def test_a_rewritten_file_is_decoded_again(tmp_path):
    path = tmp_path / 'a.png'
    _write(path, 50)
    t = _CountingLoad()
    _load(t, path)
    new = _write(path, 200, h=7)
    st = os.stat(path)
    # same second on a coarse clock: move the mtime on explicitly
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(_load(t, path), new)
    assert t.decodes == 2


def test_stops_keeping_after_a_run_of_new_files_and_resumes(tmp_path):
    n = loading._KEEP_WHILE_MISSES + 2
    for i in range(n):
        _write(tmp_path / f'{i}.png', i)
    t = _CountingLoad()
    for i in range(n):
        _load(t, tmp_path / f'{i}.png')
    assert t._last[1] is None          # no image kept, so no copies made
    last = tmp_path / f'{n - 1}.png'
    out = _load(t, last)               # a repeat: decoded again ...
    assert t.decodes == n + 1 and t._last[1] is not None
    out[:] = 0
    np.testing.assert_array_equal(_load(t, last)[1:], n - 1)  # ... kept
    assert t.decodes == n + 1


def test_pickling_drops_the_kept_image(tmp_path):
    _write(tmp_path / 'a.png', 50)
    t = LoadImage()
    _load(t, tmp_path / 'a.png')
    assert t._last[1] is not None
    clone = pickle.loads(pickle.dumps(t))
    assert clone._last is None and clone.reuse_last
    assert 'reuse_last=True' in repr(clone)
