#!/usr/bin/env bash
# What gpu_session.sh has not settled, for the next short session on a lent GPU (about 10
# minutes). Same variables and defaults as gpu_session.sh (MODEL_DIR, DATA_DIR, OUT, WORK, PYTHON).
#
# 1. MiniLM accuracy, reference settings vs the recipe with its batches in random order
#    (order_by_length), one full epoch each, seeds 42-44: the GPU results so far are one
#    seed each, with the recipe in the Trainer's long-to-short order.
# 2. With time left: the effect of each setting on GPU (ladder, no torch.compile, 8,000
#    sentences per rung), which gpu_session.sh's compiled ladder never finished.
set -uo pipefail  # no -e: a step that fails leaves the next ones their time
MODEL_DIR=${MODEL_DIR:-.carry/minilm-fp16}
DATA_DIR=${DATA_DIR:-.carry/sst2}
OUT=${OUT:-course_utils/assets/results}
WORK=${WORK:-$(mktemp -d)}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu_followup.txt"
"$PYTHON" - "$MODEL_DIR" "$WORK/all-MiniLM-L6-v2" <<'PY'
import sys
import torch
from transformers import AutoModel, AutoTokenizer
source, target = sys.argv[1:]
AutoModel.from_pretrained(source, dtype=torch.float32).save_pretrained(target)
AutoTokenizer.from_pretrained(source).save_pretrained(target)
PY
MODEL="$WORK/all-MiniLM-L6-v2"
"$PYTHON" benchmarks/speed.py --checkpoint "$MODEL" --data "$DATA_DIR" --samples all --seeds 42,43,44 \
    --json "$OUT/gpu_minilm_epoch_seeds.json" --what "reference vs recipe, full epoch, seeds 42-44" 2>&1 | tee "$OUT/gpu_minilm_epoch_seeds.txt"
"$PYTHON" benchmarks/speed.py --checkpoint random-distilbert --data "$DATA_DIR" --samples 8000 --mode ladder \
    --json "$OUT/gpu_distilbert_ladder.json" --what "one setting at a time, one seed" 2>&1 | tee "$OUT/gpu_distilbert_ladder.txt"
