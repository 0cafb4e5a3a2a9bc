#!/usr/bin/env bash
# What gpu_session.sh did not settle, for the next short session on a lent GPU (about 10 minutes;
# same inputs as gpu_session.sh: .carry/minilm-fp16 and .carry/sst2).
#
# 1. MiniLM accuracy, old settings vs the fast recipe (length-grouped batches in random order,
#    course_utils.batching), one full epoch each, seeds 43 and 44, then the fast recipe alone
#    with seed 42 (the old settings' seed-42 run is in results/gpu_minilm_epoch.*; its fast run
#    there used the Trainer's long-to-short order). One seed cannot tell a 0.006 difference
#    from noise. About 4 minutes per seed on an H200.
# 2. With time left: the effect of each setting on GPU (ladder, no torch.compile, 8,000
#    sentences per rung), which gpu_session.sh's compiled ladder never finished.
set -uo pipefail
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu_followup.txt"
python3 - <<'PY'
import torch, transformers
transformers.logging.set_verbosity_error()
from transformers import AutoModel, AutoTokenizer
AutoModel.from_pretrained(".carry/minilm-fp16", dtype=torch.float32).save_pretrained("/tmp/all-MiniLM-L6-v2")
AutoTokenizer.from_pretrained(".carry/minilm-fp16").save_pretrained("/tmp/all-MiniLM-L6-v2")
PY
python3 benchmarks/speed.py --checkpoint /tmp/all-MiniLM-L6-v2 --data .carry/sst2 --samples all --seeds 43,44 \
    --json "$OUT/gpu_minilm_epoch_seeds.json" 2>&1 | tee "$OUT/gpu_minilm_epoch_seeds.txt"
python3 benchmarks/speed.py --checkpoint /tmp/all-MiniLM-L6-v2 --data .carry/sst2 --samples all --seeds 42 --skip-old \
    --json "$OUT/gpu_minilm_epoch_recipe_seed42.json" 2>&1 | tee "$OUT/gpu_minilm_epoch_recipe_seed42.txt"
python3 benchmarks/speed.py --checkpoint random-distilbert --data .carry/sst2 --samples 8000 --mode ladder \
    --json "$OUT/gpu_distilbert_ladder.json" 2>&1 | tee "$OUT/gpu_distilbert_ladder.txt"
