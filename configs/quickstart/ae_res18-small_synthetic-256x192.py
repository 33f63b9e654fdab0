# Quickstart, bottom-up: Associative Embedding on CPU in minutes.
# A small ResNet-18 with a deconvolution head predicts, for the whole image,
# one heatmap per keypoint and one tag map per keypoint; the decoder groups
# the heatmap peaks into persons by their tags. The data (synthetic
# humanoids, COCO format, 17 keypoints) is the top-down quickstart's, in
# data/synthetic_coco, generated on first use.
#     python tools/train.py configs/quickstart/ae_res18-small_synthetic-256x192.py
_base_ = ['../_base_/default_runtime.py']

# runtime
train_cfg = dict(max_epochs=9, val_interval=9)
randomness = dict(seed=0)

# optimizer and schedule
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=30, start_factor=0.03,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=9, T_max=9, eta_min=3e-5,
         by_epoch=True, convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='coco/AP', rule='greater'))

# codec: whole 256x192 inputs (the synthetic images' size, so no padding
# is computed), 64x48 heatmaps and tags
codec = dict(
    type='AssociativeEmbedding',
    input_size=(256, 192),
    heatmap_size=(64, 48),
    sigma=2,
    decode_topk=20,
    decode_center_shift=0.5,
    decode_keypoint_order=[
        0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16
    ],
    decode_max_instances=10)

model = dict(
    type='BottomupPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, stem_channels=32,
                  base_channels=32),
    head=dict(
        type='AssociativeEmbeddingHead',
        in_channels=256,
        num_keypoints=17,
        tag_dim=1,
        tag_per_keypoint=True,
        deconv_out_channels=(64, 64, 64),
        deconv_kernel_sizes=(4, 4, 4),
        keypoint_loss=dict(type='KeypointMSELoss', use_target_weight=True),
        # 10x the published 0.001: in a short run the tags must
        # separate persons early (at 6 epochs 0.001 gave AP 0.17, 0.03 0.21)
        tag_loss=dict(type='AssociativeEmbeddingLoss', loss_weight=0.01),
        decoder=codec),
    test_cfg=dict(
        multiscale_test=False,
        flip_test=True,
        shift_heatmap=False,
        restore_heatmap_size=False,
        align_corners=False))

# data: generated on first use (about 2k train / 200 val images), shared
# with the top-down quickstart
dataset_type = 'SyntheticCocoDataset'
data_root = 'data/synthetic_coco/'
synthetic = dict(num_train=2000, num_val=200, image_size=(256, 192), seed=0)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=codec['input_size'],
         scale_factor=(0.8, 1.25), rotate_factor=20),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='BottomupGetHeatmapMask'),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupResize', input_size=codec['input_size'],
         size_factor=32, resize_mode='expand'),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 data_mode='bottomup', pipeline=train_pipeline, **synthetic))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 data_mode='bottomup', test_mode=True,
                 pipeline=val_pipeline, **synthetic))
test_dataloader = val_dataloader

# bottom-up instances have no detector box: score by the grouped
# keypoints' mean score, no OKS-NMS
val_evaluator = dict(type='CocoMetric', score_mode='bbox', nms_mode='none')
test_evaluator = val_evaluator
