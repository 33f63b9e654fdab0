#!/usr/bin/env bash
# Training on a slurm cluster, one task per GPU:
#     GPUS=16 tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR \
#         [train.py args]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (default 8),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun options), MASTER_PORT
# (default 29500). See docs/distributed.md.
if [ $# -lt 4 ]; then
    echo "usage: GPUS=N $0 PARTITION JOB_NAME CONFIG WORK_DIR [args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "$3" \
    --work-dir="$4" --launcher slurm "${@:5}"
