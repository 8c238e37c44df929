"""`split_file` and `screenstack split`: competition-format files, stratified, reproducible, never clobbering."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from screenstack.cli import main
from screenstack.features.records import datasets as ds
from screenstack.features.records.corpus import ColumnSpec, load_corpus
from screenstack.features.errors import ScreenstackError
from screenstack.features.records.split import SPLIT_FILES, SplitConfig, split_file

MIRROR = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
ADHD = MIRROR / "cohen_adhd.csv"

pytestmark = pytest.mark.filterwarnings("ignore:.*neither title nor abstract")


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_split_writes_competition_format_stratified(tmp_path):
    written = split_file(ADHD, tmp_path / "out", SplitConfig(test_size=0.5, seed=0))
    assert sorted(written) == sorted([*SPLIT_FILES, "split.json"])
    train, test, key = (read(tmp_path / "out" / name) for name in SPLIT_FILES)
    assert list(train.columns) == ["id", "title", "abstract", "judgement"]
    assert list(test.columns) == ["id", "title", "abstract"]
    assert list(key.columns) == ["id", "judgement"]
    assert key["id"].tolist() == test["id"].tolist()
    assert len(train) + len(test) == 851 and abs(len(test) - 425.5) <= 1
    assert set(train["id"]).isdisjoint(test["id"])
    assert (train["judgement"] == "1").sum() == 10 and (key["judgement"] == "1").sum() == 10, "stratified"
    source = read(ADHD).set_index("record_id")
    assert train["id"].tolist() == sorted(train["id"], key=int), "file order kept"
    assert (source.loc[test["id"], "title"].to_numpy() == test["title"].to_numpy()).all()


def test_split_output_is_what_load_corpus_reads(tmp_path):
    split_file(ADHD, tmp_path, SplitConfig(test_size=0.3, seed=1))
    corpus = load_corpus(tmp_path / "train.csv", tmp_path / "test.csv")
    assert len(corpus.train) == 595 and len(corpus.test) == 256
    assert corpus.test["label"].isna().all()


def test_same_seed_byte_identical_other_seed_differs(tmp_path):
    for name in ("a", "b"):
        split_file(ADHD, tmp_path / name, SplitConfig(seed=0))
    split_file(ADHD, tmp_path / "c", SplitConfig(seed=1))
    for name in (*SPLIT_FILES, "split.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "train.csv").read_bytes() != (tmp_path / "c" / "train.csv").read_bytes()


def test_rerun_is_fine_other_seed_refused_and_untouched(tmp_path):
    split_file(ADHD, tmp_path, SplitConfig(seed=0))
    before = {name: (tmp_path / name).read_bytes() for name in SPLIT_FILES}
    split_file(ADHD, tmp_path, SplitConfig(seed=0))
    with pytest.raises(ScreenstackError) as info:
        split_file(ADHD, tmp_path, SplitConfig(seed=1))
    message = str(info.value)
    assert "train.csv: holds another split (made from cohen_adhd.csv with --test-size 0.5 --seed 0)" in message
    assert "another --out" in message
    assert before == {name: (tmp_path / name).read_bytes() for name in SPLIT_FILES}


def test_a_split_that_cannot_write_its_second_file_leaves_no_half_split(tmp_path, monkeypatch):
    # A full disk (ulimit -f) after train.csv: the folder kept train.csv alone, and the error said only test.csv.
    import errno
    from contextlib import contextmanager

    from screenstack.features.artifacts import atomic
    from screenstack.features.records import split as split_module

    real = atomic.atomic_path

    @contextmanager
    def full_at_test(path, *args, **kwargs):
        if Path(path).name == "test.csv":
            raise atomic.io_error(Path(path), OSError(errno.ENOSPC, "No space left on device"))
        with real(path, *args, **kwargs) as tmp:
            yield tmp

    monkeypatch.setattr(split_module, "atomic_path", full_at_test)
    with pytest.raises(ScreenstackError, match=r"test.csv: .*\(train.csv, written before it, removed: no half split is left\.\)$"):
        split_file(ADHD, tmp_path / "out", SplitConfig(seed=0))
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]

    @contextmanager
    def interrupted_at_the_last_file(path, *args, **kwargs):  # Ctrl-C after two of the three files
        if Path(path).name == "test_labels.csv":
            raise KeyboardInterrupt
        with real(path, *args, **kwargs) as tmp:
            yield tmp

    monkeypatch.setattr(split_module, "atomic_path", interrupted_at_the_last_file)
    with pytest.raises(KeyboardInterrupt):
        split_file(ADHD, tmp_path / "out", SplitConfig(seed=0))
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
    monkeypatch.undo()
    split_file(ADHD, tmp_path / "out", SplitConfig(seed=0))  # the same command again, once there is room, splits
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([*SPLIT_FILES, "split.json"])


def test_a_stray_file_of_the_same_name_is_refused(tmp_path):
    (tmp_path / "test.csv").write_text("id,title,abstract\n1,mine,mine\n")
    with pytest.raises(ScreenstackError, match=r"test\.csv: holds another split"):
        split_file(ADHD, tmp_path)
    assert not (tmp_path / "train.csv").exists(), "refused before writing anything"


@pytest.mark.parametrize("size", [0, 1, 1.5, -0.2])
def test_bad_test_size(tmp_path, size):
    with pytest.raises(ScreenstackError, match="between 0 and 1"):
        split_file(ADHD, tmp_path, SplitConfig(test_size=size))


def test_too_few_included_records(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("id,title,abstract,judgement\n" + "".join(f"{i},t{i},a{i},{int(i == 0)}\n" for i in range(10)))
    with pytest.raises(ScreenstackError, match=r"d\.csv: only 1 included \(1\) record"):
        split_file(data, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("size, side", [(0.99, "train"), (0.01, "test")])
def test_a_test_size_that_leaves_one_side_without_included_records_is_refused(tmp_path, size, side):
    data = tmp_path / "d.csv"
    data.write_text("id,title,abstract,judgement\n" + "".join(f"{i},t{i},a{i},{int(i < 3)}\n" for i in range(300)))
    with pytest.raises(ScreenstackError, match=rf"--test-size {size}: the {side} file would hold no included \(1\) record"):
        split_file(data, tmp_path / "out", SplitConfig(test_size=size))
    assert not any((tmp_path / "out").glob("*.csv")), "nothing written"


def test_demo_invocations(tmp_path, monkeypatch, capsys):
    """The Makefile's demo: `datasets get` from a mirror, then `split`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ds.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(ds.MIRROR_ENV, str(MIRROR))
    assert main(["datasets", "get", "cohen_adhd", "--dest", "data/cohen_adhd.csv"]) == 0
    assert main(["split", "--data", "data/cohen_adhd.csv", "--test-size", "0.5", "--seed", "0", "--out", "data/cohen_adhd"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[0] == "data/cohen_adhd.csv"
    assert printed[1:] == [f"data/cohen_adhd/{name}" for name in (*SPLIT_FILES, "split.json")]
    assert main(["split", "--data", "data/cohen_adhd.csv", "--test-size", "0.5", "--seed", "0", "--out", "data/cohen_adhd"]) == 0


def test_cli_split_with_column_flags(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("key,headline,decision\n" + "".join(f"k{i},title {i},{int(i % 3 == 0)}\n" for i in range(12)))
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "out"), "--id-col", "key",
                 "--text-cols", "headline", "--label-col", "decision"]) == 0
    train = read(tmp_path / "out" / "train.csv")
    assert train["id"].str.startswith("k").all() and (train["abstract"] == "").all()


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["split", "--help"])
    assert "example" in capsys.readouterr().out


