"""Open screening datasets by name: download or copy from a mirror, check SHA-256, cache.

Each dataset is one ASReview-style CSV (``record_id``, ``title``, ``abstract``,
``label_included``, ...) from the ASReview systematic-review-datasets
collection, pinned to the commit of its ``metadata-v1-final`` tag. The SHA-256
values are those of that released version of the files (the copies in
``shared/datasets`` next to this repository); a file with other bytes is
refused, whether it came from the network or from a mirror.

The cache lives in ``~/.cache/screenstack/datasets`` (``$SCREENSTACK_CACHE``
replaces ``~/.cache/screenstack``). A mirror is a folder holding the files
under their file names (``--mirror DIR`` or ``$SCREENSTACK_MIRROR``), for
machines without internet. It is a step before the download, not instead of
it: a mirror without the file falls through to the download, and a copy there
with other bytes is refused.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..artifacts.atomic import atomic_path, sha256_file
from ..errors import ScreenstackError

CACHE_ENV = "SCREENSTACK_CACHE"
MIRROR_ENV = "SCREENSTACK_MIRROR"
RELEASE = "38b35218e4d0f99621cec5a8a25a0147bb88c654"  # tag metadata-v1-final of asreview/systematic-review-datasets
BASE_URL = f"https://raw.githubusercontent.com/asreview/systematic-review-datasets/{RELEASE}/datasets"
CHUNK = 1 << 20
log = logging.getLogger("screenstack")

COHEN_2006 = ("Cohen AM, Hersh WR, Peterson K, Yen PY (2006). Reducing workload in systematic review preparation "
              "using automated citation classification. JAMIA 13(2):206-219. doi:10.1197/jamia.M1929")
COHEN_LICENCE = "custom open licence (Cohen et al. 2006, OHSU drug class review data; cite the paper)"


@dataclass(frozen=True)
class Dataset:
    """One registered dataset: where it comes from, its bytes' SHA-256, and what is in it."""

    name: str
    file_name: str
    url: str
    sha256: str
    licence: str
    citation: str
    records: int
    included: int
    topic: str


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("cohen_ace_inhibitors", "cohen_ace_inhibitors.csv", f"{BASE_URL}/Cohen_2006/output/online/ACEInhibitors.csv",
            "67bc0b3ad9bd9d98610cfe124336fb192a19a921dfb6ac52ee486caac64fd27f", COHEN_LICENCE, COHEN_2006,
            2544, 41, "ACE inhibitors (drug class review)"),
    Dataset("cohen_adhd", "cohen_adhd.csv", f"{BASE_URL}/Cohen_2006/output/online/ADHD.csv",
            "762e19ddf4f0ecbaa23c8330e04f438ab7da7a08c20b13dacd4354a366c2abcf", COHEN_LICENCE, COHEN_2006,
            851, 20, "ADHD drugs (drug class review)"),
    Dataset("cohen_atypical_antipsychotics", "cohen_atypical_antipsychotics.csv",
            f"{BASE_URL}/Cohen_2006/output/online/AtypicalAntipsychotics.csv",
            "0c4ed716ef48b958fe5f05fe40a3f59dd444cd196a25c5bb10529ccfe71f326f", COHEN_LICENCE, COHEN_2006,
            1120, 146, "atypical antipsychotics (drug class review)"),
    Dataset("bannach_brown_2019", "bannach_brown_2019.csv", f"{BASE_URL}/Bannach-Brown_2019/output/Bannach-Brown_2019.csv",
            "89c6d6a57ed6c4849f8f95d2816c4b577d3a02e857b1dd2e44b96f2c19b846c2", "CC-BY 4.0",
            "Bannach-Brown A, et al. (2019). Machine learning algorithms for systematic review: reducing workload in a "
            "preclinical review of animal studies and reducing human screening error. Systematic Reviews 8:23. "
            "doi:10.1186/s13643-019-0942-7",
            1993, 280, "animal models of depression (preclinical)"),
    Dataset("nagtegaal_2019", "nagtegaal_2019.csv", f"{BASE_URL}/Nagtegaal_2019/output/Nagtegaal_2019.csv",
            "abfbdb973aa125f26ce872a5193c931d0690f7fe2e1fb75551de9c0acecd200f", "CC0 1.0",
            "Nagtegaal R, Tummers L, Noordegraaf M, Bekkers V (2019). Nudging healthcare professionals towards "
            "evidence-based medicine: a systematic scoping review. Journal of Behavioral Public Administration 2(2). "
            "doi:10.30636/jbpa.22.71",
            2019, 101, "nudging (social science)"),
    Dataset("kitchenham_2010", "kitchenham_2010.csv",
            f"{BASE_URL}/Hall_Wahono_Radjenovic_Kitchenham/output/Kitchenham_2010.csv",
            "07dbd5016e3295a252f2816592532f501b216b2db4c33d2e3e9404507a026e6d", "CC-BY 4.0",
            "Kitchenham B, et al. (2010). Systematic literature reviews in software engineering - a tertiary study. "
            "Information and Software Technology 52(8):792-805; labels via Yu Z, Kraft NA, Menzies T (2018), "
            "Finding better active learners for faster literature reviews, Empirical Software Engineering 23:3161-3186",
            1704, 45, "software engineering"),
)}


