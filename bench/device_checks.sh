#!/bin/bash
# The GPU checks of issue 12, run on a lent machine after bench/device_bundle.sh (carry .gpu):
#   bash bench/device_checks.sh cli              # ~4 min: CUDA extract, fine-tune killed and resumed, torchrun 2 ranks
#   bash bench/device_checks.sh extract finetune # ~6 min: bench/extract.py and bench/finetune.py at 20,000 records
#   bash bench/device_checks.sh tests            # tests/extract with CUDA visible
# Everything printed also goes to $OUT/log.txt (the device tool brings $OUT back).
set -u -o pipefail
O=${OUT:-/tmp/device-checks}; mkdir -p "$O"
exec > >(tee -a "$O/log.txt") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
R=$(cd "$(dirname "$0")/.." && pwd); PY=${PY:-python3}; DEV=${DEV:-cuda}
step() { echo; echo "=== $(date +%T) [$SECONDS s] $*"; }
quiet() { tr "\r" "\n" | grep --line-buffered -v -E "(doc|batch|fold|it)/s\]|^\s*$"; }  # progress bars off the log

step setup
rm -rf /tmp/site && $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$R"/.gpu/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$R/.gpu/site
mkdir -p "$R/../shared/datasets" && for f in "$R"/.gpu/datasets/*.gz; do
  d="$R/../shared/datasets/$(basename "$f" .gz)"; [ -f "$d" ] || gunzip -c "$f" > "$d"; done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
$PY -c "import torch, transformers, pandas; print('torch', torch.__version__, 'transformers', transformers.__version__, 'pandas', pandas.__version__)"
cd /tmp  # not the repository root, whose screenstack/ folder would shadow the installed package
MODEL=${MODEL:-/tmp/bert-base}
[ -d "$MODEL" ] || $PY -c "import sys; sys.path.insert(0, '$R/bench'); from pathlib import Path; from extract import random_bert_base; random_bert_base(Path('$MODEL'))" 2>&1 | quiet
ACE=$R/../shared/datasets/cohen_ace_inhibitors.csv; ADHD=$R/../shared/datasets/cohen_adhd.csv
SS="$PY -m screenstack"

for part in "$@"; do case $part in
cli)
  step "frozen extract through the CLI, $DEV, cohen_ace (2,544 records; includes CUDA start-up)"
  rm -rf /tmp/r1; time (timeout 150 $SS extract --train "$ACE" --model "$MODEL" --out /tmp/r1 --device "$DEV" --yes 2>&1 | quiet)
  step "extract --finetune killed once a fold's state.pt exists, then resumed"
  rm -rf /tmp/r2; FT=(extract --train "$ADHD" --model "$MODEL" --out /tmp/r2 --device "$DEV" --finetune --epochs 2 --yes)
  $SS "${FT[@]}" > /tmp/ft1.log 2>&1 & P=$!
  for _ in $(seq 240); do [ -n "$(find /tmp/r2 -name state.pt 2>/dev/null)" ] && break; sleep 0.5; done
  kill -9 $P; wait $P 2>/dev/null; quiet < /tmp/ft1.log | tail -5; find /tmp/r2 -path '*fold*' -type f | sort
  time (timeout 300 $SS "${FT[@]}" 2>&1 | quiet)
  step "torchrun, 2 ranks sharing the GPU, fold-parallel fine-tuning"
  rm -rf /tmp/r3; time (timeout 300 $PY -m torch.distributed.run --nproc-per-node 2 -m screenstack "${FT[@]/\/tmp\/r2//tmp/r3}" 2>&1 | quiet)
  find /tmp/r3 -name result.npz | sort ;;
extract)
  step "bench/extract.py, 20,000 records"
  timeout 330 $PY "$R/bench/extract.py" --random-bert-base --device "$DEV" --methods encode-bf16,encode-fp32,st,seed \
    --json "$O/extract.json" | tee "$O/extract.txt" ;;
finetune)
  step "bench/finetune.py, 20,000 records (seed loop 4,000)"
  timeout 240 $PY "$R/bench/finetune.py" --model pubmedbert-size --device "$DEV" --seed-records 4000 | tee "$O/finetune.txt" ;;
tests)
  step "tests/extract with CUDA visible"
  timeout 200 $PY -m pytest -q -x -p no:cacheprovider "$R/tests/extract" 2>&1 | tail -30 ;;
*) echo "unknown part $part (cli, extract, finetune, tests)"; exit 2 ;;
esac; done
step done
