"""`write_report` and `screenstack report`: figures, tables and a page that renders in a real browser."""
from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from screenstack.cli import main
from screenstack.features.errors import ScreenstackError
from screenstack.features.artifacts.folds import load_fold_plan
from screenstack.features.artifacts.outputs import write_learner_output
from screenstack.stacking.figures import BLEND
from screenstack.stacking.report import REPORT_DIR, REPORT_HTML, write_report

from .conftest import LEARNERS, make_noise_run, make_run

pytestmark = pytest.mark.rendered_figures  # the figures themselves are what these tests read

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
FIGURES = ("fbeta_threshold", "recall_curve", "precision_recall", "score_distribution", "correlation", "blend_weights")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(run_dir):
    return write_report(run_dir)


def test_report_writes_html_and_every_figure(report, run_dir):
    assert report == run_dir / REPORT_HTML
    page = report.read_text()
    for key in FIGURES:
        png = (run_dir / REPORT_DIR / f"{key}.png").read_bytes()
        assert png.startswith(PNG_MAGIC)
        pixels = imread(run_dir / REPORT_DIR / f"{key}.png")[..., :3]
        assert pixels.shape[1] == 704 and pixels.std() > 0.05, f"{key}: drawn at 6.4 inches, 110 dpi, not blank"
        # Self-contained: the page carries the very bytes of each PNG file.
        assert f'data-file="{REPORT_DIR}/{key}.png"' in page
        assert base64.b64encode(png).decode() in page
    assert not re.search(r'src="(?!data:)', page), "no image points outside the page"


def test_report_tables_name_every_learner_and_the_blend(report, run_dir):
    page = report.read_text()
    learners = page.index("<h2>Learners and blend</h2>")
    table = page[page.index("<table>", learners):page.index("</table>", learners)]
    for name in LEARNERS:
        assert f'<th scope="row">{name}</th>' in table
    assert re.search(r'<th scope="row">blend \((logistic|rank-average|caruana)\)</th>', table)
    for column in ("OOF F7", "honest F7", "recall", "ROC-AUC", "AP", "WSS@95"):
        assert f"<th>{column}</th>" in table
    assert '<th rowspan="2">blend weight</th>' in table
    # The figures at each row's own threshold are measured on the records that chose it, and say so.
    assert '<th colspan="4">at the row&#x27;s own threshold, chosen on these same records (optimistic)</th>' in table
    assert "Correlation of learners" in page and "Blend weights" in page


def test_report_is_byte_identical_when_rebuilt(report, run_dir, tmp_path):
    again = tmp_path / run_dir.name  # same folder name: the page title shows it
    shutil.copytree(run_dir, again, ignore=shutil.ignore_patterns(REPORT_DIR, REPORT_HTML))
    write_report(again)
    for key in FIGURES:
        assert (again / REPORT_DIR / f"{key}.png").read_bytes() == (run_dir / REPORT_DIR / f"{key}.png").read_bytes()
    assert (again / REPORT_HTML).read_text().replace(str(again), "OUT") == report.read_text().replace(str(run_dir), "OUT")


def test_report_is_the_same_bytes_however_its_folder_was_typed(report, run_dir, monkeypatch):
    """helper-160: the page named --out as typed, so `report --out runB` and `--out /abs/runB` gave other bytes."""
    before = report.read_bytes()
    monkeypatch.chdir(run_dir.parent)
    assert write_report(Path(run_dir.name)).read_bytes() == before
    monkeypatch.chdir(run_dir)
    assert write_report(Path(".")).read_bytes() == before  # and `.` is the folder's name in the title, not an empty one
    assert f"<title>screenstack report: {run_dir.name}</title>" in before.decode()


