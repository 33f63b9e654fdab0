"""PoseLocalVisualizer: draw keypoints, skeletons, boxes and heatmaps of a
PoseDataSample on its image and send the result to a file, a window or
mmengine's vis backends."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from posekit.registry import VISUALIZERS
from .drawing import color_table, draw_boxes, draw_discs, draw_segments
from .heatmap import heatmap_to_image, overlay_heatmap
from .image_utils import check_image, to_numpy, write_image

ColorSpec = Union[None, str, Sequence[Any], np.ndarray]
_BACKENDS = ('opencv', 'matplotlib')
_STYLES = ('mmpose', )


@VISUALIZERS.register_module()
class PoseLocalVisualizer(Visualizer):
    """Draws pose data samples (MMPose 1.x name and arguments).

    Args:
        name: instance name (mmengine's ``Visualizer.get_instance`` key).
        image: an RGB image to start with.
        vis_backends: mmengine vis-backend configs; ``add_datasample``
            writes there unless it is given ``out_file``.
        save_dir: folder of the backends' files.
        bbox_color: box colour (a matplotlib name or RGB triplet).
        kpt_color: one colour, or one per keypoint (``None`` entries are
            not drawn); ``set_dataset_meta`` uses the metainfo's
            ``keypoint_colors``.
        link_color: as ``kpt_color`` per skeleton link; None draws no links
            (``set_dataset_meta`` uses ``skeleton_link_colors``).
        text_color: accepted for MMPose configs; posekit draws no box
            labels, and keypoint indices take their keypoint's colour.
        skeleton: links as pairs of keypoint indices.
        line_width: link and box width in pixels.
        radius: keypoint disc radius in pixels.
        show_keypoint_weight: blend each keypoint (and link) with its score
            as opacity.
        backend: 'opencv' (numpy drawing, window by OpenCV) or
            'matplotlib' (the same drawing, kept in mmengine's figure so
            its ``draw_*`` methods add to it; window by matplotlib).
        alpha: opacity of keypoints, links and boxes.

    Colours are RGB, as the images are.
    """

    def __init__(self, name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[Union[Dict, List[Dict]]] = None,
                 save_dir: Optional[str] = None,
                 bbox_color: ColorSpec = 'green',
                 kpt_color: ColorSpec = 'red',
                 link_color: ColorSpec = None,
                 text_color: ColorSpec = (255, 255, 255),
                 skeleton: Optional[Sequence[Sequence[int]]] = None,
                 line_width: Union[int, float] = 1,
                 radius: Union[int, float] = 3,
                 show_keypoint_weight: bool = False,
                 backend: str = 'opencv',
                 alpha: float = 1.0):
        if backend not in _BACKENDS:
            raise ValueError(f'PoseLocalVisualizer: backend must be one of '
                             f'{_BACKENDS}, got {backend!r}')
        if not 0 <= alpha <= 1:
            raise ValueError(f'PoseLocalVisualizer: alpha must be in [0, 1],'
                             f' got {alpha}')
        self.backend = backend
        self._image = None
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir)
        self.bbox_color = bbox_color
        self.kpt_color = kpt_color
        self.link_color = link_color
        self.text_color = text_color
        self.skeleton = skeleton
        self.line_width = line_width
        self.radius = radius
        self.show_keypoint_weight = show_keypoint_weight
        self.alpha = alpha
        self.dataset_meta: Dict[str, Any] = {}

    # -- image handling --------------------------------------------------
    @master_only
    def set_image(self, image: np.ndarray) -> None:
        """Make ``image`` (H, W, 3) RGB the image being drawn on."""
        image = check_image(image)
        if self.backend == 'matplotlib':
            super().set_image(image)
            return
        self._image = image
        self.height, self.width = image.shape[:2]

    @master_only
    def get_image(self) -> np.ndarray:
        """The current (drawn) RGB image."""
        if self._image is None:
            raise RuntimeError('PoseLocalVisualizer has no image; call '
                               'set_image or add_datasample first')
        if self.backend == 'matplotlib':
            return super().get_image()
        return self._image

    @master_only
    def show(self, drawn_img: Optional[np.ndarray] = None,
             win_name: str = 'image', wait_time: float = 0.,
             continue_key: str = ' ', backend: Optional[str] = None) -> None:
        """Display ``drawn_img`` (default: the current image); ``wait_time``
        seconds, 0 waits for a key."""
        img = self.get_image() if drawn_img is None else drawn_img
        if (backend or self.backend) in ('opencv', 'cv2'):
            cv2.imshow(win_name, np.ascontiguousarray(img[..., ::-1]))
            cv2.waitKey(int(np.ceil(wait_time * 1000)))
            return
        super().show(img, win_name, wait_time, continue_key,
                     backend='matplotlib')

    # -- metainfo ----------------------------------------------------------
    # A plain property (mmengine's is master-only, i.e. None on other
    # ranks, which would break drawing there).
    @property
    def dataset_meta(self) -> Dict[str, Any]:
        """The parsed dataset metainfo last given to set_dataset_meta."""
        return self._dataset_meta if self._dataset_meta is not None else {}

    @dataset_meta.setter
    def dataset_meta(self, value: Optional[Dict[str, Any]]) -> None:
        self._dataset_meta = dict(value) if value else {}

    def set_dataset_meta(self, dataset_meta: Optional[Dict],
                         skeleton_style: str = 'mmpose') -> None:
        """Take keypoint colours (``keypoint_colors``), links
        (``skeleton_links``), their colours (``skeleton_link_colors``) and
        ``bbox_color`` from a parsed dataset metainfo; keys it lacks keep
        the current settings.

        Raises:
            ValueError: an unsupported ``skeleton_style``.
        """
        _check_style(skeleton_style)
        if not dataset_meta:
            self.dataset_meta = {}
            return
        self.dataset_meta = dict(dataset_meta)
        self.bbox_color = dataset_meta.get('bbox_color', self.bbox_color)
        self.kpt_color = dataset_meta.get('keypoint_colors', self.kpt_color)
        self.link_color = dataset_meta.get('skeleton_link_colors',
                                           self.link_color)
        self.skeleton = dataset_meta.get('skeleton_links', self.skeleton)

    # -- drawing -----------------------------------------------------------
    def _scores(self, instances, shape: Tuple[int, int]) -> np.ndarray:
        for key in ('keypoints_visible', 'keypoint_scores'):
            if key in instances:
                score = to_numpy(instances.get(key)).astype(np.float64)
                if score.ndim == 3 and score.shape[-1] == 1:
                    score = score[..., 0]
                if score.shape != shape:
                    raise ValueError(
                        f'{key} has shape {score.shape} but the keypoints '
                        f'need {shape} (N instances, K keypoints)')
                return np.nan_to_num(score, nan=-np.inf)
        return np.ones(shape)

    def _check_keypoints(self, kpts: np.ndarray) -> None:
        if kpts.ndim != 3 or kpts.shape[-1] < 2:
            raise ValueError('keypoints must be (N, K, 2) (or (N, K, 3)), '
                             f'got shape {kpts.shape}')
        num = kpts.shape[1]
        expected = self.dataset_meta.get('num_keypoints')
        if expected is not None and num != int(expected):
            name = self.dataset_meta.get('dataset_name', 'the dataset')
            raise ValueError(
                f'keypoints have {num} keypoints per instance but the '
                f'metainfo of {name!r} (set_dataset_meta) has {expected}; '
                'draw with the metainfo of the model that predicted them')
        if self.skeleton is not None and len(self.skeleton):
            links = np.asarray(self.skeleton, dtype=np.int64).reshape(-1, 2)
            if links.min() < 0 or links.max() >= num:
                raise ValueError(
                    f'skeleton links index keypoint {int(links.max())} but '
                    f'the keypoints have only {num} (valid: 0..{num - 1})')

    def draw_keypoints(self, image: np.ndarray, instances,
                       kpt_thr: float = 0.3,
                       show_kpt_idx: bool = False) -> np.ndarray:
        """Draw the links and keypoints of ``instances`` (``keypoints``
        (N, K, 2), or ``transformed_keypoints`` when present; scores from
        ``keypoints_visible`` or ``keypoint_scores``) on a copy of
        ``image``. A keypoint is drawn when its score >= ``kpt_thr`` and it
        lies in the image, a link when both its ends are drawn.

        Raises:
            ValueError: keypoint/score shapes, or the number of keypoints
                disagreeing with the metainfo, skeleton or colours.
        """
        img = check_image(image).copy()
        key = 'transformed_keypoints' if 'transformed_keypoints' in \
            instances else 'keypoints'
        if key not in instances:
            return img
        kpts = to_numpy(instances.get(key)).astype(np.float64)
        self._check_keypoints(kpts)
        kpts = kpts[..., :2]
        n, k = kpts.shape[:2]
        scores = self._scores(instances, (n, k))
        h, w = img.shape[:2]
        inside = np.isfinite(kpts).all(-1) & (kpts[..., 0] >= 0) & \
            (kpts[..., 0] < w) & (kpts[..., 1] >= 0) & (kpts[..., 1] < h)
        shown = (scores >= kpt_thr) & inside
        weight = np.clip(scores, 0, 1) if self.show_keypoint_weight \
            else np.ones((n, k))
        opacity = self.alpha * weight
        opaque = self.alpha >= 1 and not self.show_keypoint_weight

        if self.skeleton is not None and len(self.skeleton):
            links = np.asarray(self.skeleton, dtype=np.int64).reshape(-1, 2)
            colors, drawn = color_table(self.link_color, len(links),
                                        'link_color')
            a, b = links[:, 0], links[:, 1]
            ok = shown[:, a] & shown[:, b] & drawn[None]
            inst, link = np.nonzero(ok)
            draw_segments(img, kpts[inst, a[link]], kpts[inst, b[link]],
                          self.line_width, colors[link],
                          None if opaque else 0.5 * (
                              opacity[inst, a[link]] +
                              opacity[inst, b[link]]))

        colors, drawn = color_table(self.kpt_color, k, 'kpt_color')
        inst, kid = np.nonzero(shown & drawn[None])
        draw_discs(img, kpts[inst, kid], self.radius, colors[kid],
                   None if opaque else opacity[inst, kid])
        if show_kpt_idx:
            self._draw_indices(img, kpts[inst, kid], kid, colors[kid])
        return img

    def _draw_indices(self, img: np.ndarray, points: np.ndarray,
                      ids: np.ndarray, colors: np.ndarray) -> None:
        # Text has no vectorised form; this only runs on request.
        scale = max(self.radius, 1) / 8
        for (x, y), idx, color in zip(points, ids, colors):
            org = (int(x + self.radius), int(y - self.radius))
            cv2.putText(img, str(int(idx)), org, cv2.FONT_HERSHEY_SIMPLEX,
                        scale, tuple(int(c) for c in color), 1, cv2.LINE_AA)

    def draw_instance_bboxes(self, image: np.ndarray,
                             instances) -> np.ndarray:
        """Outline ``instances.bboxes`` (N, 4) xyxy on a copy of
        ``image`` (unchanged copy when there are none)."""
        img = check_image(image).copy()
        if 'bboxes' not in instances:
            return img
        boxes = to_numpy(instances.bboxes).astype(np.float64)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f'bboxes must be (N, 4) xyxy, got shape '
                             f'{boxes.shape}')
        colors, drawn = color_table(self.bbox_color, len(boxes),
                                    'bbox_color')
        return draw_boxes(img, boxes[drawn], self.line_width, colors[drawn],
                          None if self.alpha >= 1
                          else np.full(int(drawn.sum()), self.alpha))

    def _side(self, image: np.ndarray, sample, prefix: str, kpt_thr: float,
              draw_heatmap: bool, draw_bbox: bool, show_kpt_idx: bool
              ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """(drawn image, heatmap overlay) of the gt or pred side; the image
        is None when the sample has nothing of that side."""
        instances = sample.get(f'{prefix}_instances')
        fields = sample.get(f'{prefix}_fields')
        has_fields = draw_heatmap and fields is not None and \
            'heatmaps' in fields
        if instances is None and not has_fields:
            return None, None
        drawn = image
        if instances is not None:
            drawn = self.draw_keypoints(image, instances, kpt_thr,
                                        show_kpt_idx)
            if draw_bbox:
                drawn = self.draw_instance_bboxes(drawn, instances)
        heat = None
        if has_fields:
            placed = heatmap_to_image(fields.heatmaps, image.shape[:2],
                                      sample.metainfo)
            heat = overlay_heatmap(image, placed)
        return drawn, heat

    def draw_datasample(self, image: np.ndarray, data_sample,
                        draw_gt: bool = True, draw_pred: bool = True,
                        draw_heatmap: bool = False, draw_bbox: bool = False,
                        show_kpt_idx: bool = False,
                        skeleton_style: str = 'mmpose',
                        kpt_thr: float = 0.3) -> np.ndarray:
        """The drawn RGB image of ``data_sample`` on ``image`` (H, W, 3)
        without sending it anywhere (see :meth:`add_datasample`)."""
        _check_style(skeleton_style)
        image = check_image(image)
        sides = []
        for prefix, wanted in (('gt', draw_gt), ('pred', draw_pred)):
            if wanted:
                drawn, heat = self._side(image, data_sample, prefix, kpt_thr,
                                         draw_heatmap, draw_bbox,
                                         show_kpt_idx)
                if drawn is not None:
                    sides.append((drawn, heat))
        if not sides:
            return image.copy()
        if any(heat is not None for _, heat in sides):
            # a side without a heatmap gets the plain image below it, so
            # both columns have the same height
            sides = [(d, image if h is None else h) for d, h in sides]
            columns = [np.concatenate([d, h], axis=0) for d, h in sides]
        else:
            columns = [d for d, _ in sides]
        return np.concatenate(columns, axis=1) if len(columns) > 1 \
            else columns[0]

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample,
                       draw_gt: bool = True, draw_pred: bool = True,
                       draw_heatmap: bool = False, draw_bbox: bool = False,
                       show_kpt_idx: bool = False,
                       skeleton_style: str = 'mmpose', show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       kpt_thr: float = 0.3, step: int = 0) -> np.ndarray:
        """Draw ``data_sample`` on RGB ``image`` (H, W, 3) and output it.

        Ground truth (``gt_instances``, with ``draw_heatmap`` also
        ``gt_fields.heatmaps``) and predictions (``pred_instances``,
        ``pred_fields.heatmaps``) are drawn side by side (GT left) when
        both are asked for and present; a heatmap overlay goes below its
        side. ``out_file`` writes the image there (folders created);
        otherwise it goes to the vis backends under ``name`` and ``step``.
        ``show`` also displays it. Returns the drawn RGB image.

        Raises:
            ValueError: ``image`` is not (H, W, 3); keypoints disagree
                with the metainfo; unknown ``skeleton_style``.
            OSError: ``out_file`` could not be written.
        """
        drawn = self.draw_datasample(image, data_sample, draw_gt, draw_pred,
                                     draw_heatmap, draw_bbox, show_kpt_idx,
                                     skeleton_style, kpt_thr)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            write_image(out_file, drawn)
        else:
            self.add_image(name, drawn, step)
        return drawn


def _check_style(style: str) -> None:
    if style not in _STYLES:
        raise ValueError(f'skeleton_style must be one of {_STYLES}, got '
                         f'{style!r}')
