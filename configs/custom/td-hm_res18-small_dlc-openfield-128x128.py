# The DeepLabCut open-field example (one mouse, 4 keypoints, 116 labelled
# 640x480 frames) trained on the CPU in minutes: a narrow ResNet-18 on
# 128x128 crops. Convert the project first (docs/custom_dataset.md):
#     python tools/dataset_converters/dlc2coco.py \
#         ../shared/data/dlc_openfield data/dlc_openfield/
#     python tools/train.py \
#         configs/custom/td-hm_res18-small_dlc-openfield-128x128.py
_base_ = ['./td-hm_res18_custom-coco.py']

# ---- the dataset: what dlc2coco.py wrote --------------------------------
data_root = 'data/dlc_openfield/'
metainfo = dict(from_file=data_root + 'dataset_info.py')
num_keypoints = 4

# ---- a short CPU schedule ---------------------------------------------------
train_cfg = dict(max_epochs=60, val_interval=20)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01,
         by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=60, T_max=60,
         eta_min=2e-5, by_epoch=True, convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # the best checkpoint by coco/AP (inherited): PCK@0.2 reaches 1.0 early
    # and stops telling models apart
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=1))

# ---- a narrow model on 128x128 crops ----------------------------------------
codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32),
             sigma=1.5)
model = dict(
    backbone=dict(type='ResNet', depth=18, stem_channels=32,
                  base_channels=32),
    head=dict(in_channels=256, out_channels=num_keypoints,
              deconv_out_channels=(64, 64, 64), decoder=codec))

# a mouse seen from above turns any way: strong rotation augmentation
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', scale_factor=(0.8, 1.2),
         rotate_factor=90.0, rotate_prob=0.8),
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
    batch_size=16,
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
