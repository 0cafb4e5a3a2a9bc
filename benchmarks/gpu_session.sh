#!/usr/bin/env bash
# The GPU measurements reported in benchmarks/README.md, as one script for one short
# session on a lent GPU machine (the course's maintainers get 15 minutes at a time).
#
# Expects, relative to the repository root:
#   .carry/minilm-fp16/   all-MiniLM-L6-v2 saved in fp16 (to fit the 64 MiB transfer limit)
#   .carry/sst2/          train.tsv.gz and validation.tsv (full SST-2)
# and writes JSON results to $OUT (or benchmarks/results when OUT is unset).
set -uo pipefail
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"

# Master weights in fp32: upcast the fp16 transfer copy once.
python3 - <<'PY'
import torch, transformers
transformers.logging.set_verbosity_error()
from transformers import AutoModel, AutoTokenizer
AutoModel.from_pretrained(".carry/minilm-fp16", dtype=torch.float32).save_pretrained("/tmp/all-MiniLM-L6-v2")
AutoTokenizer.from_pretrained(".carry/minilm-fp16").save_pretrained("/tmp/all-MiniLM-L6-v2")
PY

# 1. Speed, DistilBERT-base shapes (random weights), one full epoch: old settings vs fast recipe.
python3 benchmarks/speed.py --checkpoint random-distilbert --data .carry/sst2 --samples all \
    --variants 128:2e-4 --json "$OUT/gpu_distilbert_epoch.json" 2>&1 | tee "$OUT/gpu_distilbert_epoch.txt"
# 2. Accuracy, real pretrained MiniLM, one full epoch each.
python3 benchmarks/speed.py --checkpoint /tmp/all-MiniLM-L6-v2 --data .carry/sst2 --samples all \
    --variants 128:2e-4 --json "$OUT/gpu_minilm_epoch.json" 2>&1 | tee "$OUT/gpu_minilm_epoch.txt"
# 3. The effect of each setting, DistilBERT shapes, 16,000 sentences per rung.
python3 benchmarks/speed.py --checkpoint random-distilbert --data .carry/sst2 --samples 16000 --mode ladder \
    --compile --json "$OUT/gpu_distilbert_ladder.json" 2>&1 | tee "$OUT/gpu_distilbert_ladder.txt"
