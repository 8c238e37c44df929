"""What do OpenMP's spinning idle threads cost two processes that share the cores?

Importing `screenstack` sets ``OMP_WAIT_POLICY=PASSIVE`` (unless the user set
it) before torch, LightGBM or XGBoost load OpenMP, so idle threads sleep
rather than spin. Until 0.3.56 only the command set it; the test suite's
modules, a script or a notebook importing torch or a booster first kept
OpenMP's default (spinning), and two processes on the same cores (the suite's
two pytest-xdist workers, the protocol's ``--jobs 2``, a user's run beside
other work) lost much of their time to each other's spinning threads.

This runs the same work in `--procs` child processes at once, each with
OpenMP's default thread count, first with the policy unset (OpenMP's default)
and then PASSIVE, `--repeats` times alternately, and reports the best wall
time of each and their ratio. The work is what the suite's slow tests do: a
tiny random BERT trained for some steps (torch), and a LightGBM and an
XGBoost fit on Gaussian vectors of MiniLM's width (4 layers x 384).

    python bench/openmp_wait.py                  # 2 processes, 2 repeats, about 10 minutes on 2 cores
    python bench/openmp_wait.py --procs 1 --results ''
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import ROOT, machine, publish  # noqa: E402  (bench/ is not a package)

# One child's work; it prints the seconds of each part as JSON. It imports no part of screenstack (which would set the
# policy), so the policy in its environment is the one in force, as in a test module or a notebook that imported
# torch or a booster first before 0.3.56.
CHILD = r"""
import json, time
import numpy as np, torch, lightgbm, xgboost
from transformers import BertConfig, BertModel

torch.manual_seed(0)
said = {}
start = time.perf_counter()
model = BertModel(BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=128, max_position_embeddings=128))
head = torch.nn.Linear(64, 1)
optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)
ids = torch.randint(5, 1000, (16, 64))
labels = torch.randint(0, 2, (16,)).float()
for _ in range(STEPS):
    loss = torch.nn.functional.binary_cross_entropy_with_logits(head(model(ids).last_hidden_state[:, 0]).squeeze(1), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
said["torch"] = time.perf_counter() - start

rng = np.random.default_rng(0)
X, y = rng.normal(size=(2000, 1536)).astype(np.float32), rng.random(2000) < 0.1
start = time.perf_counter()
lightgbm.LGBMClassifier(n_estimators=200, verbose=-1, random_state=0).fit(X, y)
said["lightgbm"] = time.perf_counter() - start
start = time.perf_counter()
xgboost.XGBClassifier(n_estimators=200, max_depth=4, random_state=0).fit(X, y)
said["xgboost"] = time.perf_counter() - start
print(json.dumps(said))
"""


def run_together(procs: int, policy: str | None, steps: int) -> tuple[float, dict[str, float]]:
    """Wall seconds of `procs` children started together, and each part's slowest child time."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    code = CHILD.replace("STEPS", str(steps))
    start = time.perf_counter()
    children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
                for _ in range(procs)]
    outputs = [child.communicate()[0] for child in children]
    wall = time.perf_counter() - start
    if any(child.returncode for child in children):
        raise SystemExit("a child process failed")
    parts = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    return wall, {part: max(p[part] for p in parts) for part in parts[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--procs", type=int, default=2, help="child processes at once (default 2: the suite's workers)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60, help="training steps of the tiny BERT")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="'' to print only")
    args = parser.parse_args(argv)
    best: dict[str, tuple[float, dict[str, float]]] = {}
    for _ in range(args.repeats):
        for label, policy in (("spinning (OpenMP's default)", None), ("PASSIVE", "PASSIVE")):
            wall, parts = run_together(args.procs, policy, args.steps)
            print(f"{label}: {wall:.1f} s {parts}", file=sys.stderr)
            if label not in best or wall < best[label][0]:
                best[label] = (wall, parts)
    (spin_wall, spin), (passive_wall, passive) = best.values()
    rows = [f"| {part} | {spin[part]:.1f} | {passive[part]:.1f} | {passive[part] / spin[part]:.2f}x |" for part in spin]
    rows.append(f"| wall, all {args.procs} processes | {spin_wall:.1f} | {passive_wall:.1f} | {passive_wall / spin_wall:.2f}x |")
    text = "\n".join([
        f"## OpenMP's idle threads: {args.procs} processes at once, best of {args.repeats}", "",
        f"Machine: {machine()}.", "",
        f"    python bench/openmp_wait.py --procs {args.procs} --repeats {args.repeats} --steps {args.steps}", "",
        "| part (slowest process) | spinning (s) | PASSIVE (s) | ratio |", "|---|---:|---:|---:|", *rows])
    publish(args.results, "openmp_wait", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
