# Top-down heatmap model (ResNet-18 + deconvolution head) for your own
# COCO-format keypoint data, e.g. the output of
#     python tools/dataset_converters/dlc2coco.py PROJECT data/custom/
# Set the three values below (or override them in a config that has this
# file as _base_; see configs/custom/td-hm_res18-small_dlc-openfield-128x128.py
# and docs/custom_dataset.md), then
#     python tools/train.py configs/custom/td-hm_res18_custom-coco.py
_base_ = ['../_base_/default_runtime.py']

# ---- your dataset --------------------------------------------------------
# data_root holds annotations/train.json, annotations/val.json, images/
# (file_name in the json files is relative to it) and dataset_info.py
data_root = 'data/custom/'
metainfo = dict(from_file=data_root + 'dataset_info.py')
# the number of keypoints in dataset_info.py (the head predicts one heatmap
# per keypoint)
num_keypoints = 17

# ---- runtime -------------------------------------------------------------
train_cfg = dict(max_epochs=210, val_interval=10)
randomness = dict(seed=0)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001,
         by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200],
         gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2,
                    save_best='coco/AP', rule='greater'))

# ---- model ---------------------------------------------------------------
# 256x256 crops (animals are seen from any side), 64x64 heatmaps
codec = dict(type='MSRAHeatmap', input_size=(256, 256),
             heatmap_size=(64, 64), sigma=2)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18),
    head=dict(
        type='HeatmapHead',
        in_channels=512,
        out_channels=num_keypoints,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# ---- data ----------------------------------------------------------------
dataset_type = 'CustomCocoDataset'
data_mode = 'topdown'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform'),
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
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

# COCO AP with the sigmas of dataset_info.py (ground truth: the val dataset's
# annotation file), PCK@0.2 of the box size and the mean pixel error (EPE)
val_evaluator = [dict(type='CocoMetric'), dict(type='PCKAccuracy', thr=0.2),
                 dict(type='EPE')]
test_evaluator = val_evaluator
