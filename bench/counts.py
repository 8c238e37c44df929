"""The expected counts against the truth, recomputed from kept run folders, with and without the counts' scale.

`stack` and `predict` say how many included records to expect among the
flagged records and left below the threshold, each with a 95% interval. Up to
0.3.40 these were sums of Platt's probabilities; from 0.3.41 the
probabilities on each side of the threshold are scaled so that the labelled
records' own add up to the included ones there
(`stacking.calibrate.count_scale`). This reads each kept run's blend OOF
scores, test scores, threshold and decisions, recomputes the counts and their
intervals both ways with `stacking.decision.screening_summary`, and compares
them with the labels the run never saw. Both ways use this version's
`screening_summary`, so from 0.3.42 both "left below" intervals reach the
count at the label shift's estimate where that is higher and not rough
(bench/README.md, "Left below, reaching the label shift's estimate"):

- ``--protocol DIR ...``: bench/protocol.py work folders (each half's
  ``run/`` and ``test_labels.npy``), the halves of ``--regimes`` (the
  natural ones, full, small and medium, unless told) stacked with the
  default learners;
- ``--runs DIR ...``: folders holding `screenstack run` output folders on
  records of one shared dataset (the dataset's name in the folder's name;
  ids are its ``record_id``);
- ``--rescreen DIR``: bench/rescreen.py's work folder: the recall check's
  expected recall both ways on each run, against the true recall.

    python bench/counts.py --protocol artifacts/protocol-0337 artifacts/protocol-s5 artifacts/protocol-s10
    python bench/counts.py --protocol artifacts/protocol-0337 --regimes few3,few5,few10,few20
    python bench/counts.py --rescreen artifacts/rescreen
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from screenstack.stacking import calibrate
from screenstack.stacking.calibrate import count_scale, fit_calibration, scaled
from screenstack.stacking.decision import screening_summary
from screenstack.stacking.set_apart import at_labelled_share
from screenstack.stacking.stack import StackConfig, stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import drop_stack  # noqa: E402  (bench/ is not a package)

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT = (None, "", "--learners lightgbm,logreg,tfidf-logreg,tfidf-svm,xgboost")  # summary.json's "flags" of a default run
RATIOS = calibrate._ratios


def counts(y, oof, scores, flagged, truth, threshold: float, shift: dict | None = None, without=None) -> list[dict]:
    """One row per way of counting: the expected counts, their intervals and the real counts; where the run's label
    shift estimate is above the labelled share, the counts at it (`at_estimated_shift`, else NaN). `without`: records
    with neither title nor abstract, counted at the labelled share as `stack` counts them."""
    calibration, rows = fit_calibration(oof, y), []
    for way, ratios in (("platt (0.3.40)", lambda p, labels, above, rng=None: (1.0, 1.0)), ("scaled (0.3.41)", RATIOS)):
        calibrate._ratios = ratios  # 0.3.40's counts are these with every scale 1, the bootstrap's refits included
        try:
            p = scaled(calibration.apply(scores), scores >= threshold, count_scale(calibration, oof, y, threshold))
            p = at_labelled_share(p, without, float(np.mean(y)))
            s = screening_summary(y, oof, scores, flagged.astype(int), p, 0, threshold, shift, None, without)
        finally:
            calibrate._ratios = RATIOS
        real_flagged, real_below = int(truth[flagged].sum()), int(truth[~flagged].sum())
        (flagged_low, flagged_high), (below_low, below_high) = s["expected_flagged_interval"], s["expected_below_interval"]
        rows.append({"way": way, "few": int(y.sum()) < 10, "any_below": bool((~flagged).any()),
                     "real_flagged": real_flagged, "expected_flagged": s["expected_flagged"],
                     "flagged_held": flagged_low <= real_flagged <= flagged_high, "flagged_width": flagged_high - flagged_low,
                     "flagged_low": flagged_low, "flagged_high": flagged_high,
                     "real_below": real_below, "expected_below": s["expected_below"],
                     "below_held": below_low <= real_below <= below_high, "below_width": below_high - below_low,
                     "below_low": below_low, "below_high": below_high,
                     "shift_below": s.get("at_estimated_shift", {}).get("expected_below", np.nan),
                     "shift_flagged": s.get("at_estimated_shift", {}).get("expected_flagged", np.nan),
                     "shift_rough": s.get("at_estimated_shift", {}).get("rough", np.nan),
                     "shift_lowered": bool((shift or {}).get("lowered"))})
    return rows


def without_text(run: Path, ids: pd.Series) -> np.ndarray | None:
    """Records (in the order of `ids`) with neither title nor abstract, from the run's records.parquet; None without it."""
    if not (run / "records.parquet").is_file():
        return None
    records = pd.read_parquet(run / "records.parquet", columns=["id", "has_text"])
    return (ids.astype(str).map(records.set_index(records["id"].astype(str))["has_text"].astype(str)) == "0").to_numpy()


