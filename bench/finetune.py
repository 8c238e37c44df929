"""Fine-tuning throughput: screenstack's loop against the seed notebooks' loop, as a ratio.

Both loops train the same encoder + linear head from the same initial weights
on the same records, one step per batch of 16, AdamW at 2e-5:

- seed: every record padded to 512 tokens, records in random order, fp32;
- screenstack: `extract.finetune_loop.train_epoch` with length-grouped batches
  padded to their longest record, autocast (bf16 on a CUDA GPU, fp32 on CPU),
  and ``torch.compile`` with ``--compile``.

Each loop takes one untimed warm-up batch, then is timed over ``--records``
records: by default 20 steps' worth on a CPU and 20,000 records on a GPU (about
1,250 steps; the six datasets hold about 10,000, so they are cycled), since a
few steps there measure start-up, not training. Prints per loop: samples/s, the
ratio to the seed loop, useful training TFLOP/s (6 x non-embedding parameters
x real tokens, plus attention; padding not counted), MFU on a GPU (peaks from
bench/extract.py's table, by exact device name, or --peak-tflops) and the peak
memory above the model (GPU: allocated; CPU: resident set) while it trains.

    python bench/finetune.py --records 64 --threads 1     # CPU smoke run: bundled minilm, 4 steps
    python bench/finetune.py --model tiny --records 320
    python bench/finetune.py --model pubmedbert-size --device cuda             # GPU: random 110M BERT, 20,000 records
    python bench/finetune.py --model pubmedbert-size --device cuda --compile
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from screenstack.extract.model import resolve_precision
from screenstack.extract.finetune_loop import collate, length_grouped_batches, make_optimizer, make_scheduler, tokenize, train_epoch
from screenstack.extract.heads import ScreeningModel, make_head
from screenstack.extract.model import load_encoder, resolve_device, resolve_model_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import GPU_RECORDS, PeakMemory, load_texts, peak_tflops  # noqa: E402  (bench/extract.py; bench/ is not a package)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cohen_ace_inhibitors.csv"
SIZES = {  # random BERTs; the tokenizer is minilm's (uncased WordPiece, 30522 tokens, like BERT-base)
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "pubmedbert-size": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}
MIN_STEPS = 20  # timed optimizer steps by default: 4 were mostly start-up


def _encoder(name: str):
    if name not in SIZES:
        loaded = load_encoder(name)
        return loaded.tokenizer, loaded.model
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, max_position_embeddings=512, attn_implementation="sdpa", **SIZES[name])
    return AutoTokenizer.from_pretrained(resolve_model_path("minilm")), BertModel(config)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def seed_loop(model, token_ids, labels, batches, device: str, max_length: int, pad_id: int) -> None:
    """The notebooks' loop: pad to max_length, fp32, forward, BCE, backward, step."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for index in batches:
        ids, mask = collate(token_ids, index, pad_id, device, width=max_length)
        logits, _ = model(ids, mask)
        loss = loss_fn(logits, torch.as_tensor(labels[index], dtype=torch.float32, device=device))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def our_loop(model, runner, token_ids, labels, batches, device: str, precision: str, pad_id: int) -> None:
    config = SimpleNamespace(pos_weight=1.0, grad_accum=1, max_grad_norm=1.0)
    optimizer = make_optimizer(model, 2e-5, 0.01, device)
    scheduler = make_scheduler(optimizer, len(batches), 0.1)
    scaler = torch.amp.GradScaler(device.split(":")[0], enabled=precision == "fp16")
    train_epoch(runner, model, batches, token_ids, labels, optimizer, scheduler, scaler, config, device, precision,
                pad_id=pad_id, progress=False)


def train_flops(model: torch.nn.Module, lengths: np.ndarray) -> float:
    """Useful training FLOPs over records of `lengths` real tokens (padding is not counted, so it shows as waste).

    6 x non-embedding parameters x tokens (forward 2, backward 4), plus
    attention's QK^T and AV: 4 x layers x hidden x tokens^2 per record forward, x3 with the backward.
    """
    params = sum(p.numel() for n, p in model.named_parameters() if ".embeddings." not in f".{n}" and "pooler" not in n)
    config = model.encoder.config
    attention = 12.0 * config.num_hidden_layers * config.hidden_size * float((lengths.astype(np.float64) ** 2).sum())
    return 6.0 * params * float(lengths.sum()) + attention


