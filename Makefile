# Two entry points (see README): `make demo` runs the main job on an open
# dataset, `make test` runs the tests. Both install first, into .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DATASETS ?= ../shared/datasets

.PHONY: install demo test bench

install: $(VENV)/.installed

# torch is pinned on its own line first: this release is the CPU build where a
# local wheel exists, and later requirements (torch>=2.2) then install nothing more.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# $(DATASETS) is a mirror, a step before the download: a clone without it downloads the file
# (SHA-256 checked either way), so the demo works offline next to ../shared and online anywhere.
demo: install
	SCREENSTACK_MIRROR=$(DATASETS) $(BIN)/screenstack datasets get cohen_adhd --dest data/cohen_adhd.csv
	$(BIN)/screenstack split --data data/cohen_adhd.csv --test-size 0.5 --seed 0 --out data/cohen_adhd
	$(BIN)/screenstack run --train data/cohen_adhd/train.csv --test data/cohen_adhd/test.csv --model minilm --out artifacts/demo

# One worker per core (pytest-xdist), each test module kept on one worker so its module-scoped run folders are made
# once: on 2 cores about half the wall time of one process.
test: install
	$(BIN)/pytest -q -n auto --dist loadscope
