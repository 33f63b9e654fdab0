import cv2
import numpy as np


def _write_video(path, frame, num):
    h, w = frame.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'),
                             10, (w, h))
    assert writer.isOpened()
    for i in range(num):
        writer.write(np.roll(frame, 4 * i, axis=1))
    writer.release()


def _frames(path):
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


def test_video_in_drawn_video_out(demo_module, tiny_topdown, coco_dir,
                                  tmp_path):
    from posekit.apis import inference_topdown, init_model
    config, checkpoint = tiny_topdown
    image = cv2.resize(cv2.imread(str(coco_dir / '000000000785.jpg')),
                       (160, 106))
    _write_video(tmp_path / 'in.avi', image, 5)
    demo = demo_module('webcam_demo')
    result = demo.main([config, checkpoint, '--input',
                        str(tmp_path / 'in.avi'), '--output-file',
                        str(tmp_path / 'out.avi'), '--no-show',
                        '--max-frames', '3', '--kpt-thr', '0',
                        '--radius', '4'])
    assert result['frames'] == 3 and result['fps'] > 0
    inputs, outputs = _frames(tmp_path / 'in.avi'), _frames(
        tmp_path / 'out.avi')
    assert len(outputs) == 3
    assert all(f.shape == (106, 160, 3) for f in outputs)

    # the keypoint drawn last (score >= 0, inside) shows its colour
    model = init_model(config, checkpoint)
    pred = inference_topdown(model, inputs[0])[0].pred_instances
    kpts, scores = pred.keypoints[0], pred.keypoint_scores[0]
    inside = (kpts[:, 0] >= 4) & (kpts[:, 0] < 156) & (kpts[:, 1] >= 30) \
        & (kpts[:, 1] < 102) & (scores >= 0)  # clear of the FPS text
    k = int(np.flatnonzero(inside)[-1])
    x, y = np.floor(kpts[k] + 0.5).astype(int)
    colour = model.dataset_meta['keypoint_colors'][k][::-1]  # to BGR
    patch = outputs[0][y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)
    assert np.abs(patch - colour).max() < 50  # MJPG is lossy
    assert np.abs(outputs[0].astype(int) - inputs[0]).max() > 100