def protocol_rows(work: Path, regimes: tuple[str, ...]) -> list[dict]:
    rows = []
    for half in sorted(p for regime in regimes for p in work.glob(f"halves/*-s*-{regime}-d*")):
        run = half / "run"
        if not (run / "learners").is_dir():
            continue
        summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").is_file() else {}
        if summary.get("flags") not in DEFAULT:  # the half's last stack was another variant (prior50, after a protocol run)
            drop_stack(run)
            summary = stack(run, StackConfig())
        oof = pd.read_parquet(run / "blend_oof.parquet")
        tested = pd.read_csv(run / "test_scores.csv", dtype={"id": str})
        flagged = pd.read_csv(run / "submission.csv", header=None)[1].to_numpy() == 1
        for row in counts(oof["label"].to_numpy(int), oof["score"].to_numpy(), tested["score"].to_numpy(), flagged,
                          np.load(half / "test_labels.npy"), float(summary["threshold"]), summary["decision"].get("shift"),
                          without_text(run, tested["id"])):
            rows.append({"source": "protocol", "run": half.name, **row})
    return rows


def runs_rows(folder: Path) -> list[dict]:
    rows, names = [], sorted(p.stem for p in DATASETS.glob("*.csv"))
    for run in sorted(p for p in folder.iterdir() if (p / "blend_oof.parquet").is_file() and (p / "ranked.csv").is_file()):
        [dataset] = [n for n in names if n in run.name]
        truth = pd.read_csv(DATASETS / f"{dataset}.csv", dtype=str, keep_default_na=False).set_index("record_id")["label_included"]
        ranked = pd.read_csv(run / "ranked.csv", encoding="utf-8-sig", dtype={"id": str}, keep_default_na=False)
        oof = pd.read_parquet(run / "blend_oof.parquet")
        summary = json.loads((run / "summary.json").read_text())
        for row in counts(oof["label"].to_numpy(int), oof["score"].to_numpy(), ranked["score"].astype(float).to_numpy(),
                          ranked["decision"].to_numpy() == 1, ranked["id"].map(truth).astype(int).to_numpy(),
                          float(summary["threshold"]), summary["decision"].get("shift"), without_text(run, ranked["id"])):
            rows.append({"source": folder.name, "run": run.name, **row})
    return rows


