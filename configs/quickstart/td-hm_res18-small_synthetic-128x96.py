# Quickstart: a small top-down heatmap model trained on CPU in minutes.
# The data (synthetic humanoids, COCO format, 17 keypoints) is generated
# into data/synthetic_coco on first use; validation reports COCO AP on the
# held-out split.
#     python tools/train.py configs/quickstart/td-hm_res18-small_synthetic-128x96.py
_base_ = ['../_base_/default_runtime.py']

# runtime
train_cfg = dict(max_epochs=5, val_interval=5)
randomness = dict(seed=0)

# optimizer and schedule
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=30, start_factor=0.03,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=5, T_max=5, eta_min=3e-5,
         by_epoch=True, convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='coco/AP', rule='greater'))

# codec: 96x128 input crops, 24x32 heatmaps
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
             sigma=2)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18, stem_channels=32,
                  base_channels=32),
    head=dict(
        type='HeatmapHead',
        in_channels=256,
        out_channels=17,
        deconv_out_channels=(64, 64, 64),
        deconv_kernel_sizes=(4, 4, 4),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# data: generated on first use (about 2k train / 200 val images)
dataset_type = 'SyntheticCocoDataset'
data_root = 'data/synthetic_coco/'
synthetic = dict(num_train=2000, num_val=200, image_size=(256, 192), seed=0)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', scale_factor=(0.75, 1.25),
         rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 data_mode='topdown', pipeline=train_pipeline, **synthetic))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 data_mode='topdown', test_mode=True,
                 pipeline=val_pipeline, **synthetic))
test_dataloader = val_dataloader

# without ann_file, CocoMetric evaluates against the val dataset's own
# annotation file
val_evaluator = dict(type='CocoMetric')
test_evaluator = val_evaluator
