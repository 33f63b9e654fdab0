#!/usr/bin/env bash
# Evaluation on a slurm cluster, one task per GPU:
#     GPUS=8 tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT \
#         [test.py args]
# Environment: as for slurm_train.sh. See docs/distributed.md.
if [ $# -lt 4 ]; then
    echo "usage: GPUS=N $0 PARTITION JOB_NAME CONFIG CHECKPOINT [args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" test.py "$3" "$4" \
    --launcher slurm "${@:5}"
