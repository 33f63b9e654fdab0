# HigherHRNet-W32 (Cheng et al., CVPR 2020), CrowdPose (14 keypoints),
# 512x512. Bottom-up: HRNet-W32's 1/4 feature predicts heatmaps and tags;
# a deconvolution stage (fed with that feature and those outputs) predicts
# heatmaps again at 1/2 resolution. Heatmaps are supervised at both
# resolutions, tags at 1/4 only; at test time the 1/4 maps are upsampled
# and averaged with the 1/2 ones before grouping by tag.
_base_ = ['../../../_base_/default_runtime.py']

# runtime
train_cfg = dict(max_epochs=300, val_interval=10)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1.5e-3))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001,
         by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=300, milestones=[200, 260],
         gamma=0.1, by_epoch=True)
]

# automatically scale the LR by the actual batch size
auto_scale_lr = dict(base_batch_size=192)

# hooks
default_hooks = dict(
    checkpoint=dict(save_best='crowdpose/AP', rule='greater', interval=50))

# codec settings: targets at 1/4 and 1/2 of the input; the grouping
# order starts at the head top and neck, then shoulders and hips, then
# the limbs outward
codec = dict(
    type='AssociativeEmbedding',
    input_size=(512, 512),
    heatmap_size=(128, 128),
    sigma=2,
    decode_topk=30,
    decode_center_shift=0.5,
    decode_keypoint_order=[12, 13, 0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11],
    decode_max_instances=30)
codec_half = dict(codec, heatmap_size=(256, 256))

# model settings
model = dict(
    type='BottomupPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                        num_blocks=(4, 4), num_channels=(32, 64)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC',
                        num_blocks=(4, 4, 4), num_channels=(32, 64, 128)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC',
                        num_blocks=(4, 4, 4, 4),
                        num_channels=(32, 64, 128, 256))),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmpose/'
            'pretrain_models/hrnet_w32-36af842e.pth'),
    ),
    head=dict(
        type='HigherHRNetHead',
        in_channels=32,
        num_keypoints=14,
        tag_dim=1,
        tag_per_keypoint=True,
        num_deconvs=1,
        num_channels=(32, ),
        kernel_size=(4, ),
        num_basic_blocks=4,
        cat_output=(True, ),
        keypoint_loss=dict(type='KeypointMSELoss', use_target_weight=True),
        keypoint_loss_weights=(1.0, 1.0),
        tag_loss=dict(type='AssociativeEmbeddingLoss', loss_weight=0.001),
        # decoding runs on maps restored to the input size
        # (restore_heatmap_size), so the decoder's stride is 1
        decoder=dict(codec, heatmap_size=codec['input_size'])),
    test_cfg=dict(
        multiscale_test=False,
        flip_test=True,
        shift_heatmap=False,
        restore_heatmap_size=True,
        align_corners=False))

# base dataset settings
dataset_type = 'CrowdPoseDataset'
data_mode = 'bottomup'
data_root = 'data/crowdpose/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=codec['input_size']),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='GenerateTarget', encoder=[codec, codec_half],
         multilevel=True),
    dict(type='BottomupGetHeatmapMask'),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupResize', input_size=codec['input_size'],
         size_factor=64, resize_mode='expand'),
    dict(type='PackPoseInputs'),
]

# data loaders
train_dataloader = dict(
    batch_size=24,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mmpose_crowdpose_trainval.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mmpose_crowdpose_test.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators: bottom-up persons have no detector box; score each by its
# grouped keypoints, without OKS-NMS
# CrowdPose: AP over crowd-index ranges (AP(E)/AP(M)/AP(H)), box-area OKS
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
    nms_mode='none',
    score_mode='bbox',
    use_area=False,
    iou_type='keypoints_crowd',
    prefix='crowdpose',
)
test_evaluator = val_evaluator
