import json

import cv2
import numpy as np
import pytest


@pytest.fixture(scope='module')
def demo(demo_module):
    return demo_module('topdown_demo_with_boxes')


def test_one_drawing_per_image_and_coco_results(demo, tiny_topdown,
                                                coco_dir, tmp_path):
    config, checkpoint = tiny_topdown
    det_file = coco_dir / 'test_coco_det_AP_H_56.json'
    dets = json.loads(det_file.read_text())
    kept = [d for d in dets if d['score'] >= 0.9]
    out = tmp_path / 'out'
    result = demo.main([config, checkpoint, '--det-file', str(det_file),
                        '--ann-file', str(coco_dir / 'test_coco.json'),
                        '--out-dir', str(out), '--bbox-thr', '0.9',
                        '--kpt-thr', '0'])
    preds = json.loads((out / 'predictions.json').read_text())
    assert len(preds) == result['num_instances'] == len(kept)
    assert sorted(p['image_id'] for p in preds) == sorted(
        d['image_id'] for d in kept)
    assert all(len(p['keypoints']) == 17 * 3 for p in preds)
    # boxes come back as given (xywh)
    first = next(d for d in kept if d['image_id'] == preds[0]['image_id'])
    np.testing.assert_allclose(preds[0]['bbox'], first['bbox'], atol=1e-3)

    assert len(result['images']) == len({d['image_id'] for d in kept})
    for path in result['images']:
        name = path.rsplit('/', 1)[-1]
        source = cv2.imread(str(coco_dir / name))
        drawn = cv2.imread(path)
        assert drawn.shape == source.shape
        # JPEG output: compare coarsely; discs, links and boxes changed it
        changed = (np.abs(drawn.astype(int) - source) > 40).any(axis=2)
        assert changed.sum() > 100


def test_image_ids_from_file_names_and_missing_images(demo, tiny_topdown,
                                                      coco_dir, tmp_path):
    config, checkpoint = tiny_topdown
    dets = [{'image_id': 785, 'bbox': [280, 45, 220, 340], 'score': 1.0,
             'category_id': 1}]
    (tmp_path / 'dets.json').write_text(json.dumps(dets))
    result = demo.main([config, checkpoint, '--det-file',
                        str(tmp_path / 'dets.json'), '--img-root',
                        str(coco_dir), '--out-dir', str(tmp_path / 'out')])
    assert [p.rsplit('/', 1)[-1] for p in result['images']] == [
        '000000000785.jpg']
    dets[0]['image_id'] = 123456
    (tmp_path / 'dets.json').write_text(json.dumps(dets))
    with pytest.raises(FileNotFoundError, match=r'\[123456\]'):
        demo.main([config, checkpoint, '--det-file',
                   str(tmp_path / 'dets.json'), '--img-root', str(coco_dir),
                   '--out-dir', str(tmp_path / 'out')])
