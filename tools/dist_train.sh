#!/usr/bin/env bash
# Distributed training with torchrun:
#     tools/dist_train.sh CONFIG NPROC [train.py args]
# NPROC processes on this node (one per GPU; on a machine without GPUs they
# run on CPUs with the gloo backend). Multi-node: run the same command on
# every node with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
# See docs/distributed.md.
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC [tools/train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
