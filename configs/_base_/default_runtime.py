default_scope = 'posekit'

# hooks
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # draws predictions during val/test when enabled (see
    # docs/visualization.md)
    visualization=dict(type='PoseVisualizationHook', enable=False),
)

# multi-processing and distributed settings (tools/train.py switches the
# backend to gloo on machines without CUDA)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# logging: LocalVisBackend writes the json scalars analyze_logs reads
vis_backends = [dict(type='LocalVisBackend')]
# no fixed name: each run gets its own visualizer instance
visualizer = dict(type='PoseLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True,
                     num_digits=6)
log_level = 'INFO'
load_from = None
resume = False

# file I/O backend
backend_args = dict(backend='local')

# training / validation / test loops
train_cfg = dict(by_epoch=True)
val_cfg = dict()
test_cfg = dict()
