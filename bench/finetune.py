"""Fine-tuning throughput: screenstack's loop against the seed notebooks' loop, as a ratio.

Both loops train the same encoder + linear head from the same initial weights
on the same records, one step per batch of 16, AdamW at 2e-5:

- seed: every record padded to 512 tokens, records in random order, fp32;
- screenstack: `extract.finetune_loop.train_epoch` with length-grouped batches
  padded to their longest record, autocast (bf16 on a CUDA GPU, fp32 on CPU),
  and ``torch.compile`` with ``--compile``.

Each loop takes one untimed warm-up batch, then is timed over ``--records``
records. Prints samples/s of each and their ratio.

    python bench/finetune.py                          # CPU: bundled minilm, 64 records
    python bench/finetune.py --model tiny --records 256
    python bench/finetune.py --model pubmedbert-size --records 2048 --device cuda   # GPU: random 110M BERT
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from screenstack.extract.model import resolve_precision
from screenstack.extract.finetune_loop import collate, length_grouped_batches, make_optimizer, make_scheduler, tokenize, train_epoch
from screenstack.extract.heads import ScreeningModel, make_head
from screenstack.extract.model import load_encoder, resolve_device, resolve_model_path
from screenstack.features.records.corpus import record_text

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cohen_ace_inhibitors.csv"
SIZES = {  # random BERTs; the tokenizer is minilm's (uncased WordPiece, 30522 tokens, like BERT-base)
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "pubmedbert-size": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


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


def _timed(run, device: str) -> float:
    _sync(device)
    start = time.perf_counter()
    run()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm", help=f"bundled/local/HF encoder, or a random BERT: {', '.join(SIZES)}")
    parser.add_argument("--data", default=str(DATA), help="CSV with title and abstract columns")
    parser.add_argument("--records", type=int, default=64, help="timed training records per loop")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", help="our loop's precision (the seed loop is always fp32)")
    parser.add_argument("--compile", action="store_true", help="torch.compile our loop's model")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    frame = pd.read_csv(args.data, dtype=str, keep_default_na=False).sample(frac=1.0, random_state=0)
    n = args.records + args.batch_size  # one warm-up batch, then the timed records
    texts = [record_text(t, a) for t, a in zip(frame["title"][:n], frame["abstract"][:n])]
    tokenizer, encoder = _encoder(args.model)
    token_ids = tokenize(tokenizer, texts, args.max_length)
    labels = np.random.default_rng(0).integers(0, 2, len(texts)).astype(np.float32)
    pad_id = tokenizer.pad_token_id or 0
    torch.manual_seed(0)
    initial = ScreeningModel(encoder, make_head("linear", encoder.config.hidden_size))
    warm = np.arange(args.batch_size)
    timed = np.arange(args.batch_size, n)
    lengths = np.array([len(t) for t in token_ids])

    seed_model = copy.deepcopy(initial).to(device)
    seed_batches = [timed[i:i + args.batch_size] for i in range(0, len(timed), args.batch_size)]
    seed_loop(seed_model, token_ids, labels, [warm], device, args.max_length, pad_id)
    seed_s = _timed(lambda: seed_loop(seed_model, token_ids, labels, seed_batches, device, args.max_length, pad_id), device)
    del seed_model

    model = copy.deepcopy(initial).to(device)
    runner = torch.compile(model, dynamic=True) if args.compile else model
    our_batches = [timed[b] for b in length_grouped_batches(lengths[timed], args.batch_size, np.random.default_rng(0))]
    our_loop(model, runner, token_ids, labels, [warm], device, precision, pad_id)
    our_s = _timed(lambda: our_loop(model, runner, token_ids, labels, our_batches, device, precision, pad_id), device)

    seed_rate, our_rate = len(timed) / seed_s, len(timed) / our_s
    mean_tokens = lengths[timed].mean()
    print(f"device {device} ({torch.get_num_threads()} CPU threads), model {args.model}, {len(timed)} records of "
          f"{Path(args.data).name} (mean {mean_tokens:.0f} tokens, max_length {args.max_length}), batch {args.batch_size}")
    print(f"seed loop (pad to {args.max_length}, fp32):             {seed_rate:8.2f} samples/s")
    print(f"screenstack loop (length-grouped, {precision}{', compiled' if args.compile else ''}): {our_rate:8.2f} samples/s")
    print(f"ratio: {our_rate / seed_rate:.2f}x")


if __name__ == "__main__":
    main()
