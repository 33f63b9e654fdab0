#!/usr/bin/env bash
# Evaluation on a slurm cluster, one task per GPU:
#     GPUS=8 tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT \
#         [test.py args]
# Environment: as for slurm_train.sh. See docs/distributed.md.
set -x
if [ $# -lt 4 ]; then
    echo "usage: GPUS=N $0 PARTITION JOB_NAME CONFIG CHECKPOINT [args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
        --launcher slurm "${@:5}"