def test_report_command_prints_the_page_path(run_dir, capsys):
    assert main(["-q", "report", "--out", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / REPORT_HTML)


def test_report_refuses_a_folder_without_stack_output(tmp_path, capsys):
    with pytest.raises(ScreenstackError, match="No learner has outputs there either: run `screenstack fit-learners --out .*, then "
                                               "`screenstack stack --out"):  # nothing fitted: stack alone would not help
        write_report(tmp_path)
    assert main(["report", "--out", str(tmp_path)]) == 2
    assert "summary.json: no stack summary" in capsys.readouterr().err


def test_report_refuses_learner_files_refitted_after_stacking(tmp_path):
    make_run(tmp_path, n_train=300, n_test=20)
    # A refit through `write_learner_output` (a file changed behind its back is refused as damaged instead).
    plan = load_fold_plan(tmp_path)
    oof = pd.read_parquet(tmp_path / "learners" / "logreg" / "oof.parquet")
    test = pd.read_parquet(tmp_path / "learners" / "logreg" / "test.parquet")
    reversed_plan = type(plan)(plan.ids[::-1], plan.labels[::-1], plan.folds[::-1], plan.meta)
    write_learner_output(tmp_path, "logreg", reversed_plan, oof["score"].to_numpy()[::-1], test["id"], test["score"].to_numpy(), {})
    # The refit removes the stack made from the old scores.
    with pytest.raises(ScreenstackError, match="summary.json: no stack summary.*screenstack stack"):
        write_report(tmp_path)
    assert not (tmp_path / "summary.json").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Counts the images the browser decoded once the page has loaded, into an attribute --dump-dom shows.
PROBE = ('<script>window.addEventListener("load",function(){var ok=0,im=document.images;for(var i=0;i<im.length;i++)'
         '{if(im[i].complete&&im[i].naturalWidth>0)ok++;}document.body.setAttribute("data-decoded",ok+"/"+im.length);});</script>')


def _chromium(*args) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=90)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install -y chromium)")
def test_report_renders_in_headless_chromium_with_its_images(report, tmp_path):
    shot = tmp_path / "shot.png"
    _chromium("--window-size=1280,2400", f"--screenshot={shot}", report.as_uri())
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.05, "the screenshot is blank"
    # Dark pixels in both halves: the text and tables on top (about 0.5%), the figure grid below, were laid out.
    dark = pixels.mean(axis=2) < 0.3
    assert dark[:1200].mean() > 0.003 and dark[1200:].mean() > 0.005
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium("--dump-dom", probe.as_uri()).stdout
    assert f'data-decoded="{len(FIGURES)}/{len(FIGURES)}"' in dom, "every embedded PNG decodes in the browser"


def test_report_refuses_a_hand_edited_summary_that_is_not_an_object(run_dir, tmp_path, capsys, resign):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    (out / "summary.json").write_text("[1, 2]\n")
    resign(out, "stack")  # the checksums pass: reading the summary finds it
    assert main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not a stack summary" in err and len(err.strip().splitlines()) == 1


def test_report_leads_with_the_honest_estimate_and_the_records_to_screen_first(report, run_dir):
    page = report.read_text()
    order = [page.index(f"<h2>{title}</h2>") for title in ("Honest estimate", "Screen these first", "The run", "Learners and blend")]
    assert order == sorted(order)
    summary = json.loads((run_dir / "summary.json").read_text())
    honest = summary["honest"]
    assert f"{honest['fbeta']:.3f}" in page and f"{honest['fbeta_interval'][0]:.3f}&ndash;{honest['fbeta_interval'][1]:.3f}" in page
    assert f"{honest['found']} of {honest['included']} included training records found" in page
    assert "relevant left below the threshold" in page and f"{summary['screening']['expected_below']:.1f}" in page
    first = page[page.index("<h2>Screen these first</h2>"):page.index("<h2>The run</h2>")]
    ranked = pd.read_csv(run_dir / "ranked.csv", dtype=str, keep_default_na=False)
    assert first.count("<tr><td class=\"num\">") == 20
    assert f"<td>{ranked['id'][0]}</td>" in first and f"<td>{ranked['id'][19]}</td>" in first
    assert "<h2>Warnings</h2>" not in page  # none for this run


