"""Live pose estimation on a camera or a video file, drawn with the FPS.

    python demo/webcam_demo.py CONFIG CHECKPOINT [--input 0|video.mp4]
        [--output-file out.mp4] [--max-frames N] [--no-show]
        [--device cpu] [--kpt-thr 0.3] [--radius 3] [--thickness 1]

``--input`` is a camera index (default 0) or a video file. A top-down
model takes the whole frame as its box; a bottom-up model finds every
person. Each frame is shown (press q or Esc to stop) unless
``--no-show``, and written to ``--output-file`` (.mp4 as mp4v, .avi as
MJPG) when given.
"""
import argparse
import os
import os.path as osp
import sys
import time
from collections import deque

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

_FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.mov': 'mp4v', '.mkv': 'XVID'}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pose estimation on a '
                                     'camera or video')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='model checkpoint file')
    parser.add_argument('--input', default='0',
                        help='camera index or video file (default 0)')
    parser.add_argument('--output-file', help='write the drawn frames to '
                        'this video (.mp4, .avi, .mov, .mkv)')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='stop after this many frames')
    parser.add_argument('--no-show', action='store_true',
                        help='do not open a window')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)
    return parser.parse_args(argv)


def open_capture(source: str) -> cv2.VideoCapture:
    """A capture of camera ``source`` (digits) or of a video file.

    Raises:
        FileNotFoundError: a video file that does not exist.
        RuntimeError: OpenCV cannot open it.
    """
    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
    else:
        if not osp.isfile(source):
            raise FileNotFoundError(f'--input {source}: no such video file')
        cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise RuntimeError(f'--input {source}: OpenCV could not open it '
                           '(a camera index or a readable video file)')
    return cap


def open_writer(path: str, fps: float, size) -> cv2.VideoWriter:
    """A video writer for ``path`` with the codec of its extension.

    Raises:
        ValueError: an unknown extension.
        RuntimeError: OpenCV cannot write it.
    """
    ext = osp.splitext(path)[1].lower()
    if ext not in _FOURCC:
        raise ValueError(f'--output-file {path}: use one of '
                         f'{sorted(_FOURCC)}')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*_FOURCC[ext]),
                             fps, size)
    if not writer.isOpened():
        raise RuntimeError(f'--output-file {path}: OpenCV could not open a '
                           f'{_FOURCC[ext]} writer')
    return writer


def draw_fps(image: np.ndarray, fps: float) -> None:
    """Write ``FPS: x.x`` in the top-left corner of ``image`` (in
    place)."""
    scale = max(image.shape[0] / 720, 0.4)
    org = (int(10 * scale) + 2, int(30 * scale) + 2)
    cv2.putText(image, f'FPS: {fps:.1f}', org, cv2.FONT_HERSHEY_SIMPLEX,
                scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, f'FPS: {fps:.1f}', org, cv2.FONT_HERSHEY_SIMPLEX,
                scale, (255, 255, 255), 1, cv2.LINE_AA)


def main(argv=None) -> dict:
    """Run the demo; returns ``{'frames', 'output_file', 'fps'}``."""
    args = parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        raise SystemExit(f'--max-frames must be >= 1, got {args.max_frames}')
    from posekit.apis import (inference_bottomup, inference_topdown,
                              init_model)
    from posekit.models.pose_estimators.bottomup import \
        BottomupPoseEstimator
    from posekit.visualization import PoseLocalVisualizer, merge_for_drawing

    model = init_model(args.config, args.checkpoint, device=args.device)
    bottomup = isinstance(model, BottomupPoseEstimator)
    visualizer = PoseLocalVisualizer(name=f'webcam_demo_{id(args)}',
                                     radius=args.radius,
                                     line_width=args.thickness)
    visualizer.set_dataset_meta(model.dataset_meta)
    cap = open_capture(args.input)
    writer = None
    frames, fps = 0, 0.0
    durations = deque(maxlen=10)
    try:
        while args.max_frames is None or frames < args.max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            start = time.perf_counter()
            samples = inference_bottomup(model, frame) if bottomup else \
                inference_topdown(model, frame)
            rgb = np.ascontiguousarray(frame[..., ::-1])
            drawn = visualizer.draw_datasample(
                rgb, merge_for_drawing(samples, rgb.shape[:2]),
                draw_gt=False, draw_pred=True, draw_bbox=False,
                kpt_thr=args.kpt_thr) if samples else rgb.copy()
            # frames per second of inference plus drawing over the last
            # 10 frames (the first, slower ones soon drop out)
            durations.append(time.perf_counter() - start)
            fps = len(durations) / max(sum(durations), 1e-6)
            draw_fps(drawn, fps)
            bgr = np.ascontiguousarray(drawn[..., ::-1])
            if args.output_file is not None:
                if writer is None:
                    rate = cap.get(cv2.CAP_PROP_FPS) or 25.0
                    writer = open_writer(args.output_file, rate,
                                         (bgr.shape[1], bgr.shape[0]))
                writer.write(bgr)
            frames += 1
            if not args.no_show:
                cv2.imshow('posekit webcam demo', bgr)
                if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                    break
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if not args.no_show:
            cv2.destroyAllWindows()
    print(f'webcam_demo: {frames} frames at {fps:.1f} FPS'
          + (f', written to {args.output_file}' if writer else ''))
    return {'frames': frames, 'output_file': args.output_file, 'fps': fps}


if __name__ == '__main__':
    main()
