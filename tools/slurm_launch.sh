#!/usr/bin/env bash
# Shared by slurm_train.sh and slurm_test.sh: run one python script of
# tools/ under srun, one task per GPU.
#     tools/slurm_launch.sh PARTITION JOB_NAME SCRIPT [script args]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (default min(GPUS, 8)),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun options). See
# docs/distributed.md.
set -x
if [ $# -lt 3 ]; then
    echo "usage: GPUS=N $0 PARTITION JOB_NAME SCRIPT [args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
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
    python -u "$ROOT/tools/$SCRIPT" "${@:4}"
