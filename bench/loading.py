"""What does reading the records cost, and how much of it is the copy check and the text hashes the fold plan keeps?

Every command that reads a review's files (`run`, `fit-learners`, `extract`,
`predict`) normalises each record's title and abstract and hashes them: once
to name copies under other ids (`features.records.duplicates`), and the
training records' hashes are kept in the fold plan so `predict` can tell a
screened paper from another one under a reused id. This builds a training and
a test file of resampled records from the shared datasets (seeded) and times,
each in a fresh process with its peak memory (max RSS, imports included):

- the baseline: `load_corpus` with the hashing and the copy check switched off
  (the file read and parsed into records, nothing more);
- `load_corpus` as it is, then `make_fold_plan` (what `fit-learners` does
  before its first learner).

The ratio of the two is the figure to watch; absolute seconds depend on the
machine and on what else runs on it.

    python bench/loading.py                                    # 100,000 + 100,000 records; about 2 minutes on 2 cores
    python bench/loading.py --train 20000 --test 20000 --results ''   # a quick look
    python bench/loading.py --xlsx 20000     # a workbook: 0.3.23's reader against pandas' (0.3.22's), in this process
    python bench/loading.py --medline 10000  # PubMed's MEDLINE text against the same records as CSV, in this process
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, ROOT, machine, peak_mib, publish  # noqa: E402  (bench/ is not a package)


def build(datasets: Path, work: Path, n_train: int, n_test: int, seed: int) -> tuple[Path, Path]:
    """train.csv and test.csv of records drawn with replacement from every shared dataset."""
    pool = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False) for path in sorted(datasets.glob("*.csv"))],
                     ignore_index=True)[["title", "abstract", "label_included"]]
    rows = np.random.default_rng(seed).integers(0, len(pool), size=n_train + n_test)
    frame = pool.iloc[rows].reset_index(drop=True).assign(id=[f"r{i}" for i in range(len(rows))])
    train, test = work / "train.csv", work / "test.csv"
    frame.iloc[:n_train][["id", "title", "abstract", "label_included"]].to_csv(train, index=False)
    frame.iloc[n_train:][["id", "title", "abstract"]].to_csv(test, index=False)
    return train, test


def _child(kind: str, train: str, test: str, queue) -> None:
    """Read the files as `kind` says, in this fresh process; put (seconds, peak MiB) on `queue`."""
    warnings.simplefilter("ignore")  # resampled records repeat each other: the copy warnings are not what is timed
    from screenstack.features.artifacts.folds import FoldConfig, make_fold_plan
    from screenstack.features.records import corpus as corpus_module

    if kind == "baseline":
        corpus_module.warn_duplicates = lambda *args, **kwargs: None
        corpus_module.record_keys = lambda frame: pd.DataFrame(0, index=frame.index, columns=["title_key", "text_key"],
                                                                dtype="uint64")
    start = time.perf_counter()
    corpus = corpus_module.load_corpus(train, test)
    if kind != "baseline":
        make_fold_plan(corpus, FoldConfig())
    queue.put((time.perf_counter() - start, peak_mib()))


def measure(kind: str, train: Path, test: Path) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, str(train), str(test), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def xlsx_ratio(datasets: Path, n: int, seed: int) -> None:
    """Time `read_table` on an `n`-record workbook against pandas' ``ExcelFile.parse`` (the reader before 0.3.23, which
    read blank rows as records and error cells as empty), one after the other in this process; then their traced
    peaks in a second pass (tracemalloc slows allocation-heavy code several times, so it is off while timing). Also
    the same workbook with one formula (its saved value kept), whose worksheet XML `read_table` then parses whole."""
    import re
    import tracemalloc
    import zipfile

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from screenstack.features.records.tables import read_table

    with tempfile.TemporaryDirectory() as work:
        train, _ = build(datasets, Path(work), n, 0, seed)
        frame = pd.read_csv(train, dtype=str, keep_default_na=False)
        path, formula = Path(work) / "train.xlsx", Path(work) / "formula.xlsx"  # characters a worksheet cannot hold dropped
        frame.apply(lambda column: column.str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True)).to_excel(path, index=False)
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(formula, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":  # the last label a formula with its saved value
                    data = re.sub(rb'<c r="D%d"[^>]*>.*?</c>' % (n + 1), b'<c r="D%d"><f>0+0</f><v>0</v></c>' % (n + 1),
                                  data, flags=re.S)
                if item.filename == "xl/workbook.xml":  # as Excel saves it: computed, not to be computed on opening
                    data = data.replace(b'fullCalcOnLoad="1"', b"")
                target.writestr(item, data)

        def by_pandas() -> pd.DataFrame:
            with pd.ExcelFile(path, engine="openpyxl") as book:
                return book.parse(sheet_name=0, dtype=str, keep_default_na=False).fillna("").astype(str)

        readers = {"pandas ExcelFile.parse (0.3.22)": by_pandas, "read_table (0.3.23)": lambda: read_table(path),
                   "read_table, one formula in the sheet": lambda: read_table(formula)}
        timed = {}
        for name, read in readers.items():
            start = time.perf_counter()
            rows = len(read())
            timed[name] = [time.perf_counter() - start, 0.0, rows]
        for name, read in readers.items():
            tracemalloc.start()
            read()
            timed[name][1] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    base = next(iter(timed.values()))
    for name, (seconds, mib, rows) in timed.items():
        print(f"{name}: {rows:,} records, {seconds:.2f} s ({seconds / base[0]:.2f}x), traced peak {mib:.0f} MiB ({mib / base[1]:.2f}x)")


def medline_ratio(datasets: Path, n: int, seed: int, rounds: int = 3) -> None:
    """Time `load_records` on `n` records written as PubMed's MEDLINE text (`PMID- `, `TI`/`AB` wrapped at 80
    characters, continuation lines indented by six spaces, three author lines) against the same records as CSV,
    alternated `rounds` times in this process (0.3.45's reader; PubMed lets a search export 10,000 records)."""
    import textwrap

    from screenstack.features.records.corpus import load_records

    def field(tag: str, value: str) -> list[str]:
        lines = textwrap.wrap(value, 80) or [""]
        return [f"{tag:<4}- {lines[0]}".rstrip()] + [f"      {line}" for line in lines[1:]]

    with tempfile.TemporaryDirectory() as work:
        _, test = build(datasets, Path(work), 0, n, seed)
        frame = pd.read_csv(test, dtype=str, keep_default_na=False).assign(id=[str(30_000_000 + i) for i in range(n)])
        for column in ("title", "abstract"):  # as MEDLINE wraps them: one space between words
            frame[column] = [" ".join(text.split()) for text in frame[column]]
        csv, nbib = Path(work) / "records.csv", Path(work) / "records.nbib"
        frame.to_csv(csv, index=False)
        nbib.write_text("".join("\n" + "\n".join(["PMID- " + row.id, "OWN - NLM", "STAT- MEDLINE", *field("TI", row.title),
                                                   *field("AB", row.abstract), "AU  - Smith J", "AU  - Doe J",
                                                   "AU  - Roe R"]) + "\n" for row in frame.itertuples()), encoding="utf-8")
        timed = {"CSV": [], "MEDLINE": []}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampled records repeat each other: not what is timed
            for _ in range(rounds):
                for name, path in (("CSV", csv), ("MEDLINE", nbib)):
                    start = time.perf_counter()
                    records = load_records(path, labelled=False)
                    timed[name].append(time.perf_counter() - start)
                    assert len(records) == n
        sizes = {"CSV": csv.stat().st_size, "MEDLINE": nbib.stat().st_size}
    base = min(timed["CSV"])
    for name, seconds in timed.items():
        print(f"{name}: {n:,} records, {sizes[name] / 2**20:.1f} MiB, best of {rounds} {min(seconds):.2f} s "
              f"({min(seconds) / base:.2f}x CSV); each: {', '.join(f'{s:.2f}' for s in seconds)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=100_000, help="training records (default 100,000)")
    parser.add_argument("--test", type=int, default=100_000, help="records to screen (default 100,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="'' to print only")
    parser.add_argument("--xlsx", type=int, default=0, metavar="N", help="only time reading an N-record workbook (see above)")
    parser.add_argument("--medline", type=int, default=0, metavar="N", help="only time reading N records as MEDLINE and CSV")
    args = parser.parse_args(argv)
    if args.medline:
        medline_ratio(args.datasets, args.medline, args.seed)
        return 0
    if args.xlsx:
        xlsx_ratio(args.datasets, args.xlsx, args.seed)
        return 0
    with tempfile.TemporaryDirectory() as work:
        train, test = build(args.datasets, Path(work), args.train, args.test, args.seed)
        baseline = measure("baseline", train, test)
        default = measure("default", train, test)
    command = "python bench/loading.py" + ("" if sys.argv[1:] == [] else " " + " ".join(sys.argv[1:]))
    text = "\n".join([
        "## Reading the records",
        "",
        f"Written by `bench/loading.py` (`{command}`) on {time.strftime('%Y-%m-%d')}. Machine: {machine()}.",
        "",
        f"{args.train:,} training records and {args.test:,} records to screen, resampled from the shared datasets; "
        "each row a fresh process.",
        "",
        "| what | wall s | peak MiB | wall x baseline | memory x baseline |",
        "|---|---:|---:|---:|---:|",
        f"| baseline: `load_corpus` without the copy check and text hashes | {baseline[0]:.1f} | {baseline[1]:,.0f} | 1.00x | 1.00x |",
        f"| `load_corpus` (copy check) + `make_fold_plan` (keeps the training records' hashes) | {default[0]:.1f} | "
        f"{default[1]:,.0f} | {default[0] / baseline[0]:.2f}x | {default[1] / baseline[1]:.2f}x |",
    ])
    publish(args.results, "loading", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
