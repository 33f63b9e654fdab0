"""Encode/decode throughput of keypoint codecs on one CPU thread.

Usage::

    python tools/analysis/benchmark_codecs.py [--seconds 2] [--only NAME]

Each entry of :data:`ENTRIES` is a :class:`CodecBench`: a codec config and
two input makers, so a new codec (SimCC, associative embedding, ...) is
benchmarked by appending one entry (or by calling :func:`run_benchmarks`
with a list of its own). Rates are calls per second for one sample
(17 keypoints, input 192x256, heatmaps 48x64, sigma 2, one instance unless
an entry says otherwise; the associative-embedding entry decodes a
512x512 image of 6 persons, see :func:`ae_decode_args`). Timing numbers
belong in reports, not tests.
"""
import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

if __name__ == '__main__':  # run from a checkout without installing
    sys.path.insert(0, os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..')))

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)
NUM_KEYPOINTS = 17


def random_keypoints(rng: np.random.Generator, num_instances: int = 1,
                     num_keypoints: int = NUM_KEYPOINTS,
                     input_size: Tuple[int, int] = INPUT_SIZE
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints ``(N, K, 2)`` float32 inside the input and visibility
    ``(N, K)`` (about 10% invisible)."""
    w, h = input_size
    kpts = rng.uniform([0, 0], [w - 1, h - 1],
                       (num_instances, num_keypoints, 2)).astype(np.float32)
    vis = (rng.uniform(size=kpts.shape[:2]) > 0.1).astype(np.float32)
    return kpts, vis


def encode_args(codec: Any, rng: np.random.Generator) -> Tuple[tuple, dict]:
    """Default encode input: one instance of random keypoints."""
    kpts, vis = random_keypoints(rng)
    return (kpts, vis), {}


def heatmap_decode_args(codec: Any, rng: np.random.Generator) -> tuple:
    """Default decode input: the codec's own encoded heatmaps with a little
    noise, as a model would output them."""
    kpts, vis = random_keypoints(rng)
    maps = codec.encode(kpts, np.ones_like(vis))['heatmaps']
    noise = rng.normal(0, 0.01, maps.shape).astype(np.float32)
    return (maps + noise, )


def simcc_decode_args(codec: Any, rng: np.random.Generator) -> tuple:
    """SimCC decode input: the codec's own x and y labels of one instance
    (``(K, Wx)``, ``(K, Wy)``) with a little noise."""
    kpts, vis = random_keypoints(rng)
    enc = codec.encode(kpts, np.ones_like(vis))
    return tuple(
        (enc[key][0] + rng.normal(0, 1e-3, enc[key][0].shape)).astype(
            np.float32)
        for key in ('keypoint_x_labels', 'keypoint_y_labels'))


def regression_decode_args(codec: Any, rng: np.random.Generator) -> tuple:
    """Regression decode input: one instance's normalised coordinates
    ``(1, K, 2)``."""
    kpts, _ = random_keypoints(rng)
    return (codec.encode(kpts)['keypoint_labels'], )


AE_INPUT_SIZE = (512, 512)
AE_HEATMAP_SIZE = (128, 128)
AE_NUM_PERSONS = 6
AE_KEYPOINT_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15,
                     16]


def ae_persons(rng: np.random.Generator) -> np.ndarray:
    """Bottom-up persons ``(6, 17, 2)``: keypoints uniform in [10, 500]
    input pixels of a 512x512 image, all visible."""
    return rng.uniform(10, 500, (AE_NUM_PERSONS, NUM_KEYPOINTS,
                                 2)).astype(np.float32)


def ae_encode_args(codec: Any, rng: np.random.Generator
                   ) -> Tuple[tuple, dict]:
    """AE encode input: six persons, all keypoints visible."""
    kpts = ae_persons(rng)
    return (kpts, np.ones(kpts.shape[:2], np.float32)), {}


def ae_decode_args(codec: Any, rng: np.random.Generator) -> tuple:
    """AE batch_decode input: the codec's heatmaps of six persons as a
    ``(1, 17, 128, 128)`` tensor and tags ``(1, 17, 128, 128)``, zero but
    for person p's tag 2 p painted on a 7x7 square around each of its
    keypoints (later persons paint over earlier ones)."""
    import torch
    kpts = ae_persons(rng)
    heatmaps = codec.encode(kpts)['heatmaps']
    w, h = AE_HEATMAP_SIZE
    cells = (kpts / (np.array(AE_INPUT_SIZE) / AE_HEATMAP_SIZE) +
             0.5).astype(np.int64)
    tags = np.zeros((1, NUM_KEYPOINTS, h, w), np.float32)
    offsets = np.arange(-3, 4)
    channels = np.arange(NUM_KEYPOINTS)[:, None, None]
    for person, xy in enumerate(cells):
        ys = np.clip(xy[:, 1, None, None] + offsets[:, None], 0, h - 1)
        xs = np.clip(xy[:, 0, None, None] + offsets, 0, w - 1)
        tags[0, channels, ys, xs] = 2.0 * person
    return torch.from_numpy(heatmaps)[None], torch.from_numpy(tags)


@dataclass
class CodecBench:
    """One benchmark entry: ``make_encode`` returns ``(args, kwargs)`` for
    ``codec.encode``; ``make_decode`` returns the args of
    ``codec.decode`` (or of the method named by ``decode_method``)."""
    name: str
    cfg: Dict[str, Any]
    make_encode: Callable[[Any, np.random.Generator],
                          Tuple[tuple, dict]] = encode_args
    make_decode: Callable[[Any, np.random.Generator],
                          tuple] = heatmap_decode_args
    targets: Dict[str, float] = field(default_factory=dict)
    decode_method: str = 'decode'


ENTRIES: List[CodecBench] = [
    CodecBench('MSRAHeatmap', dict(type='MSRAHeatmap',
                                   input_size=INPUT_SIZE,
                                   heatmap_size=HEATMAP_SIZE, sigma=2.),
               targets=dict(encode=14000)),
    CodecBench('MSRAHeatmap+DARK', dict(type='MSRAHeatmap',
                                        input_size=INPUT_SIZE,
                                        heatmap_size=HEATMAP_SIZE, sigma=2.,
                                        unbiased=True),
               targets=dict(decode=2300)),
    CodecBench('UDPHeatmap', dict(type='UDPHeatmap', input_size=INPUT_SIZE,
                                  heatmap_size=HEATMAP_SIZE, sigma=2.),
               targets=dict(decode=3000)),
    # SimCC at split ratio 2: 384 x bins, 512 y bins; sigma 6 bins.
    CodecBench('SimCCLabel', dict(type='SimCCLabel', input_size=INPUT_SIZE,
                                  sigma=6.0, simcc_split_ratio=2.0),
               make_decode=simcc_decode_args, targets=dict(encode=3000)),
    CodecBench('SimCCLabel+DARK', dict(type='SimCCLabel',
                                       input_size=INPUT_SIZE, sigma=6.0,
                                       simcc_split_ratio=2.0, use_dark=True),
               make_decode=simcc_decode_args),
    CodecBench('SimCCLabel one-hot', dict(type='SimCCLabel',
                                          input_size=INPUT_SIZE,
                                          smoothing_type='standard'),
               make_decode=simcc_decode_args),
    CodecBench('RegressionLabel', dict(type='RegressionLabel',
                                       input_size=INPUT_SIZE),
               make_decode=regression_decode_args),
    CodecBench('IntegralRegression', dict(type='IntegralRegressionLabel',
                                          input_size=INPUT_SIZE,
                                          heatmap_size=HEATMAP_SIZE,
                                          sigma=2.),
               make_decode=regression_decode_args),
    CodecBench('AssociativeEmbedding',
               dict(type='AssociativeEmbedding', input_size=AE_INPUT_SIZE,
                    heatmap_size=AE_HEATMAP_SIZE, sigma=2.,
                    decode_keypoint_order=AE_KEYPOINT_ORDER,
                    decode_max_instances=30),
               make_encode=ae_encode_args, make_decode=ae_decode_args,
               targets=dict(decode=165), decode_method='batch_decode'),
]


def rate(func: Callable[..., Any], inputs: Sequence[tuple],
         seconds: float, repeats: int = 5) -> float:
    """Calls per second of ``func(*inputs[i])``, cycling through the
    prepared inputs.

    The time is this process's CPU time (``time.process_time``), so other
    programs sharing the machine disturb it less than wall-clock time; the
    best of ``repeats`` rounds of about ``seconds / repeats`` each is kept
    (the usual way to read a noisy timer).
    """
    for args in inputs[:3]:
        func(*args)
    best = 0.0
    for _ in range(repeats):
        calls, start = 0, time.process_time()
        elapsed = 0.0
        while elapsed < seconds / repeats:
            for args in inputs:
                func(*args)
            calls += len(inputs)
            elapsed = time.process_time() - start
        best = max(best, calls / elapsed)
    return best


def set_single_thread() -> None:
    """Pin torch and OpenCV to one thread so rates are per core."""
    import cv2
    import torch
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def run_benchmarks(entries: Sequence[CodecBench] = ENTRIES,
                   seconds: float = 2.0, num_inputs: int = 64,
                   seed: int = 0) -> List[Dict[str, Any]]:
    """Measure every entry; returns rows with ``name``, ``encode`` and
    ``decode`` rates (calls/s) and the entry's ``targets``."""
    from posekit.registry import KEYPOINT_CODECS
    import posekit.codecs  # noqa: F401  (registers the codecs)
    set_single_thread()
    rows = []
    for entry in entries:
        codec = KEYPOINT_CODECS.build(dict(entry.cfg))
        rng = np.random.default_rng(seed)
        enc_inputs = [entry.make_encode(codec, rng)
                      for _ in range(num_inputs)]
        dec_inputs = [entry.make_decode(codec, rng)
                      for _ in range(num_inputs)]
        encode = rate(lambda a, kw: codec.encode(*a, **kw), enc_inputs,
                      seconds)
        decode = rate(getattr(codec, entry.decode_method), dec_inputs,
                      seconds)
        rows.append(dict(name=entry.name, encode=encode, decode=decode,
                         targets=dict(entry.targets)))
    return rows


def format_rows(rows: Sequence[Dict[str, Any]]) -> str:
    """A text table of the rates, with each target and whether it is met."""
    lines = [f'{"codec":<20}{"encode/s":>12}{"decode/s":>12}  targets']
    for row in rows:
        notes = []
        for key, target in row['targets'].items():
            met = 'ok' if row[key] >= target else 'MISSED'
            notes.append(f'{key} >= {target:,.0f} {met}')
        lines.append(f'{row["name"]:<20}{row["encode"]:>12,.0f}'
                     f'{row["decode"]:>12,.0f}  {", ".join(notes)}')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=2.0,
                        help='CPU seconds per measurement (default 2)')
    parser.add_argument('--only', default=None,
                        help='benchmark only the entry with this name')
    args = parser.parse_args(argv)
    entries = [e for e in ENTRIES if args.only in (None, e.name)]
    if not entries:
        names = ', '.join(e.name for e in ENTRIES)
        parser.error(f'--only {args.only!r} names no entry; entries: '
                     f'{names}')
    print(format_rows(run_benchmarks(entries, args.seconds)))


if __name__ == '__main__':
    main()