def test_report_shows_titles_as_written_and_the_warnings_first(tmp_path, monkeypatch):
    from screenstack.stacking import stack as stack_module

    make_noise_run(tmp_path, {"noise-a": np.inf, "noise-b": np.inf}, seed=3)
    ids = pd.read_parquet(tmp_path / "learners" / "noise-a" / "test.parquet")["id"].tolist()
    records = pd.DataFrame({"id": ids, "title": [f"=Aspirin <trial> {i}" for i in range(len(ids))]})
    monkeypatch.setattr(stack_module, "read_screening_records", lambda out: records)
    # Other options than make_noise_run's stack, made without these records: not reused. Records kept before 0.3.13
    # name no copies, which ranked.csv's empty copy columns would seem to deny: said.
    with pytest.warns(UserWarning, match=r"records.parquet predates 0.3.13, so ranked.csv's copy_of and copy_label are empty"):
        summary = stack_module.stack(tmp_path, stack_module.StackConfig(seed=1))
    page = write_report(tmp_path).read_text()
    assert page.index("<h2>Warnings</h2>") < page.index("<h2>Honest estimate</h2>")
    assert summary["warnings"] and all(html.escape(w) in page for w in summary["warnings"])
    assert "=Aspirin &lt;trial&gt; " in page and "'=Aspirin" not in page  # the spreadsheet quote is for spreadsheets


def test_report_refuses_a_summary_from_before_the_honest_estimate(run_dir, tmp_path, capsys, resign):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    summary = json.loads((out / "summary.json").read_text())
    del summary["honest"], summary["screening"]
    (out / "summary.json").write_text(json.dumps(summary))
    resign(out, "stack")  # as an older screenstack wrote it
    assert main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "made by an older screenstack" in err and "screenstack stack --out" in err and len(err.strip().splitlines()) == 1


def test_the_honest_estimate_warns_that_records_screened_from_the_top_make_its_figures_unreliable(report):
    # Screening ranked.csv from the top, then rerunning, gives labelled records richer in included ones than the rest:
    # the count among the flagged reads high, the count left below either way (from 0.3.41, whose scale learns from
    # the labelled records below the threshold: 23.0 expected where 40 were on a helper's 18 such reruns).
    page = " ".join(report.read_text().split())
    assert "if the labelled records were picked with fewer included ones, more are left than this says" in page
    assert ("screened from the top of a ranked list, as <code>ranked.csv</code> suggests), the count among the flagged "
            "and F-beta tend to read too high, the count left below may read low or high") in page


