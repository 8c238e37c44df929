"""`get_dataset`: registry, cache, mirror, download and the SHA-256 check; `screenstack datasets`."""
from __future__ import annotations

import io
import shutil
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

from screenstack.cli import main, parse_args
from screenstack.features.records import datasets as ds
from screenstack.features.records.corpus import load_records
from screenstack.features.errors import ScreenstackError

MIRROR = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A tmp cache, no mirror from the environment, and no network."""
    monkeypatch.setenv(ds.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(ds.MIRROR_ENV, raising=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is off in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)


def test_registry_matches_the_released_files():
    assert len(ds.DATASETS) >= 6
    for entry in ds.DATASETS.values():
        path = MIRROR / entry.file_name
        assert ds.sha256_file(path) == entry.sha256, entry.name
        assert entry.url.startswith("https://") and entry.licence and entry.citation
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = load_records(path)
        assert (len(records), int(records["label"].sum())) == (entry.records, entry.included), entry.name


def test_get_from_mirror_fills_the_cache_then_works_offline(tmp_path):
    path = ds.get_dataset("cohen_adhd", mirror=MIRROR, progress=False)
    assert path == tmp_path / "cache" / "datasets" / "cohen_adhd.csv"
    assert ds.sha256_file(path) == ds.DATASETS["cohen_adhd"].sha256
    assert ds.get_dataset("cohen_adhd", progress=False) == path, "a verified cached copy needs no mirror or network"


def test_mirror_from_environment_and_dest_copy(tmp_path, monkeypatch):
    monkeypatch.setenv(ds.MIRROR_ENV, str(MIRROR))
    dest = ds.get_dataset("nagtegaal_2019", dest=tmp_path / "data" / "n.csv", progress=False)
    assert dest == tmp_path / "data" / "n.csv"
    assert dest.read_bytes() == (MIRROR / "nagtegaal_2019.csv").read_bytes()
    assert ds.get_dataset("nagtegaal_2019", dest=dest, progress=False) == dest, "an identical dest is fine"


def test_dest_with_other_contents_is_refused_and_untouched(tmp_path):
    dest = tmp_path / "mine.csv"
    dest.write_text("my own file\n")
    with pytest.raises(ScreenstackError, match=r"mine\.csv: already exists and is not the cohen_adhd dataset"):
        ds.get_dataset("cohen_adhd", dest=dest, mirror=MIRROR, progress=False)
    assert dest.read_text() == "my own file\n"


def test_a_file_given_as_mirror_or_a_dest_that_cannot_be_written_names_the_flag(tmp_path):
    stray = tmp_path / "stray.csv"
    stray.write_text("x\n")
    message = str(pytest.raises(ScreenstackError, ds.get_dataset, "cohen_adhd", mirror=stray, progress=False).value)
    assert message.startswith(f"--mirror {stray}: is a file, not a folder")
    message = str(pytest.raises(ScreenstackError, ds.get_dataset, "cohen_adhd", dest=stray / "c.csv", mirror=MIRROR,
                                progress=False).value)
    assert "use another --dest" in message and "--out" not in message, "datasets get has --dest, no --out"
    assert stray.read_text() == "x\n"


def test_a_dest_naming_a_folder_or_a_mirror_not_there_is_refused(tmp_path):
    # helper-172: `--dest data/newdir/` wrote a file named newdir; `--mirror /nonexistent` went unseen while the cache
    # held the file
    ds.get_dataset("cohen_adhd", mirror=MIRROR, progress=False)  # cached
    message = str(pytest.raises(ScreenstackError, ds.get_dataset, "cohen_adhd", dest=f"{tmp_path / 'newdir'}/",
                                progress=False).value)
    assert message == (f"--dest {tmp_path / 'newdir'}/: names a folder. Give a file path, e.g. --dest "
                       f"{tmp_path / 'newdir' / 'cohen_adhd.csv'}.")
    assert not (tmp_path / "newdir").exists()
    message = str(pytest.raises(ScreenstackError, ds.get_dataset, "cohen_adhd", mirror=tmp_path / "no-such-folder",
                                progress=False).value)
    assert message.startswith(f"--mirror {tmp_path / 'no-such-folder'}: no such folder. Give the folder that holds cohen_adhd.csv")


def test_tampered_mirror_copy_is_refused_and_not_cached(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = (MIRROR / "cohen_adhd.csv").read_bytes()
    (mirror / "cohen_adhd.csv").write_bytes(data.replace(b",1,", b",0,", 1))
    with pytest.raises(ScreenstackError) as info:
        ds.get_dataset("cohen_adhd", dest=tmp_path / "out.csv", mirror=mirror, progress=False)
    message = str(info.value)
    assert "download" not in message, "a wrong copy in the mirror is an error, not a step on to the download"
    assert str(mirror / "cohen_adhd.csv") in message and "SHA-256" in message and ds.DATASETS["cohen_adhd"].sha256 in message
    assert not (tmp_path / "out.csv").exists()
    assert not list((tmp_path / "cache" / "datasets").glob("*")), "nothing half-written in the cache"


def test_corrupt_cache_is_replaced_from_the_mirror(tmp_path):
    cached = tmp_path / "cache" / "datasets" / "cohen_adhd.csv"
    cached.parent.mkdir(parents=True)
    cached.write_text("truncated")
    assert ds.sha256_file(ds.get_dataset("cohen_adhd", mirror=MIRROR, progress=False)) == ds.DATASETS["cohen_adhd"].sha256


def test_mirror_without_the_file_falls_through_to_the_download(tmp_path, monkeypatch, caplog):
    # `make demo` on a plain clone: $SCREENSTACK_MIRROR names ../shared/datasets, which is not there.
    data = (MIRROR / "cohen_adhd.csv").read_bytes()
    urls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: urls.append(url) or FakeResponse(data))
    monkeypatch.setenv(ds.MIRROR_ENV, str(tmp_path / "no-such-folder"))
    with caplog.at_level("INFO", logger="screenstack"):
        path = ds.get_dataset("cohen_adhd", dest=tmp_path / "data" / "cohen_adhd.csv", progress=False)
    assert path.read_bytes() == data and urls == [ds.DATASETS["cohen_adhd"].url]
    assert f"cohen_adhd.csv: not in mirror {tmp_path / 'no-such-folder'} (no such folder), downloading" in caplog.text


def test_mirror_without_the_file_offline_names_both_places(tmp_path):
    message = str(pytest.raises(ScreenstackError, ds.get_dataset, "cohen_adhd", mirror=tmp_path, progress=False).value)
    assert f"cohen_adhd.csv: not in the mirror folder {tmp_path}, and the download from " in message
    assert ds.DATASETS["cohen_adhd"].url in message and "network is off" in message and "\n" not in message
    assert not list((tmp_path / "cache" / "datasets").glob("*")), "nothing half-written in the cache"


def test_failed_download_suggests_a_mirror():
    with pytest.raises(ScreenstackError) as info:
        ds.get_dataset("cohen_adhd", progress=False)
    message = str(info.value)
    assert "download failed" in message and "--mirror" in message and ds.MIRROR_ENV in message
    assert ds.DATASETS["cohen_adhd"].url in message


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_download_checks_the_hash_and_writes_the_cache(tmp_path, monkeypatch):
    data = (MIRROR / "cohen_adhd.csv").read_bytes()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: FakeResponse(data))
    path = ds.get_dataset("cohen_adhd", progress=False)
    assert path.read_bytes() == data
    path.unlink()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: FakeResponse(data[:-10]))
    with pytest.raises(ScreenstackError, match="does not match the registered"):
        ds.get_dataset("cohen_adhd", progress=False)
    assert not list(path.parent.glob("*")), "a bad download leaves no file"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ScreenstackError, match=r"unknown dataset 'cohen'. Available: .*cohen_adhd"):
        ds.get_dataset("cohen")


def test_cli_list_and_get(tmp_path, capsys):
    assert main(["datasets", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ds.DATASETS)
    assert main(["datasets", "list", "--long"]) == 0
    assert ds.DATASETS["cohen_adhd"].sha256 in capsys.readouterr().out
    dest = tmp_path / "data" / "cohen_adhd.csv"
    assert main(["-q", "datasets", "get", "cohen_adhd", "--dest", str(dest), "--mirror", str(MIRROR)]) == 0
    assert capsys.readouterr().out.strip() == str(dest)
    assert dest.is_file()


@pytest.mark.parametrize("argv", [["-q", "datasets", "list"], ["datasets", "-q", "list"], ["datasets", "list", "-q"],
                                  ["datasets", "--quiet", "get", "cohen_adhd", "--mirror", str(MIRROR)],
                                  ["datasets", "-v", "list"]])
def test_cli_verbosity_flags_go_before_or_after_each_word_of_the_command(argv, capsys):
    # README: -q/-v go "before or after the command"; `datasets -q list` once failed with "unrecognized arguments: -q".
    assert getattr(parse_args(argv), "quiet", False) is ("-v" not in argv)
    assert main(argv) == 0
    assert capsys.readouterr().err == ""


def test_cli_tampered_mirror_exits_2_with_one_line(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror, ignore=shutil.ignore_patterns("*.md"))
    (mirror / "kitchenham_2010.csv").write_bytes(b"record_id,title\n")
    assert main(["datasets", "get", "kitchenham_2010", "--mirror", str(mirror)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("screenstack: error: ") and "kitchenham_2010.csv" in err[0]
