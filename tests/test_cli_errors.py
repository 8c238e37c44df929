"""Bad input through the command line: exit code 2, one line on stderr, no traceback, --out untouched."""
from __future__ import annotations


import pytest

from screenstack.cli import main

TRAIN = "id,title,abstract,judgement\n1,A trial,x,1\n2,A mouse study,y,0\n3,A cohort,z,0\n4,Another trial,w,1\n"
TEST = "id,title,abstract\n10,New,n\n11,Other,o\n"

# name -> (train file name, train bytes, test bytes or None for no --test, extra flags, words the message must hold)
CASES = {
    "missing file": ("train.csv", None, TEST, [], ["train.csv", "no such file"]),
    "empty file": ("train.csv", b"", TEST, [], ["train.csv", "empty"]),
    "header only": ("train.csv", b"id,title,abstract,judgement\n", TEST, [], ["train.csv", "no records"]),
    "missing title column": ("train.csv", b"id,name,judgement\n1,A,1\n2,B,0\n", TEST, [],
                             ["train.csv", "found: id, name, judgement", "title", "--text-cols"]),
    "missing label column": ("train.csv", b"id,title,abstract\n1,A,x\n", TEST, [],
                             ["train.csv", "found: id, title, abstract", "label_included", "--label-col"]),
    # swapped, the training file's missing label column sent the user to rename a column of the wrong file
    "--train and --test swapped": ("train.csv", TEST.encode(), TRAIN, [],
                                   ["train.csv has no labels, but --test", "test.csv has ('judgement')", "swapped"]),
    "swapped, with --label-col": ("train.csv", TEST.encode(), TRAIN.replace("judgement", "mylabel"), ["--label-col", "mylabel"],
                                  ["train.csv has no labels", "test.csv has ('mylabel')", "swapped"]),
    "swapped, the --test file's label column empty": ("train.csv", b"id,title,abstract,judgement\n10,New,n,\n11,Other,o,-1\n",
                                                      TRAIN, [], ["train.csv has no labels", "('judgement')", "swapped"]),
    "swapped, an unlabelled RIS file as --train": ("train.ris", b"TY  - JOUR\nTI  - A\nER  - \n", TRAIN, [],
                                                   ["train.ris has no labels", "test.csv has ('judgement')", "swapped"]),
    "flag names absent column": ("train.csv", TRAIN.encode(), TEST, ["--label-col", "decision"],
                                 ["train.csv", "'decision'", "found: id, title, abstract, judgement"]),
    "label outside 0/1": ("train.csv", TRAIN.replace("y,0", "y,maybe").encode(), TEST, [],
                          ["train.csv: row 3, column 'judgement'", "'maybe'"]),
    "duplicate ids": ("train.csv", TRAIN.replace("3,A cohort", "1,A cohort").encode(), TEST, [],
                      ["train.csv: column 'id': id '1'", "row 2, row 4"]),
    "ids shared by train and test": ("train.csv", TRAIN.encode(), TEST.replace("11,", "2,"), [],
                                     ["test.csv: row 3, column 'id': id '2' is also in", "train.csv (row 3)"]),
    "ids shared as a spreadsheet spells them": ("train.csv", TRAIN.encode(), TEST.replace("11,", "2.0,"), [],
                                                ["test.csv: row 3, column 'id': id '2.0' is also in", "train.csv (row 3, as '2')"]),
    # predict matches ids regardless of case, so run must not score as new an id predict would take for a training one
    "ids shared regardless of case": ("train.csv", TRAIN.replace("1,A trial", "DOI:10.1/AB,A trial").encode(),
                                      TEST.replace("10,", "doi:10.1/ab,"), [],
                                      ["test.csv: row 2, column 'id': id 'doi:10.1/ab' is also in", "train.csv (row 2, as 'DOI:10.1/AB')"]),
    "test file's id column named otherwise": ("train.csv", TRAIN.encode(), TEST.replace("id,", "paper_id,", 1), [],
                                              ["test.csv: no id column", "found: paper_id, title, abstract",
                                               "--id-col paper_id"]),
    "one excluded record": ("train.csv", TRAIN.replace("3,A cohort,z,0", "3,A cohort,z,1").encode(), TEST, [],
                            ["train.csv: 1 of the 4 labelled records is excluded (label 0)", "at least 2"]),
    "id with a line break": ("train.csv", TRAIN.encode(), TEST.replace("11,", '"1\n1",'), [],
                             ["test.csv: row 3, column 'id': id '1\\n1' holds a line break"]),
    "class absent from train": ("train.csv", TRAIN.replace(",1\n", ",0\n").encode(), TEST, [],
                                ["train.csv: column 'judgement' has no included (1)"]),
    "undecodable text": ("train.csv", TRAIN.replace("A cohort", "A caf\xe9 cohort").encode("latin-1"), TEST, [],
                         ["train.csv: row 4, column 'title' is not valid UTF-8"]),
    "bad test file": ("train.csv", TRAIN.encode(), "id,heading\n10,New\n", [], ["test.csv", "found: id, heading"]),
    # one file as both: its ids are "shared", which said nothing of the file given twice
    "the same file as --train and --test": ("test.csv", TRAIN.encode(), TRAIN, [], ["test.csv and --test", "the same file", "--data"]),
    "ris without --label-col": ("train.ris", b"TY  - JOUR\nTI  - A\nER  - \n", TEST, [], ["train.ris", "--label-col"]),
    # an option given empty (an unset shell variable) would otherwise read as its default, unnoticed
    "empty --text-cols": ("train.csv", TRAIN.encode(), TEST, ["--text-cols", ""], ["--text-cols is empty ('')"]),
    "empty --id-col": ("train.csv", TRAIN.encode(), TEST, ["--id-col", " "], ["--id-col is empty (' ')"]),
    # a name deleted from a list ran with fewer than meant, and config.toml recorded the list as typed
    "empty item in --learners": ("train.csv", TRAIN.encode(), TEST, ["--learners", "tfidf-svm,,tfidf-logreg"],
                                 ["--learners tfidf-svm,,tfidf-logreg: an empty item in the list"]),
    "empty item in --text-cols": ("train.csv", TRAIN.encode(), TEST, ["--text-cols", "title,,abstract"],
                                  ["--text-cols title,,abstract: an empty item in the list"]),
    # "title," ran on titles alone and flagged every record
    "comma at the end of --text-cols": ("train.csv", TRAIN.encode(), TEST, ["--text-cols", "title,"],
                                        ["--text-cols title,: an empty item in the list"]),
    # 0.3.44's refusals, through the command: the file and line or column named, --out as it was
    "ris with a mistyped tag in a record": ("train.ris", b"TY  - JOUR\nTI  - A\n  AB  - x\nER  - \n", TEST, ["--label-col", "LB"],
                                            ["train.ris: cannot parse it as RIS (Mistyped tag on line 3: '  AB  - x'", "'AB  - x'"]),
    # MEDLINE is read (0.3.45), but it has no labels: records to screen only
    "pubmed medline as --train": ("train.nbib", b"PMID- 31064148\nTI  - A title\n", TEST, [],
                                  ["train.nbib: PubMed's MEDLINE format has no label tag", "give it as --test"]),
    "web of science plain text as --train": ("savedrecs.txt", b"FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\n", TEST,
                                             [], ["savedrecs.txt: is Web of Science's plain text export", "Tab delimited"]),
    "a flag matching two columns but for case": ("train.csv", b"id,Title,TITLE,abstract,judgement\n1,A,a,x,1\n2,B,b,y,0\n"
                                                              b"3,C,c,z,0\n4,D,d,w,1\n", TEST, ["--text-cols", "title,abstract"],
        ["--text-cols 'title': no column spelled so, and 2 spelled so but for case ('Title', 'TITLE')"]),
    "one column twice in --text-cols": ("train.csv", TRAIN.encode(), TEST, ["--text-cols", "title,Title,abstract"],
                                        ["--text-cols title,Title,abstract names column 'title' twice"]),
    "labels in words": ("train.csv", TRAIN.replace(",1\n", ",yes\n").replace(",0\n", ",no\n").encode(), TEST, [],
                        ["replace 'no' with 0, 'yes' with 1", "matching entire cells"]),
    # the error named --text-cols, a flag the user never gave
    "--id-col naming a text column": ("train.csv", TRAIN.encode(), TEST, ["--id-col", "title"],
                                      ["train.csv: --id-col title names a column of the records' text", "title"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_exits_2_with_one_line_and_leaves_out_alone(tmp_path, capsys, case):
    train_name, train, test, flags, expected = CASES[case]
    train_path = tmp_path / train_name
    if train is not None:
        train_path.write_bytes(train)
    argv = ["fit-learners", "--train", str(train_path), "--out", str(tmp_path / "out"), *flags]
    if test is not None:
        (tmp_path / "test.csv").write_bytes(test.encode("utf-8") if isinstance(test, str) else test)
        argv += ["--test", str(tmp_path / "test.csv")]
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "folds.parquet"
    keep.write_bytes(b"a previous run's file")

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("screenstack: error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err
    for words in expected:
        assert words in errors[0], (words, errors[0])
    assert keep.read_bytes() == b"a previous run's file"
    assert sorted(p.name for p in out.iterdir()) == ["folds.parquet"], "nothing new or half-written in --out"


def test_split_into_a_folder_of_another_split_exits_2_and_keeps_it(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("id,title,abstract,judgement\n" + "".join(f"{i},t{i},a{i},{int(i % 4 == 0)}\n" for i in range(20)))
    out = tmp_path / "out"
    assert main(["split", "--data", str(data), "--out", str(out), "--seed", "0"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["split", "--data", str(data), "--out", str(out), "--seed", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds another split" in err[0] and "--seed 0" in err[0]
    assert before == {p.name: p.read_bytes() for p in out.iterdir()}


def test_split_of_bad_input_exits_2(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("id,title,abstract,judgement\n1,a,b,1\n2,c,d,7\n")
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"screenstack: error: {data}: row 3, column 'judgement': label '7' is not 0 or 1 (1 such: '7' 1). "
                   "Labels must be 0 (exclude) or 1 (include), or empty, -1 or ASReview_not_seen for a record not screened yet: "
                   "fix those rows or pass another --label-col."]
    assert not (tmp_path / "out").exists()


def test_unknown_finetune_head_exits_2_naming_the_heads_and_keeps_out(tmp_path, capsys):
    (tmp_path / "train.csv").write_text(TRAIN)
    (tmp_path / "test.csv").write_text(TEST)
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "folds.parquet"
    keep.write_bytes(b"a previous run's file")
    argv = ["extract", "--finetune", "--head", "bogus", "--train", str(tmp_path / "train.csv"),
            "--test", str(tmp_path / "test.csv"), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "screenstack: error: --head 'bogus': unknown head; available: cnn, linear."
    assert keep.read_bytes() == b"a previous run's file" and [p.name for p in out.iterdir()] == ["folds.parquet"]


def test_a_command_other_than_extract_under_torchrun_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    # N copies of `run` would race on OUT; only extract shares its work across torchrun's ranks.
    from screenstack.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["stack", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`stack` runs in one process, but WORLD_SIZE=2" in err[0]
    assert not (tmp_path / "run").exists()


def test_ctrl_c_while_the_command_loads_its_libraries_is_one_line(monkeypatch, capsys):
    """The `screenstack` script imports the CLI inside `run`, so Ctrl-C during pandas' and scikit-learn's import is caught."""
    import sys
    import types

    from screenstack.__main__ import run

    class Loading(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "screenstack.cli", Loading("screenstack.cli"))
    assert run() == 130
    assert capsys.readouterr().err == "screenstack: interrupted; finished files are kept, rerun the same command to continue.\n"


def test_output_into_a_pipe_whose_reader_has_gone_stops_without_a_traceback():
    """`screenstack datasets list --long | head -1`: head exits after one line and the rest has nowhere to go."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line: every write to standard output fails
    try:
        done = subprocess.run([sys.executable, "-m", "screenstack", "datasets", "list", "--long"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


def test_an_error_quoting_a_line_break_or_a_tab_from_the_file_stays_one_line(tmp_path, capsys):
    from screenstack.cli import main

    path = tmp_path / "records.csv"
    path.write_text('"id","ti\ntle","abstract"\n1,a,b\n')
    (tmp_path / "test.csv").write_text("id,title,abstract\n2,c,d\n")
    assert main(["run", "--train", str(path), "--test", str(tmp_path / "test.csv"), "--out", str(tmp_path / "out"), "--learners", "tfidf-svm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "found: id, ti\\ntle, abstract" in err


@pytest.mark.parametrize("code, words", [
    (13, "Permission denied; check the permissions of it and of every folder above it (each must be enterable), or use "
         "another path."),
    (27, "File too large; raise the file-size limit (ulimit -f), then rerun the same command: finished files are kept."),
])
def test_an_os_error_on_a_path_no_stage_named_is_one_line_naming_the_path(tmp_path, capsys, monkeypatch, code, words):
    """A folder on the way to an input that cannot be entered made `Path.is_dir` raise mid-command (as root the tests
    cannot lock a folder, so the OS's answer is stood in for)."""
    import screenstack.features.records.split as split_module

    locked = tmp_path / "locked" / "data.csv"

    def refused(*args, **kwargs):
        raise OSError(code, {13: "Permission denied", 27: "File too large"}[code], str(locked))

    monkeypatch.setattr(split_module, "read_table", refused)
    assert main(["split", "--data", str(locked), "--out", str(tmp_path / "split")]) == 2
    err = capsys.readouterr().err
    assert err == f"screenstack: error: {locked}: {words}\n"
    assert not (tmp_path / "split").exists()


def test_labelled_records_without_words_are_refused_naming_no_flag_the_user_did_not_give(tmp_path, capsys):
    # With --data the refusal said "--train: every training record has the same title and abstract".
    data = tmp_path / "search.csv"
    data.write_text("id,title,abstract,judgement\n1,A,x,1\n2,A,x,0\n3,A,x,0\n4,A,x,1\n5,New,n,\n")
    assert main(["run", "--data", str(data), "--learners", "tfidf-svm", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert (f"screenstack: error: {data}: every labelled training record has the same title and abstract, so text learners "
            "(tfidf-svm) have nothing to learn from. Check the training file's text columns (--text-cols).") in err
    assert "--train" not in err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_sigterm_stops_a_command_as_ctrl_c_does(monkeypatch, capsys, name):
    # `kill` (an OOM killer's warning, a scheduler's time limit) ended the process at once: fit-learners kept no records
    # of the learners it had finished, and the stack made from them flagged no record without text, silently.
    # SIGHUP (the terminal closed under a `run ... > log 2>&1 &`) ended it with no line in the log (helper-141).
    import os
    import signal
    import time

    import screenstack.cli as cli

    stop = getattr(signal, name)

    def killed(argv):
        os.kill(os.getpid(), stop)
        time.sleep(5)
        return 0

    previous = signal.signal(stop, signal.SIG_DFL)
    monkeypatch.setattr(cli, "_main", killed)
    try:
        assert cli.main(["run"]) == 130
    finally:
        signal.signal(stop, previous)
    assert capsys.readouterr().err == "screenstack: interrupted; finished files are kept, rerun the same command to continue.\n"


def test_a_sighup_ignored_by_nohup_stays_ignored(monkeypatch):
    import signal

    import screenstack.cli as cli

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as `nohup screenstack run ...` starts it
    monkeypatch.setattr(cli, "_main", lambda argv: 0)
    try:
        assert cli.main(["run"]) == 0
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_predict_given_a_stack_option_says_where_that_choice_is_made(tmp_path, capsys):
    # `predict --beta 3` said only "unrecognized arguments": the threshold is the run's, changed by restacking it.
    assert main(["predict", "--run", str(tmp_path / "run"), "--data", "u.csv", "--out", str(tmp_path / "p"), "--beta", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"to change --beta, run `screenstack stack --out {tmp_path / 'run'} --beta ...`, then predict again.")
    assert "\n" not in err and not (tmp_path / "p").exists()
    assert main(["predict", "--run", "r", "--data", "u.csv", "--out", str(tmp_path / "p"), "--bogus"]) == 2
    assert "predict applies" not in capsys.readouterr().err
    # The same from predict's --config file.
    (tmp_path / "predict.toml").write_text('beta = 3\nmin_recall = 0.9\n')
    assert main(["predict", "--config", str(tmp_path / "predict.toml"), "--run", "r", "--data", "u.csv", "--out", "p"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown option(s) beta, min_recall for `screenstack predict`" in err and "\n" not in err
    assert err.endswith("to change --beta, run `screenstack stack --out r --beta ...`, then predict again.")
    # a flag given where the file names the run: the file's run (helper-175: `stack --out RUN` once unknown options
    # were refused before the file was read)
    (tmp_path / "run.toml").write_text('run = "r"\n')
    assert main(["predict", "--config", str(tmp_path / "run.toml"), "--data", "u.csv", "--out", "p", "--beta", "3"]) == 2
    assert capsys.readouterr().err.strip().endswith("to change --beta, run `screenstack stack --out r --beta ...`, then "
                                                    "predict again.")


def test_a_run_config_given_to_another_command_says_it_is_runs(tmp_path, capsys):
    # OUT/config.toml, which `run` writes, given to `stack`: a list of 31 unknown options said nothing of what it was.
    (tmp_path / "config.toml").write_text('train = "t.csv"\ntest = "s.csv"\nout = "o"\nmodel = "minilm"\nfolds = 5\n'
                                          'beta = 7.0\nblend = "auto"\nlearners = ["tfidf-svm"]\n')
    assert main(["stack", "--config", str(tmp_path / "config.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds `screenstack run`'s options" in err and f"`screenstack run --config {tmp_path / 'config.toml'}`" in err
    assert "\n" not in err
    assert main(["datasets", "get", "cohen_adhd", "--config", str(tmp_path / "config.toml")]) == 2
    assert "holds `screenstack run`'s options" in capsys.readouterr().err
    # A hand-written file of a few options is not called a run's: its stray option is named as unknown.
    (tmp_path / "fl.toml").write_text('train = "t.csv"\nout = "o"\nmodel = "minilm"\nlearners = ["tfidf-svm"]\n')
    assert main(["fit-learners", "--config", str(tmp_path / "fl.toml")]) == 2
    assert "unknown option(s) model for `screenstack fit-learners`" in capsys.readouterr().err


def test_an_option_is_taken_only_as_spelt(tmp_path, capsys):
    # argparse would read `--learner` as `--learners` (and a prefix as whichever option it starts alone).
    assert main(["run", "--data", "x.csv", "--learner", "tfidf-svm", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --learner tfidf-svm (did you mean --learners?). See `screenstack run --help`." in err
    assert not (tmp_path / "o").exists()
    # helper-160: a misspelt option, on the command line or in a --config file, is named with the one it most likely means
    assert main(["stack", "--out", str(tmp_path / "o"), "--bta", "5"]) == 2
    assert "unrecognized arguments: --bta 5 (did you mean --beta?)." in capsys.readouterr().err
    (tmp_path / "c.toml").write_text('lerners = "tfidf-svm"\n')
    assert main(["stack", "--out", str(tmp_path / "o"), "--config", str(tmp_path / "c.toml")]) == 2
    assert "unknown option(s) lerners for `screenstack stack` (did you mean learners?). Valid:" in capsys.readouterr().err
    for key in ("max_shfit", "max-shfit"):  # spelt as the Valid list spells it, with either separator (helper-162)
        (tmp_path / "c.toml").write_text(f"{key} = 1\n")
        assert main(["stack", "--out", str(tmp_path / "o"), "--config", str(tmp_path / "c.toml")]) == 2
        assert f"unknown option(s) {key} for `screenstack stack` (did you mean max_shift?)." in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_file_or_folder_option_given_twice_with_two_paths_is_refused_before_any_work(tmp_path, capsys):
    # helper-172: argparse kept the last: `stack --out A --beta 3 --out B` restacked B, removing its report; of two
    # --config files the first went unread
    (tmp_path / "a.toml").write_text("beta = 3\n")
    for argv, said in ((["--out", str(tmp_path / "A"), "--beta", "3", "--out", str(tmp_path / "B")],
                        f"--out given 2 times ({tmp_path / 'A'}, then {tmp_path / 'B'})"),
                       (["--out", str(tmp_path / "A"), "--config", str(tmp_path / "a.toml"), f"--config={tmp_path / 'b.toml'}"],
                        f"--config given 2 times ({tmp_path / 'a.toml'}, then {tmp_path / 'b.toml'})")):
        assert main(["stack", *argv]) == 2
        assert capsys.readouterr().err.strip() == (f"screenstack: error: {said}: which file or folder is meant cannot be "
                                                   "told. Give it once.")
    # the same path twice, however spelt, is meant (helper-175: `--out r1 --out ./r1`); another option's last value wins,
    # as a script's flags added after its usual ones
    assert main(["stack", "--out", str(tmp_path / "A"), "--out", f"{tmp_path}/./A/", "--beta", "3", "--beta", "4"]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert not (tmp_path / "A").exists() and not (tmp_path / "B").exists()
    # helper-175: of two --features lists the first went unread
    assert main(["fit-learners", "--data", "x.csv", "--out", str(tmp_path / "A"), "--learners", "logreg",
                 "--features", "a.parquet", "--features", "b.parquet"]) == 2
    assert capsys.readouterr().err.strip() == ("screenstack: error: --features given 2 times: the last would be used alone, "
                                               "without a word. Give it once, with every FILE after it (--features A B).")
    assert not (tmp_path / "A").exists()


def test_an_empty_value_in_a_config_file_names_the_file(tmp_path, capsys):
    # helper-172: `train = ""` in a --config file was told "--train is empty", a flag not typed
    (tmp_path / "c.toml").write_text('train = ""\n')
    assert main(["fit-learners", "--config", str(tmp_path / "c.toml"), "--test", "t.csv", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (f"screenstack: error: --config {tmp_path / 'c.toml'}: train = \"\": empty. "
                                               "Give it a value. Fix the file.")
    (tmp_path / "c.toml").write_text('text-cols = [""]\n')  # named as the file spells it (helper-175)
    assert main(["fit-learners", "--config", str(tmp_path / "c.toml"), "--data", "t.csv", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (f"screenstack: error: --config {tmp_path / 'c.toml'}: text-cols = [\"\"]: empty. "
                                               "Give it a value. Fix the file.")
    assert not (tmp_path / "o").exists()


def test_a_misspelt_required_option_is_named_with_the_one_meant(capsys):
    # helper-172: `stack --ou DIR` was told only "the following arguments are required: --out"
    assert main(["stack", "--ou", "artifacts/run1"]) == 2
    assert capsys.readouterr().err.strip() == ("screenstack: error: unrecognized arguments: --ou artifacts/run1 (did you "
                                               "mean --out?). See `screenstack stack --help`.")


@pytest.mark.parametrize("argv", [["stack", "--out", ""], ["report", "--out", " "]])
def test_a_required_option_given_empty_is_not_told_to_be_left_out(argv, capsys):
    # "leave the option out for its default" was said of --out too, which has no default: leaving it out is refused
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screenstack: error: --out is empty") and "leave the option out" not in err and "\n" not in err


def test_split_into_a_file_or_with_a_test_size_leaving_a_side_empty_says_so_in_the_flags_terms(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("id,title,abstract,judgement\n" + "".join(f"{i},t{i},a{i},{int(i < 4)}\n" for i in range(20)))
    (tmp_path / "notadir").write_text("x")
    # refused before the data are read, as run and stack refuse it (it named train.csv and an errno, after reading)
    assert main(["split", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "notadir")]) == 2
    assert capsys.readouterr().err.strip() == (f"screenstack: error: --out {tmp_path / 'notadir'}: is a file, not a folder. "
                                               f"Give the path of a folder for the split's files, e.g. --out {tmp_path / 'notadir-split'}.")
    assert main(["split", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "notadir" / "sub")]) == 2
    assert capsys.readouterr().err.strip() == (f"screenstack: error: --out {tmp_path / 'notadir' / 'sub'}: {tmp_path / 'notadir'} "
                                               "is a file, so no folder can be made there. Choose another --out.")
    # a new --out named like a file (helper-171: `split --out sp.csv` made a folder sp.csv/)
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "sp.csv")]) == 2
    assert capsys.readouterr().err.strip() == (f"screenstack: error: --out {tmp_path / 'sp.csv'}: names a file, but --out is "
                                               "the folder the split writes train.csv, test.csv and test_labels.csv into. "
                                               f"Give a folder, e.g. --out {tmp_path / 'sp'}.")
    assert not (tmp_path / "sp.csv").exists()
    assert main(["-q", "split", "--data", str(data), "--out", f"{tmp_path / 'sp.csv'}/"]) == 0  # a trailing slash: a folder meant
    assert (tmp_path / "sp.csv" / "train.csv").is_file()
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "out"), "--test-size", "0"]) == 2
    assert "--test-size 0: give the test share" in capsys.readouterr().err
    assert main(["split", "--data", str(data), "--out", str(tmp_path / "out"), "--test-size", "0.999"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screenstack: error: --test-size 0.999: ") and "the train file 0" in err
    assert "n_samples" not in err and "\n" not in err  # scikit-learn's own message named its parameters, not the flag
    assert not (tmp_path / "out").exists()


def test_a_label_column_or_learner_a_letter_or_a_case_off_is_named_in_the_refusal(tmp_path, capsys):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("id,title,abstract,judgment\n1,a,b,1\n2,c,d,0\n3,e,f,0\n")  # the US spelling
    test.write_text("id,title,abstract\n4,g,h\n")
    assert main(["run", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "o"), "--learners", "tfidf-svm"]) == 2
    err = capsys.readouterr().err
    assert "Rename the column or pass --label-col judgment if that column holds the labels." in err
    # helper-143: an update given to `run` by mistake was told only of label columns
    assert f"Records to screen alone (a search update) go to `screenstack predict --run RUN --data {train}`" in err
    for inverted in ("label_excluded", "not_included"):  # a letter or two off, but 1 would mean the opposite
        train.write_text(f"id,title,abstract,{inverted}\n1,a,b,1\n2,c,d,0\n3,e,f,0\n")
        assert main(["run", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "o"), "--learners", "tfidf-svm"]) == 2
        assert "Rename the column or pass --label-col. " in capsys.readouterr().err
    assert main(["fit-learners", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "o"),
                 "--learners", "TFIDF-SVM,logreg"]) == 2
    assert "--learners TFIDF-SVM: unknown (did you mean tfidf-svm?); available:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
