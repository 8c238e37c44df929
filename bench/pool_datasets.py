"""Write the six shared datasets as one review: a larger, mixed corpus for `bench/protocol.py --datasets`.

Each record keeps its own review's label (included in its review or not), so
the pooled review asks for six topics' criteria at once: 9,488 records with
565 included once every record whose title and abstract (case and outer
spaces aside) appear more than once is dropped, copies within a dataset
included, so no copy sits on both sides of a split.

    python bench/pool_datasets.py --out /tmp/pool/data/pooled_six.csv
    python bench/protocol.py --datasets /tmp/pool/data --levels '' --jobs 2 --work /tmp/pool/work --cache-dir /tmp/pool/cache --results ''
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from quality import DATASETS  # bench/ is not a package: Python finds it beside this script


def pooled(datasets: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(datasets.glob("*.csv")):
        data = pd.read_csv(path, dtype=str, keep_default_na=False)
        frames.append(data.assign(record_id=path.stem + ":" + data["record_id"])[["record_id", "title", "abstract", "label_included"]])
    records = pd.concat(frames, ignore_index=True)
    text = records["title"].str.lower().str.strip() + "|" + records["abstract"].str.lower().str.strip()
    return records[~text.duplicated(keep=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=str(DATASETS))
    parser.add_argument("--out", required=True, help="the CSV to write (alone in its folder, for --datasets)")
    args = parser.parse_args()
    records = pooled(Path(args.datasets))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    records.to_csv(args.out, index=False)
    print(f"{args.out}: {len(records):,} records, {records['label_included'].astype(int).sum():,} included")


if __name__ == "__main__":
    main()