def _text(page: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _run_box(page: str) -> str:
    start = page.index("<h2>The run</h2>")
    return _text(page[start:page.index("</section>", start)])


def _assert_honest_figures_are_the_summarys(page: str, summary: dict) -> None:
    """Every figure the page calls honest is one of summary.json's honest figures, as rounded on the page."""
    allowed = {"F7": [summary["honest"]["fbeta"], summary["blend"]["threshold_fbeta_honest"],
                      summary["best_learner"]["fbeta_honest"]],
               "recall": [summary["honest"]["recall"]]}
    shown = re.findall(r"honest (?:OOF )?(F7|recall) \(?(\d\.\d+)", _text(page))
    assert shown, "the page shows honest figures"
    for kind, value in shown:
        digits = len(value.split(".")[1])
        assert any(float(value) == round(x, digits) for x in allowed[kind]), f"honest {kind} {value} is not summary.json's"


def test_the_run_box_shows_the_honest_recall_and_the_threshold_rule_as_the_summary_has_them(tmp_path):
    make_run(tmp_path, seed=0)  # a draw whose threshold's recall on the OOF records is above the honest one
    report = write_report(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    honest, blend, decision = summary["honest"], summary["blend"], summary["decision"]
    assert f"{blend['recall']:.3f}" != f"{honest['recall']:.3f}", "this run tells the optimistic recall from the honest one"
    box = _run_box(report.read_text())
    assert f"honest F7 {honest['fbeta']:.3f}, honest recall {honest['recall']:.3f}" in box
    assert f"recall {blend['recall']:.3f}" not in box  # the recall at the blend's own threshold is the table's, marked there
    assert (f"threshold {summary['threshold']:.4g} chosen by F7's bootstrap rule on the blend's OOF scores; "
            f"flags {decision['oof_flagged_share']:.1%} of the OOF records") in box
    _assert_honest_figures_are_the_summarys(report.read_text(), summary)


def test_when_the_honest_floor_flags_everything_the_run_box_says_so_with_the_warnings_figures(tmp_path):
    # A blend too weak for 10% included: 60 included (a draw whose fitted tail does not already flag nearly all)
    summary = make_noise_run(tmp_path, {"weak-a": 4.0, "weak-b": 4.0}, seed=1)
    assert summary["decision"]["flags_everything"]
    page = write_report(tmp_path).read_text()
    box = _run_box(page)
    honest, blend, decision = summary["honest"], summary["blend"], summary["decision"]
    # The warning's figures, and the honest estimate's, in the same words and digits.
    [warning] = [w for w in summary["warnings"] if w.startswith("the threshold flags")]
    assert f"the blend's honest OOF F7 ({blend['threshold_fbeta_honest']:.3f})" in warning
    assert (f"threshold 0 set by the honest floor to flag every record: the blend's honest OOF F7 "
            f"({blend['threshold_fbeta_honest']:.3f}) does not beat flagging every record ({decision['flag_all_fbeta']:.3f}) "
            f"with 60 included training records") in box
    assert "bootstrap rule on the blend's OOF scores alone" in box and "chosen by" not in box
    assert (f"flags every record (honest floor): honest F7 {honest['fbeta']:.3f}, honest recall {honest['recall']:.3f}; "
            f"at its own thresholds, honest OOF F7 {blend['threshold_fbeta_honest']:.3f}") in box
    assert f"{blend['fbeta_honest']:.4f}" not in box
    _assert_honest_figures_are_the_summarys(page, summary)


def test_the_run_box_says_when_the_recall_floor_lowered_the_threshold(tmp_path):
    # 6 included records, the recall floor's regime; a 99% target so that it flags more than the fitted tail
    summary = make_noise_run(tmp_path, {"a": 1.0, "b": 1.5}, n_train=60, min_recall=0.99)
    decision = summary["decision"]
    assert decision["recall_floor_lowered"] and not decision["flags_everything"]
    page = write_report(tmp_path).read_text()
    box = _run_box(page)
    assert (f"threshold {summary['threshold']:.4g} F7's bootstrap rule on the blend's OOF scores, lowered by the recall "
            f"floor from {decision['fbeta_threshold']:.4g}") in box
    assert f"honest recall {summary['honest']['recall']:.3f}" in box
    _assert_honest_figures_are_the_summarys(page, summary)


def test_the_optimistic_figures_in_the_figures_and_fold_table_are_labelled(report):
    page = _text(report.read_text())
    assert "the values at the line are optimistic: the honest estimate is what to expect" in page
    assert "At the one threshold chosen on every fold's OOF scores, so the counts found are optimistic" in page


def test_report_says_what_each_learner_is_with_its_class_weights_as_fitted(tmp_path):
    """The report names each learner's input and parameters, and says in words how much an included record
    weighed: with 3 included training records the TF-IDF learners' "auto" weights were the square root of balanced."""
    from screenstack.features.records.corpus import load_corpus
    from screenstack.learners.fit import fit_learners
    from screenstack.stacking.stack import StackConfig, stack

    data = pd.read_csv(DATASETS / "cohen_adhd.csv", dtype=str, keep_default_na=False)
    included = data[data["label_included"] == "1"]
    train = pd.concat([included.iloc[:3], data[data["label_included"] == "0"].iloc[:297]])
    train[["record_id", "title", "abstract", "label_included"]].to_csv(tmp_path / "train.csv", index=False)
    data.iloc[-100:][["record_id", "title", "abstract"]].to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "run"
    corpus = load_corpus(tmp_path / "train.csv", tmp_path / "test.csv")
    fit_learners(corpus, out, ("tfidf-svm", "tfidf-logreg"), params={"tfidf-logreg": {"class_weight": "balanced"}},
                 progress=False)
    stack(out, StackConfig())
    page = write_report(out).read_text()
    section = page[page.index("<h3>What each learner is</h3>"):]
    table = section[:section.index("</table>")]
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', table))
    assert set(rows) == {"tfidf-svm", "tfidf-logreg"}
    assert "title and abstract (TF-IDF)" in rows["tfidf-svm"] and "C=0.1" in rows["tfidf-svm"]
    assert ("an included record weighs 9.95 excluded ones, the square root of the balanced 99, as 3 included training "
            "records are fewer than 10") in html.unescape(rows["tfidf-svm"])
    # An explicit "balanced" is shown as what it was.
    assert "an included record weighs 99 excluded ones (balanced)" in html.unescape(rows["tfidf-logreg"])
    assert "300 training records (3 included)" in section


def test_report_on_a_ranked_csv_the_reviewer_edited_names_the_edit_and_a_fix_that_works(tmp_path, capsys):
    out = tmp_path / "run"
    make_run(out)
    capsys.readouterr()  # what making the run said (a warning shown once per session) is not report's
    ranked = out / "ranked.csv"
    ranked.write_text(ranked.read_text() + "my note\n")
    assert main(["report", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"{ranked}: changed since `screenstack stack` wrote it (screening notes typed into it?)" in error[0]
    assert f"Move it out of {out} (e.g. to {tmp_path / 'run-ranked-screened.csv'})" in error[0]
    # The fix it gives works: move it out, stack, report.
    ranked.rename(tmp_path / "run-ranked-screened.csv")
    assert main(["-q", "stack", "--out", str(out)]) == 0
    assert main(["-q", "report", "--out", str(out)]) == 0


def test_a_stack_manifest_from_another_run_is_named_not_the_untouched_ranked_csv(tmp_path, capsys):
    # helper-141: .manifests/stack.json copied in from another run made an untouched ranked.csv read as "changed since
    # `screenstack stack` wrote it (screening notes typed into it?)": its other files disagree with that manifest too.
    import shutil

    out, other = tmp_path / "run", tmp_path / "other"
    make_run(out)
    make_run(other, seed=3)
    shutil.copy(other / ".manifests" / "stack.json", out / ".manifests" / "stack.json")
    capsys.readouterr()
    assert main(["stack", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "changed since `screenstack stack` wrote it" not in error[0]
    assert error[0].startswith(f"screenstack: error: {out / 'ranked.csv'}: differs from what {out / '.manifests' / 'stack.json'} "
                               f"lists, and so does {out}/")  # the first of the set's other files
    assert ", which no one is asked to edit: the manifest is damaged or another folder's, or both files were changed since" in error[0]


@pytest.mark.parametrize("command", ["stack", "report"])
def test_commands_that_read_a_run_do_not_offer_a_new_out_folder(command, capsys):
    from screenstack.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--out DIR the run folder (made by run, or by fit-learners)" in help_text
    assert "new, empty" not in help_text, "an empty or new --out is refused by these commands"


def test_a_large_beta_is_what_the_report_says_flags_nearly_everything_and_all_but_one_is_not_100(run_dir):
    from screenstack.stacking.report import _facts, _threshold_note

    summary = json.loads((run_dir / "summary.json").read_text())
    summary["decision"].update(recall_floor_lowered=False, flags_everything=False, ranks_at_chance=False,
                               flagged_share=2550 / 2551, shift={})
    summary.update(beta=1000.0, n_test=2551, n_test_flagged=2550)
    assert "nearly every record is flagged: <code>--beta 1000</code> counts a missed included record 1e+06 times" \
           in _threshold_note(summary)
    assert "flagged to screen: 2,550 (99.96%)" in _facts(summary)
    summary["beta"] = 7.0
    assert "the labels cannot support a tighter threshold" in _threshold_note(summary)
    summary["config"]["min_recall"] = 1.0  # the option, not the labels, is what flags them all (a helper's --min-recall 1)
    assert ("nearly every record is flagged: --min-recall 1 (default 0.95) asks for more recall than the labels can vouch "
            "for at a tighter threshold") in _threshold_note(summary)


def test_the_report_says_why_nearly_every_record_is_flagged_as_the_warning_does(run_dir):
    # helper-173: where most flagged records had no text, the warning said so and the report's note beside it blamed
    # the labels ("the labels cannot support a tighter threshold")
    from screenstack.stacking.report import _threshold_note
    from screenstack.stacking.stack_said import stack_warnings

    summary = json.loads((run_dir / "summary.json").read_text())
    summary["decision"].update(recall_floor_lowered=False, flags_everything=False, ranks_at_chance=False, shift={},
                               flagged_share=0.95, flagged_without_text_share=0.6, flagged_share_with_text=0.5)
    assert "the threshold flags 95% of the records to screen: 60% of the flagged records have neither title nor abstract" \
           in stack_warnings(summary)[0]
    note = _threshold_note(summary)
    assert ("<strong>nearly every record is flagged: 60% of the flagged records have neither title nor abstract, flagged "
            "since no model can rank them</strong>") in note
    assert "labels cannot support" not in note
    summary["screening"]["n_records"] = 3  # a handful of records to screen: neither says the labels are too few
    summary["decision"].update(flagged_without_text_share=0.0, flagged_share_with_text=0.95)
    assert "nearly every record" not in _threshold_note(summary)
    assert not any("threshold flags" in warning for warning in stack_warnings(summary))


def test_a_threshold_the_recall_check_lowered_is_said_as_lowered_not_as_chosen_or_optimistic(run_dir):
    # A run folder stacked by 0.3.7-0.3.19, whose stack had a recall check, reported by today's screenstack. A helper's
    # run: "threshold 0.08342 chosen by F7's rule; flags 9.0% of the OOF records; lowered by the recall check" where
    # the rule chose 0.6848, and the blend row at 0.08342 sat under "chosen on these same records (optimistic)".
    from screenstack.stacking.figures import draw_figures
    from screenstack.stacking.report import _candidates_table, _table, _threshold_note

    summary = json.loads((run_dir / "summary.json").read_text())
    summary["decision"].update(recall_floor_lowered=False, flags_everything=False, ranks_at_chance=False, shift={}, fitted_tail={},
                               oof_flagged_share=0.09, flagged_share=0.327, recall_check={
                                   "lowered": True, "threshold_before": 0.6848, "flagged_share_before": 0.09,
                                   "flagged_share_after": 0.327, "expected_recall": 0.61})
    summary["honest"]["threshold_lowered_by"] = ["recall check"]
    summary["threshold"] = 0.08342
    note = _threshold_note(summary)
    assert note.startswith("F7's bootstrap rule on the blend's OOF scores chose 0.6848, which flags 9.0% of the OOF "
                           "records; <strong>lowered by the recall check</strong> to 0.08342, which flags 32.7% of the "
                           "records to screen instead of 9.0%") and "chosen by" not in note
    said = ("The chosen blend's OOF F7, recall, precision and share flagged are at the threshold applied (0.08342), which "
            "the recall check lowered for the records to screen: not chosen on these records, so not optimistic")
    assert said in _table(summary) and said in _candidates_table(summary)
    y = np.array([0, 1] * 20)
    scores = {name: np.linspace(0, 1, 40) for name in [*summary["learners"], BLEND]}
    caption = draw_figures(summary, y, scores)["fbeta_threshold"][1]
    assert "which the recall check lowered from the one chosen on these records" in caption and "optimistic:" not in caption
    del summary["honest"]["threshold_lowered_by"]  # not lowered: the tables say nothing more
    assert "not optimistic" not in _table(summary)


def test_screen_these_first_names_the_record_a_copy_repeats():
    from screenstack.stacking.page import screen_first

    top = pd.DataFrame({"rank": ["1", "2", "3"], "id": ["a", "b", "c"], "title": ["T", "T", "U"], "probability": ["0.5"] * 3,
                        "expected_included": ["0.5", "1", "1.5"], "decision": ["1"] * 3,
                        "copy_of": ["", "a", "'=151"], "copy_label": ["", "", "1"]})
    rows = screen_first(top).split("<tr>")[2:]
    assert rows[0].endswith("<td>screen</td></tr>")
    assert "<td>screen, a copy of a</td>" in rows[1] and "<td>screen, a copy of labelled =151 (included)</td>" in rows[2]
    assert "<td>screen</td>" in screen_first(top.drop(columns=["copy_of", "copy_label"])), "ranked.csv before 0.3.13"


def test_report_names_the_version_of_a_summary_without_a_field_it_shows(run_dir, tmp_path, capsys, resign):
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    summary = json.loads((out / "summary.json").read_text())
    # 0.3.15's fitted tail: lowered, but without the threshold and share it lowered to (0.3.16 added them)
    summary["decision"]["fitted_tail"] = {"lowered": True, "bootstrap_threshold": 0.5, "bootstrap_flagged_share": 0.1,
                                          "separation": 1.7}
    summary["versions"]["screenstack"] = "0.3.15"
    (out / "summary.json").write_text(json.dumps(summary))
    resign(out, "stack")
    page = out / "report.html"
    before = page.read_bytes() if page.exists() else None
    assert main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "made by screenstack 0.3.15, which did not record 'threshold'" in err and "screenstack stack --out" in err
    assert len(err.strip().splitlines()) == 1 and (page.read_bytes() if page.exists() else None) == before
    summary["decision"]["fitted_tail"] = None  # a field written otherwise
    summary["blend"]["weights"] = None
    (out / "summary.json").write_text(json.dumps(summary))
    resign(out, "stack")
    assert main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "made by screenstack 0.3.15, which wrote a field otherwise" in err and len(err.strip().splitlines()) == 1


def test_a_fine_tuned_learners_settings_name_the_cnn_heads_only_for_a_cnn_head():
    # The report listed cnn_channels=256, cnn_kernel=5 for every fine-tuned learner, linear heads too.
    from screenstack.stacking.report import _learner_settings

    settings = {"head": "linear", "epochs": 3, "cnn_channels": 256, "cnn_kernel": 5}
    linear = _learner_settings({"finetune": settings}, np.array([0, 1]))
    cnn = _learner_settings({"finetune": {**settings, "head": "cnn"}}, np.array([0, 1]))
    assert "cnn_" not in linear and "head=linear" in linear and "epochs=3" in linear
    assert "cnn_channels=256" in cnn and "cnn_kernel=5" in cnn


@pytest.mark.parametrize("learners", [
    ["finetune-biomednlp-pubmedbert-base-uncased-abstract-linear", "logreg", "tfidf-svm"],  # the default model's
    ["finetune-biomednlp-pubmedbert-base-uncased-abstract-linear", "lightgbm", "logreg", "tfidf-logreg", "tfidf-svm",
     "xgboost"],
])
def test_figures_of_a_fine_tuned_learner_keep_their_axes_and_legends_inside_the_figure(learners, monkeypatch):
    # helper-180: on one line, the default model's fine-tuned name made the precision-recall legend wider than the
    # figure; constrained layout then squeezed the axes to a 50-pixel strip and cut the legend at both sides.
    import warnings

    from screenstack.stacking import figures

    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.1).astype(int)
    scores = {name: rng.random(400) + 0.4 * y for name in learners}
    scores[BLEND] = np.mean(list(scores.values()), axis=0)
    summary = {"beta": 7, "threshold": 0.5, "blend": {"method": "logistic", "fbeta": 0.7,
                                                       "weights": {name: 1 / len(learners) for name in learners}}}
    rendered, laid_out = figures._png, []

    def checked(fig):
        fig.canvas.draw()
        renderer, whole = fig.canvas.get_renderer(), fig.bbox
        for ax in fig.axes:
            box = ax.get_window_extent(renderer)
            legend = ax.get_legend()
            inside = legend is None or whole.contains(*legend.get_window_extent(renderer).p0) and \
                whole.contains(*legend.get_window_extent(renderer).p1)
            laid_out.append((ax.get_xlabel(), box.width > 150 or ax.get_label() == "<colorbar>", inside))
        return rendered(fig)
    monkeypatch.setattr(figures, "_png", checked)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied because axes sizes collapsed to zero"
        figures.draw_figures(summary, y, scores)
    assert laid_out and all(wide and inside for _, wide, inside in laid_out), laid_out