def _measured(run, device: str) -> tuple[float, float]:
    """(seconds, peak MiB above the memory in use before) of ``run()``."""
    with PeakMemory(device) as memory:
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        seconds = time.perf_counter() - start
    return seconds, memory.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm", help=f"bundled/local/HF encoder, or a random BERT: {', '.join(SIZES)}")
    parser.add_argument("--data", default=str(DATA), help="CSV with title and abstract columns")
    parser.add_argument("--records", type=int, help=f"timed training records per loop (default: {MIN_STEPS} batches on a CPU, "
                                                    f"{GPU_RECORDS:,} on a GPU, cycling the datasets past the file's end)")
    parser.add_argument("--seed-records", type=int, help="timed records of the seed loop only (default: --records); its rate does "
                                                         "not depend on which records, since it pads all to max_length")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", help="our loop's precision (the seed loop is always fp32)")
    parser.add_argument("--compile", action="store_true", help="torch.compile our loop's model")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's peak for MFU at our loop's precision, if not in "
                                                          "bench/extract.py's table (the seed loop's fp32 peak is then not known)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    records = args.records or (GPU_RECORDS if device.startswith("cuda") else MIN_STEPS * args.batch_size)
    texts = load_texts(Path(args.data), records + args.batch_size)  # one warm-up batch, then the timed records
    tokenizer, encoder = _encoder(args.model)
    token_ids = tokenize(tokenizer, texts, args.max_length)
    labels = np.random.default_rng(0).integers(0, 2, len(texts)).astype(np.float32)
    pad_id = tokenizer.pad_token_id or 0
    torch.manual_seed(0)
    initial = ScreeningModel(encoder, make_head("linear", encoder.config.hidden_size))
    warm = np.arange(args.batch_size)
    timed = np.arange(args.batch_size, len(texts))
    lengths = np.array([len(t) for t in token_ids])
    flops = train_flops(initial, lengths[timed])

    seed_model = copy.deepcopy(initial).to(device)
    seed_timed = timed[:args.seed_records] if args.seed_records else timed
    seed_batches = [seed_timed[i:i + args.batch_size] for i in range(0, len(seed_timed), args.batch_size)]
    seed_loop(seed_model, token_ids, labels, [warm], device, args.max_length, pad_id)
    seed_s, seed_mib = _measured(lambda: seed_loop(seed_model, token_ids, labels, seed_batches, device, args.max_length, pad_id),
                                 device)
    del seed_model

    model = copy.deepcopy(initial).to(device)
    runner = torch.compile(model, dynamic=True) if args.compile else model
    our_batches = [timed[b] for b in length_grouped_batches(lengths[timed], args.batch_size, np.random.default_rng(0))]
    our_loop(model, runner, token_ids, labels, [warm], device, precision, pad_id)
    our_s, our_mib = _measured(lambda: our_loop(model, runner, token_ids, labels, our_batches, device, precision, pad_id), device)

    print(f"device {torch.cuda.get_device_name(device) if device.startswith('cuda') else device} "
          f"({torch.get_num_threads()} CPU threads), model {args.model}, {len(timed)} records ({len(set(texts[args.batch_size:]))} distinct) from "
          f"{Path(args.data).name} (mean {lengths[timed].mean():.0f} tokens, max_length {args.max_length}), batch {args.batch_size}, "
          f"{len(seed_batches)} (seed) and {len(our_batches)} timed steps, torch {torch.__version__}")
    print("| loop | records | samples/s | x seed | useful TFLOP/s | MFU | peak MiB above the model |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    seed_rate = len(seed_timed) / seed_s
    for loop, n, seconds, mib, loop_precision in (("seed (pad to max_length, fp32)", len(seed_timed), seed_s, seed_mib, "fp32"),
                                                  (f"screenstack (length-grouped, {precision}{', compiled' if args.compile else ''})",
                                                   len(timed), our_s, our_mib, precision)):
        peak = peak_tflops(device, loop_precision, args.peak_tflops if loop_precision == precision else None)
        tflops = (flops if n == len(timed) else train_flops(initial, lengths[seed_timed])) / seconds / 1e12
        print(f"| {loop} | {n} | {n / seconds:.2f} | {n / seconds / seed_rate:.2f} | {tflops:.3g} | "
              f"{'' if peak is None else f'{tflops / peak:.1%}'} | {mib:.0f} |")


if __name__ == "__main__":
    main()
