# SCTNet-B top-down heatmap model on COCO, 640x640 crops, trained with
# SCTNet's semantic guidance: a frozen SegFormer (MiT-B3) teacher whose
# features the backbone learns to imitate. The teacher, its adapters and
# the alignment loss exist only in training (model.auxiliary_head).
#
# Test without building the teacher:
#   python tools/test.py THIS_CONFIG CKPT \
#       --cfg-options model.test_cfg.drop_auxiliary=True
# Publish the inference weights without it:
#   python tools/misc/publish_model.py CKPT OUT.pth --drop-auxiliary
_base_ = ['../../../_base_/default_runtime.py']

# Path of the SegFormer-B3 teacher weights (SCTNet's
# Teacher_SegFormer_B3_COCO.pth, or an MMSeg SegFormer-B3 checkpoint);
# download it yourself and put its local path here. None trains with a
# randomly initialised teacher, which only makes sense for smoke tests
# (a warning is logged). The teacher's number of classes must match:
# 171 for COCO-Stuff, 150 for ADE20K, 19 for Cityscapes.
teacher_checkpoint = None
teacher_num_classes = 171

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

# optimizer: the teacher has no trainable parameters (requires_grad=False)
# and so never receives gradients or updates
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001,
         by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200],
         gamma=0.1, by_epoch=True)
]

# automatically scale the LR by the actual batch size (8 GPUs x 16)
auto_scale_lr = dict(base_batch_size=128)

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))

# codec: 640x640 crops, 160x160 heatmaps (stride 4); sigma grows with the
# heatmap as in MMPose's configs (2 at 64x48, 3 at 96x72)
codec = dict(type='MSRAHeatmap', input_size=(640, 640),
             heatmap_size=(160, 160), sigma=5)

# SyncBN as published (it behaves as BN on one device); SCTNet cannot
# train on a batch of one sample per BN (see SCTNet's docstring)
norm_cfg = dict(type='SyncBN', requires_grad=True)

# model settings
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='SCTNet',
        arch='B',  # base_channels=64, spp_channels=128
        # 1: x3 (256 ch, 1/16), 2: x5 (512 ch, 1/32), 3: x_out (256 ch,
        # 1/8). The head reads the last one (x_out); the guidance head
        # reads x_out, x5 and x3.
        out_indices=(1, 2, 3),
        drop_path_rate=0.1,
        norm_cfg=norm_cfg,
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='pretrain/SCT-B_Pretrain.pth'),
    ),
    head=dict(
        type='HeatmapHead',
        in_channels=256,
        out_channels=17,
        # one deconvolution: 80x80 (1/8) -> 160x160 (1/4)
        deconv_out_channels=(256, ),
        deconv_kernel_sizes=(4, ),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    auxiliary_head=dict(
        type='VitGuidanceHead',
        base_channels=64,
        num_classes=teacher_num_classes,
        teacher_arch='mit-b3',
        teacher_checkpoint=teacher_checkpoint,
        in_index=(-1, -2, -3),  # x_out, x5, x3 in the backbone outputs
        loss_decode=dict(type='AlignmentLoss', loss_weight=[3, 15, 15, 15])),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=True,
        # True at test time: the auxiliary head is not even built
        drop_auxiliary=False,
    ))

# base dataset settings
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
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

# data loaders
train_dataloader = dict(
    batch_size=16,  # at least 2 per BN (see norm_cfg above)
    num_workers=4,
    persistent_workers=True,
    drop_last=True,  # a last batch of one sample would break the BN
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        bbox_file='data/coco/person_detection_results/'
        'COCO_val2017_detections_AP_H_56_person.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