def dataset(name: str) -> Dataset:
    """Look a dataset up by name; an unknown name lists the valid ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ScreenstackError(f"unknown dataset {name!r}. Available: {', '.join(sorted(DATASETS))} "
                               "(see `screenstack datasets list`).") from None


def cache_dir() -> Path:
    """The dataset cache: ``$SCREENSTACK_CACHE/datasets``, else ``~/.cache/screenstack/datasets``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "screenstack"
    return Path(root).expanduser() / "datasets"


def get_dataset(name: str, dest: str | Path | None = None, mirror: str | Path | None = None,
                progress: bool = True) -> Path:
    """Return a local, SHA-256-checked copy of a registered dataset.

    Looks in the cache first, then in the mirror folder (`mirror`, else
    ``$SCREENSTACK_MIRROR``), then downloads: a mirror without the file is
    skipped, one holding other bytes is refused. With `dest`, the file is also
    copied there; an existing `dest` with other contents is refused.

    Examples
    --------
    >>> get_dataset("cohen_adhd", dest="data/cohen_adhd.csv", mirror="../shared/datasets")  # doctest: +SKIP
    PosixPath('data/cohen_adhd.csv')
    """
    entry = dataset(name)
    if dest is not None and Path(dest).is_dir():
        raise ScreenstackError(f"--dest {dest}: is a folder. Give a file path, e.g. --dest {Path(dest) / entry.file_name}.")
    if dest is not None and str(dest).endswith(("/", os.sep)):  # a folder meant: Path drops the separator, and wrote a file
        raise ScreenstackError(f"--dest {dest}: names a folder. Give a file path, e.g. --dest {Path(dest) / entry.file_name}.")
    if mirror is not None and Path(mirror).exists() and not Path(mirror).is_dir():  # the dataset file itself, say
        raise ScreenstackError(f"--mirror {mirror}: is a file, not a folder. Give the folder that holds {entry.file_name}.")
    if mirror is not None and not Path(mirror).expanduser().exists():  # a typo, unseen while the cache holds the file
        raise ScreenstackError(f"--mirror {mirror}: no such folder. Give the folder that holds {entry.file_name} (check "
                               "the path), or leave --mirror out to use the cache or download it.")
    cached = cache_dir() / entry.file_name
    if not (cached.is_file() and sha256_file(cached) == entry.sha256):
        mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
        mirror = None if mirror is None else Path(mirror).expanduser()  # a quoted "~/mirror", as $SCREENSTACK_CACHE's
        if mirror is None or not _copy_from_mirror(entry, mirror, cached):
            _download(entry, cached, progress, mirror)
    if dest is None:
        return cached
    dest = Path(dest)
    if dest.exists():
        if dest.is_file() and sha256_file(dest) == entry.sha256:
            return dest
        raise ScreenstackError(
            f"{dest}: already exists and is not the {name} dataset (SHA-256 differs). "
            "Delete it or pass another --dest."
        )
    with atomic_path(dest, flag="--dest") as tmp:
        shutil.copyfile(cached, tmp)
    return dest


def _copy_from_mirror(entry: Dataset, mirror: Path, target: Path) -> bool:
    """Copy the checked file from `mirror` to `target`; False if the mirror does not hold it."""
    source = mirror / entry.file_name
    if not source.is_file():
        log.info("%s: not in mirror %s%s, downloading", entry.file_name, mirror, "" if mirror.is_dir() else " (no such folder)")
        return False
    with atomic_path(target, flag=f"${CACHE_ENV}") as tmp:
        shutil.copyfile(source, tmp)
        _check_hash(entry, tmp, str(source))
    return True


def _download(entry: Dataset, target: Path, progress: bool, mirror: Path | None = None) -> None:
    """Download to `target`, checking the hash; `mirror`: the folder already tried, named if this fails too."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(entry.url, timeout=60) as response, atomic_path(target, flag=f"${CACHE_ENV}") as tmp:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as handle, tqdm(total=total, unit="B", unit_scale=True, desc=entry.file_name,
                                                 disable=not progress, leave=False) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    handle.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            _check_hash(entry, tmp, entry.url, digest.hexdigest())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        if mirror is not None:
            raise ScreenstackError(
                f"{entry.file_name}: not in the mirror folder {mirror}{'' if mirror.is_dir() else ' (no such folder)'}, and the "
                f"download from {entry.url} failed ({reason}). "
                f"Put {entry.file_name} in {mirror} (or pass --mirror with a folder holding it), or connect to the internet."
            ) from None
        raise ScreenstackError(
            f"{entry.url}: download failed ({reason}). Without internet, pass --mirror DIR (or set ${MIRROR_ENV}) "
            f"with a folder holding {entry.file_name}."
        ) from None


def _check_hash(entry: Dataset, path: Path, source: str, actual: str | None = None) -> None:
    actual = actual or sha256_file(path)
    if actual != entry.sha256:
        raise ScreenstackError(
            f"{source}: SHA-256 {actual} does not match the registered {entry.sha256} for {entry.name}; "
            "the file is damaged or another version. Fetch it again from "
            f"{entry.url}, or replace the copy in the mirror."
        )