def test_a_partly_screened_file_splits_its_screened_records_and_says_how_many_it_left_out(tmp_path):
    """An ASReview export in mid-screening is the file a reviewer has: its unscreened records have nothing to score."""
    data = read(ADHD)
    data.loc[::3, "label_included"] = ["", "-1", "ASReview_not_seen"] * (len(data.loc[::3]) // 3) + [""] * (len(data.loc[::3]) % 3)
    data = data.drop(columns=["label_abstract_screening"])
    data.to_csv(tmp_path / "export.csv", index=False)
    with pytest.warns(UserWarning, match=r"export\.csv: 284 record\(s\) not screened yet left out of the split .*screenstack "
                                         r"run --data"):
        split_file(tmp_path / "export.csv", tmp_path / "out")
    train, test, key = (read(tmp_path / "out" / name) for name in SPLIT_FILES)
    screened = data[data["label_included"].isin(["0", "1"])]
    assert sorted(train["id"].tolist() + test["id"].tolist(), key=int) == screened["record_id"].tolist()
    assert set(train["judgement"]) | set(key["judgement"]) == {"0", "1"}


def test_the_run_command_offered_for_unscreened_records_names_the_columns_given(tmp_path):
    # without them the command offered was refused (a file whose labels are in column LB)
    data = read(ADHD).drop(columns=["label_abstract_screening"]).rename(columns={"label_included": "LB", "title": "Title"})
    data.loc[::3, "LB"] = ""
    data.to_csv(tmp_path / "my export.csv", index=False)
    spec = ColumnSpec(text_cols=("Title", "abstract"), label_col="LB")
    with pytest.warns(UserWarning) as said:
        split_file(tmp_path / "my export.csv", tmp_path / "out", spec=spec)
    [line] = [str(w.message) for w in said if "not screened yet" in str(w.message)]
    command = re.search(r"`screenstack (run .*)`", line).group(1)
    assert command == f"run --data '{tmp_path / 'my export.csv'}' --text-cols Title,abstract --label-col LB --out {tmp_path / 'out-run'}"
    assert main(["-q", *shlex.split(command), "--learners", "tfidf-svm", "--folds", "3"]) == 0  # pasted (the encoder aside)


def test_a_file_with_no_screened_record_is_refused_in_one_line(tmp_path):
    data = read(ADHD).drop(columns=["label_abstract_screening"]).assign(label_included="")
    data.to_csv(tmp_path / "export.csv", index=False)
    with pytest.raises(ScreenstackError, match=r"export\.csv: no record is screened yet"):
        split_file(tmp_path / "export.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("other", ["notes.txt", "manifests"])
def test_a_folder_holding_other_files_a_run_folder_say_is_refused_before_reading(tmp_path, other, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / other).mkdir() if other == "manifests" else (out / other).write_text("mine\n")
    assert main(["split", "--data", str(tmp_path / "absent.csv"), "--out", str(out)]) == 2  # refused before the data is read
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--out {out}: holds other files ({other})" in err[0] and f"--out {tmp_path / 'out-split'}." in err[0]  # beside it, not inside
    assert [p.name for p in out.iterdir()] == [other]


def test_a_split_written_otherwise_is_said_so_not_called_another_split(tmp_path):
    """helper-162: a split that another version wrote (other line ends) was "another split (made from cohen_adhd.csv
    with --test-size 0.5 --seed 0), not this one", the options it was asked for."""
    split_file(ADHD, tmp_path / "out")
    assert b"\r" not in (tmp_path / "out" / "train.csv").read_bytes(), "line ends as before 0.3.50: the same bytes"
    train = tmp_path / "out" / "train.csv"
    train.write_bytes(edited := train.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(ScreenstackError) as caught:
        split_file(ADHD, tmp_path / "out")
    assert train.read_bytes() == edited, "nothing already there is overwritten"
    assert str(caught.value).startswith(f"{train}: holds this split's files written otherwise (made from cohen_adhd.csv "
                                        "with --test-size 0.5 --seed 0: the same file and options, but its files were "
                                        "edited since or written by another screenstack version). Use another --out")
    # Other columns read (helper-163): another split, not this one written otherwise
    with pytest.raises(ScreenstackError, match=r"holds another split \(made from cohen_adhd\.csv .*\), not this one"):
        split_file(ADHD, tmp_path / "out", spec=ColumnSpec(label_col="label_abstract_screening"))


def test_a_carriage_return_inside_a_field_comes_back_whole(tmp_path):
    """helper-161: a title holding a lone carriage return, quoted in the source, was written unquoted under "\\n" line
    ends, and the run made for the split refused its train.csv (a row broken in two)."""
    data = read(ADHD).drop(columns=["label_abstract_screening"])
    data = data[data["title"] != ""].iloc[:60]
    data["title"] = data["title"].astype(str) + "\r" + data["record_id"].astype(str)
    data.to_csv(tmp_path / "export.csv", index=False, lineterminator="\r\n")  # the source quotes it
    split_file(tmp_path / "export.csv", tmp_path / "out")
    corpus = load_corpus(tmp_path / "out" / "train.csv", tmp_path / "out" / "test.csv")
    read_back = pd.concat([corpus.train, corpus.test]).set_index("id")["title"]
    assert len(read_back) == 60 and (read_back.loc[data["record_id"]].to_numpy() == data["title"].to_numpy()).all()
