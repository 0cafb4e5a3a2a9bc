#!/usr/bin/env bash
# The GPU measurements of benchmarks/README.md, as one script for one short session on a lent
# GPU machine. Run it from the repository root. Inputs and outputs, each a variable with a default
# relative to the repository root (set any of them to use other folders):
#
#   MODEL_DIR  all-MiniLM-L6-v2 (may be saved in fp16 to keep a transfer small)  default .carry/minilm-fp16
#   DATA_DIR   SST-2 train and validation files (train.tsv.gz, validation.tsv)      default .carry/sst2
#   OUT        where the JSON and text results go                                    default course_utils/assets/results
#   WORK       scratch folder for the fp32 copy of the model                         default: a new temporary folder
#   PYTHON     the Python with the course's requirements                             default python3
#
# After a run: add a table for each new results file to benchmarks/tables.py if it needs one, and
# run `python benchmarks/tables.py` to update the READMEs.
set -uo pipefail  # no -e: a step that fails leaves the next ones their time
MODEL_DIR=${MODEL_DIR:-.carry/minilm-fp16}
DATA_DIR=${DATA_DIR:-.carry/sst2}
OUT=${OUT:-course_utils/assets/results}
WORK=${WORK:-$(mktemp -d)}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PYTHON" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"

# Master weights in fp32: upcast the transfer copy once.
"$PYTHON" - "$MODEL_DIR" "$WORK/all-MiniLM-L6-v2" <<'PY'
import sys
import torch
from transformers import AutoModel, AutoTokenizer
source, target = sys.argv[1:]
AutoModel.from_pretrained(source, dtype=torch.float32).save_pretrained(target)
AutoTokenizer.from_pretrained(source).save_pretrained(target)
PY
MODEL="$WORK/all-MiniLM-L6-v2"

# 1. Speed, DistilBERT-base shapes (random weights), one full epoch: reference vs recipe.
"$PYTHON" benchmarks/speed.py --checkpoint random-distilbert --data "$DATA_DIR" --samples all \
    --variants 128:2e-4 --json "$OUT/gpu_distilbert_epoch.json" \
    --what "speed, DistilBERT shapes (random weights), full epoch" 2>&1 | tee "$OUT/gpu_distilbert_epoch.txt"
# 2. Accuracy, real pretrained MiniLM, one full epoch each.
"$PYTHON" benchmarks/speed.py --checkpoint "$MODEL" --data "$DATA_DIR" --samples all \
    --variants 128:2e-4 --json "$OUT/gpu_minilm_epoch.json" --what "speed and accuracy, full epoch, one seed" 2>&1 | tee "$OUT/gpu_minilm_epoch.txt"
# 3. The effect of each setting, DistilBERT shapes, 16,000 sentences per rung.
"$PYTHON" benchmarks/speed.py --checkpoint random-distilbert --data "$DATA_DIR" --samples 16000 --mode ladder \
    --compile --json "$OUT/gpu_distilbert_ladder.json" --what "one setting at a time, compiled, one seed" 2>&1 | tee "$OUT/gpu_distilbert_ladder.txt"