def rescreen_rows(work: Path) -> list[dict]:
    """The recall check's expected recall (`stacking.decision.recall_check`) both ways, on each run of each case, with
    found counted by score as before 0.3.56 (it counts the records flagged: the same but for copies of included labelled
    records scoring below the threshold)."""
    rows = []
    for case in sorted(p for p in work.glob("*-top*") if p.is_dir()):
        dataset = case.name.split("-s")[0]
        truth = pd.read_csv(DATASETS / f"{dataset}.csv", dtype=str, keep_default_na=False).set_index("record_id")["label_included"]
        for name in ("first", "second"):
            run = case / name
            if not (run / "summary.json").is_file():
                continue
            summary = json.loads((run / "summary.json").read_text())
            oof = pd.read_parquet(run / "blend_oof.parquet")
            tested = pd.read_csv(run / "test_scores.csv", dtype={"id": str})
            scores, labels = tested["score"].to_numpy(), tested["id"].map(truth).astype(int).to_numpy()
            flagged = pd.read_csv(run / "submission.csv", header=None)[1].to_numpy() == 1
            y, threshold = oof["label"].to_numpy(int), float(summary["threshold"])
            calibration = fit_calibration(oof["score"].to_numpy(), y)
            p = calibration.apply(scores)
            q = scaled(p, scores >= threshold, count_scale(calibration, oof["score"].to_numpy(), y, threshold))
            low = summary["honest"]["recall_interval"][0]
            above = scores >= threshold
            rows.append({"case": case.name, "run": name, "recall": float(flagged[labels == 1].mean()), "honest_low": low,
                         "platt_expected": float(p[above].sum() / p.sum()), "scaled_expected": float(q[above].sum() / q.sum())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", nargs="*", default=[], help="bench/protocol.py work folders")
    parser.add_argument("--runs", nargs="*", default=[], help="folders of run output folders on a shared dataset's records")
    parser.add_argument("--regimes", default="full,small,medium", help="--protocol's regimes (few: few3,few5,few10,few20)")
    parser.add_argument("--rescreen", help="bench/rescreen.py's work folder")
    parser.add_argument("--save", help="per-run rows as CSV")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    if args.rescreen:
        table = pd.DataFrame(rescreen_rows(Path(args.rescreen)))
        for way in ("platt", "scaled"):
            table[f"{way}_warns"] = table[f"{way}_expected"] < table["honest_low"]
        short = table["recall"] < 0.9
        print(table.groupby("run").agg(runs=("recall", "size"), recall_below_090=("recall", lambda r: int((r < 0.9).sum())),
                                       platt_warns=("platt_warns", "sum"), scaled_warns=("scaled_warns", "sum")).to_string())
        print("warned where the recall fell below 0.90: platt", int((table.platt_warns & short).sum()),
              "scaled", int((table.scaled_warns & short).sum()), "of", int(short.sum()))
    else:
        regimes = tuple(args.regimes.split(","))
        rows = [r for w in args.protocol for r in protocol_rows(Path(w), regimes)] + [r for f in args.runs for r in runs_rows(Path(f))]
        if not rows:
            raise SystemExit(f"no halves of {', '.join(regimes)} with learner outputs under {', '.join(args.protocol)}, "
                             f"and no runs under {', '.join(args.runs) or '(none given)'}")
        table = pd.DataFrame(rows)
        table["source"] = np.where(table["source"] == "protocol", "protocol", "runs")
        table["below_error"] = (table["expected_below"] - table["real_below"]).abs()
        below = table[table["any_below"]]
        summary = table.groupby(["source", "way"]).agg(
            runs=("run", "size"), real_below=("real_below", "sum"), expected_below=("expected_below", "sum"),
            below_error=("below_error", "mean"), real_flagged=("real_flagged", "sum"),
            expected_flagged=("expected_flagged", "sum"), flagged_held=("flagged_held", "sum"),
            flagged_width=("flagged_width", "mean"), at_shift=("shift_below", "count"))
        summary = summary.join(below.groupby(["source", "way"]).agg(with_below=("run", "size"), below_held=("below_held", "sum"),
                                                                    below_width=("below_width", "mean")))
        print(summary.round(2).to_string())
        shifted = table.dropna(subset=["shift_below"])  # the runs with counts at the label shift's estimate
        print("\nat the label shift's estimate (runs with one):")
        print(shifted.groupby(["source", "way"]).agg(runs=("run", "size"), real_below=("real_below", "sum"),
                                                     expected_below=("shift_below", "sum"), real_flagged=("real_flagged", "sum"),
                                                     expected_flagged=("shift_flagged", "sum")).round(1).to_string())
    if args.save:
        table.to_csv(args.save, index=False)


if __name__ == "__main__":
    main()
