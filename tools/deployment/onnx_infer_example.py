"""Run a top-down model exported with ``pytorch2onnx.py --with-decode``
using only numpy, OpenCV and onnxruntime (no torch, no posekit).

    python tools/deployment/onnx_infer_example.py model.onnx image.jpg \\
        X1 Y1 X2 Y2 [X1 Y1 X2 Y2 ...]

prints, per box, each keypoint's (x, y) in image pixels and its score.
The code between the markers is the example shown in docs/deployment.md.
"""
# --- example start ---
import sys

import cv2
import numpy as np
import onnxruntime as ort


def crop(image, box, size, padding=1.25, use_udp=False):
    """TopdownAffine's crop of an xyxy box: padded, grown to the aspect
    ratio of size = (w, h), warped to (h, w, 3)."""
    w, h = size
    box = np.float32(box)
    center, scale = (box[:2] + box[2:]) * 0.5, (box[2:] - box[:2]) * padding
    aspect = w / h
    if scale[0] > scale[1] * aspect:
        scale[1] = scale[0] / aspect
    else:
        scale[0] = scale[1] * aspect
    (cx, cy), (sw, sh) = center.tolist(), scale.tolist()
    if use_udp:  # first/last pixel centres of the box -> of the crop
        sx, sy = (w - 1) / sw, (h - 1) / sh
        mat = np.float32([[sx, 0, sx * (sw / 2 - cx)],
                          [0, sy, sy * (sh / 2 - cy)]])
    else:
        src = [[cx, cy], [cx + sw / 2, cy], [cx, cy + sw * h / w / 2]]
        dst = [[w / 2, h / 2], [w, h / 2], [w / 2, h]]
        mat = cv2.getAffineTransform(np.float32(src), np.float32(dst))
    return cv2.warpAffine(image, mat, (w, h), flags=cv2.INTER_LINEAR)


def predict(model_file, image, boxes):
    """Keypoints (N, K, 2) in image pixels and scores (N, K) for xyxy
    boxes (N, 4) on a BGR image (as cv2.imread gives)."""
    session = ort.InferenceSession(model_file,
                                   providers=['CPUExecutionProvider'])
    meta = session.get_modelmeta().custom_metadata_map
    size = tuple(int(v) for v in meta['input_size'].split(','))
    crops = [crop(image, b, size, float(meta['bbox_padding']),
                  meta['use_udp'] == 'true') for b in boxes]
    pixels = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
    keypoints, scores = session.run(
        ['keypoints', 'scores'], {'input': pixels, 'bbox': np.float32(boxes)})
    return keypoints, scores


def main(argv):
    model_file, image_file, coords = argv[0], argv[1], argv[2:]
    boxes = np.float32(coords).reshape(-1, 4)
    keypoints, scores = predict(model_file, cv2.imread(image_file), boxes)
    for i, (kpts, score) in enumerate(zip(keypoints, scores)):
        print(f'box {i}: ' + ', '.join(
            f'({x:.1f}, {y:.1f}) {s:.2f}' for (x, y), s in zip(kpts, score)))
    return keypoints, scores


if __name__ == '__main__':
    main(sys.argv[1:])
# --- example end ---
