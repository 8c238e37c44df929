"""The one owner of a run folder (``--out``): its paths, its lock, and how outputs are committed and checked.

Moving a staged set into OUT (the checks before, the removal of sets made from
its previous version, the renames) and the manifest's digests are in `features.artifacts.sets`.

Layout of OUT (every path in manifests and metadata is relative to OUT, so a
run folder can be copied or moved):

- ``folds.parquet``: the fold plan (`features.artifacts.folds`);
- ``features/NAME.parquet``: feature files (`extract`, the fine-tuner);
- ``learners/NAME/{oof.parquet,test.parquet,meta.json,models/}``: one learner's scores and fold models;
- ``records.parquet``: the records to screen, with the input file's columns (`features.artifacts.records`);
- ``submission.csv``, ``test_scores.csv``, ``ranked.csv``, ``calibration.json``, ``blend_oof.parquet``, ``blend.json``,
  ``summary.json``: `stack` (`STACK_FILES`);
- ``report.html``, ``report/*.png``: `report`;
- ``config.toml``: `run`, once it has finished;
- ``.lock``: held (``flock``) by the one process writing OUT, removed when it ends;
- ``.staging/SET/``: a set of outputs being written, plus its manifest once whole;
- ``.manifests/SET.json``: name, size and sha256 of every file of a committed set.

An existing --out holding none of these (nor, from before manifests, a fold
plan or a stage's folder) but other files is not a run folder: every command
refuses it (`RunFolder.check_ours`) rather than write among the user's files.

A stage writes a set of files into ``.staging/SET/`` and writes the manifest
last; only then are the files renamed into place. A process killed before the
manifest leaves the old set untouched (the next lock removes the leftovers);
one killed while renaming leaves a complete staged set that the next lock rolls
forward. Readers check every file against its manifest, so a truncated or
altered file is caught by name instead of ending in a traceback.

A manifest also records the version (a digest of its file list) of each set
the set was made from, its inputs: folds -> learners -> stack -> report, and
folds, learners -> config (`run`'s recipe: a restack with other options keeps
it). Committing a new version of a set first removes every set made from its
previous version, and those made from them, so downstream outputs never
outlive a change upstream: OUT holds a consistent older state, or the new
upstream outputs with the downstream ones absent. The removal happens before
the new files move in, while the staged set still has its manifest, so a kill
midway is finished by the next lock. `verify` refuses a set whose inputs
changed since it was made.
"""
from __future__ import annotations

import errno
import fcntl
import functools
import inspect
import json
import os
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from .atomic import STAGING_DIR, io_error, permission_denied, read_json, unwritable_errno, write_json
from . import sets
from .sets import MANIFEST, MANIFESTS_DIR
from ..errors import ScreenstackError, quoted
from .damage import DamagedArtifact, DeletedLearners, StaleArtifact

LOCK_FILE = ".lock"
# What marks a folder as a run folder: the run folder machinery, or (folders made before manifests were kept, a
# first stage killed before its first commit) a stage's own outputs. Other files in a non-empty --out are the user's.
_MARKS = (LOCK_FILE, STAGING_DIR, MANIFESTS_DIR, "folds.parquet", "learners/*/meta.json", "features/*.parquet", "finetune/*")
# A run's own files, each with the set whose manifest lists it: in place only once committed (a stage killed while
# moving a set in leaves it staged, and the next lock finishes the move).
_RUN_FILES = {"folds.parquet": lambda path: "folds", "learners/*/meta.json": lambda path: f"learners/{path.parent.name}",
              "blend.json": lambda path: "stack", "records.parquet": lambda path: "records"}
# The files at the top of OUT that a stack writes (`run` adds report.html and config.toml; `stacking.predict`,
# `report` and `run` pass what they write to `lock`, whose `check_kind` refuses such a file that no manifest lists).
STACK_FILES = ("submission.csv", "test_scores.csv", "ranked.csv", "summary.json", "calibration.json", "blend.json",
               "blend_oof.parquet")
PREDICTIONS_SET = "predict"  # `screenstack predict`'s outputs, committed as one set in a folder of their own
REQUESTED_LEARNERS = ".fit-learners.json"  # the learners the last fit-learners was asked for
OS_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}  # file managers leave these in any folder they show
INPUT_SUFFIXES = {".csv", ".tsv", ".tab", ".ris", ".xlsx"}  # records files (`features.records.tables`; .txt: notes too)
FILE_SUFFIXES = INPUT_SUFFIXES | {".txt", ".json", ".html", ".parquet", ".nbib", ".xls", ".zip"}  # a new --out so named: a file meant

_HELD: dict[Path, int] = {}  # run folders whose lock this process holds -> nesting depth
_REMADE: dict[Path, frozenset[str]] = {}  # held run folders -> the sets the holding command writes again itself


def named_like_a_file(out: str | os.PathLike) -> bool:
    """Whether a new `out` (none there yet) is named as a file is (`submission.csv`): a file meant, not a folder
    (helper-169: `--out submission.csv` made a folder of that name, the submission inside it). One typed with a
    trailing separator (`results.csv/`) says a folder is meant."""
    typed = os.fspath(out)
    if typed.endswith(("/", os.sep)) or os.path.basename(typed) in (".", ".."):  # results.csv/ or results.csv/.
        return False
    out = Path(typed)
    return out.suffix.lower() in FILE_SUFFIXES and not (out.exists() or out.is_symlink())


def learner_inputs(inputs: dict) -> list[str]:
    """The learners among a manifest's `inputs` (``learners/NAME``), by name."""
    return [up.split("/", 1)[1] for up in inputs if up.startswith("learners/")]


class RunFolder:
    """The paths of one run folder, its lock, and set commits and checks.

    Examples
    --------
    >>> run = RunFolder("artifacts/run1")  # doctest: +SKIP
    >>> with run.commit("stack") as staging:  # doctest: +SKIP
    ...     write_json(staging / "summary.json", summary)
    """

    def __init__(self, out: str | os.PathLike):
        if not str(out).strip():  # Path("") is ".": an unset variable in `--out "$DIR"` would write into the working folder
            raise ScreenstackError("--out is empty. Give the path of a folder (new or a previous run's), e.g. --out artifacts/run1.")
        self.out = Path(out)
        self.typed = os.fspath(out)  # as typed: Path drops a trailing separator

    @property
    def file_like(self) -> bool:
        """Whether OUT, none there yet, is named as a file is (`named_like_a_file`)."""
        return named_like_a_file(self.typed)

    # --- paths ----------------------------------------------------------------------------------

    @property
    def folds(self) -> Path:
        return self.out / "folds.parquet"

    @property
    def features_dir(self) -> Path:
        return self.out / "features"

    def learner(self, name: str) -> Path:
        return self.out / "learners" / name

    @property
    def learners_dir(self) -> Path:
        return self.out / "learners"

    @property
    def blend_oof(self) -> Path:
        return self.out / "blend_oof.parquet"

    @property
    def summary(self) -> Path:
        return self.out / "summary.json"

    def learner_names(self) -> list[str]:
        """Learners with outputs in OUT: a committed set or, from runs before manifests, a meta.json."""
        committed = {m.stem.split("%", 1)[1] for m in (self.out / MANIFESTS_DIR).glob("learners%*.json")}
        return sorted(committed | {p.parent.name for p in self.learners_dir.glob("*/meta.json")})

    def stack_first(self) -> str:
        """The advice for a command that reads the stack's outputs where there are none: `stack`, or `fit-learners`
        first where no learner has outputs either (a fit stopped before its first learner)."""
        stopped = self.unfitted_requested_learners()[1]
        if self.learner_names() and stopped:  # `stack` would refuse, naming them: say what it would say to do
            return (f"The last fit-learners stopped before {', '.join(stopped)}: rerun the same fit-learners (or run) command, "
                    f"then `screenstack stack --out {quoted(self.out)}`.")
        if self.learner_names():  # a stack's files removed: its options, where they are known
            return f"Run {sets.stack_command(self.out)} first." if sets.stack_flags(self.out) else (
                f"Run `screenstack stack --out {quoted(self.out)}` first.")
        return (f"No learner has outputs there either: run `screenstack fit-learners --out {quoted(self.out)}` with the run's --data "
                f"(or --train/--test), then `screenstack stack --out {quoted(self.out)}`.")

    @property
    def requested_learners_path(self) -> Path:
        return self.out / REQUESTED_LEARNERS

    def record_requested_learners(self, names: tuple[str, ...]) -> None:
        """Note, before fitting, the learners `fit-learners` was asked for, so that `stack` can tell a stopped
        fit from a choice (`unfitted_requested_learners`)."""
        write_json(self.requested_learners_path, {"learners": list(names)})

    def unfitted_requested_learners(self) -> tuple[list[str], list[str]]:
        """The learners the last `fit-learners` was asked for, and those of them without outputs (it stopped before
        them, or their folder was deleted); ``([], [])`` for a run folder from before 0.3.4, which kept no note."""
        path = self.requested_learners_path
        try:
            found = json.loads(path.read_text())["learners"]
            if not isinstance(found, list):
                raise TypeError("not a list")
            requested = [str(n) for n in found]
        except FileNotFoundError:
            return [], []  # no note (older run, or one another tool wrote): blend what is there, as before
        except PermissionError:  # not damage: said as what it is
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:  # cut short or edited: a stopped fit would pass
            reason = f"no list of learners ({error})" if isinstance(error, (KeyError, TypeError)) else str(error)
            raise ScreenstackError(
                f"{path}: damaged ({' '.join(reason.split())[:120]}): it names the learners the last fit-learners was asked "
                "for, so that a fit stopped short is not blended as the whole run. Rerun the same fit-learners (or run) "
                "command (it writes it again, and fits what is missing), or delete it to blend the learners there.") from None
        present = set(self.learner_names())
        return requested, [n for n in requested if n not in present]

    def _stack_inputs(self) -> dict | None:
        """The sets OUT's stack was made from, by its manifest alone (its files may be edited or moved out, ranked.csv,
        without this being the question), with their versions; None where there is no stack."""
        try:
            return dict(read_json(self.manifest_path("stack"))["inputs"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def stacked_learner_names(self) -> list[str]:
        """The learners OUT's stack blended, whether or not they are there now; ``[]`` where there is no stack."""
        return learner_inputs(self._stack_inputs() or {})

    def learners_not_stacked(self) -> list[str]:
        """Learners with outputs in OUT that OUT's stack did not blend as they are now (fitted after it, or
        refitted since); ``[]`` where there is no stack."""
        inputs = self._stack_inputs()
        if inputs is None:
            return []
        return [n for n in self.learner_names() if inputs.get(f"learners/{n}") != self.version(f"learners/{n}")]

    def stack_warnings_stale(self) -> bool:
        """Whether OUT's stack keeps other warnings from reading the input files than its records set does now (the
        files read again, their records the same, a warning's row moved): its summary and report say the old ones."""
        try:
            kept = read_json(self.summary).get("input_warnings", [])
        except (OSError, ValueError, AttributeError):
            return False  # no stack, or one its readers will name as damaged
        return kept != ((sets.committed(self.out, "records") or {}).get("meta") or {}).get("said", [])

    def drop_feature_files(self, keep: list[str]) -> list[str]:
        """Delete OUT's feature files other than `keep` (paths), each with its manifest; return their names.
        The file goes first: a stop in between leaves a manifest of a missing set, which nothing reads as an input."""
        kept = {Path(path).resolve() for path in keep}
        dropped = []
        for path in sorted(self.features_dir.glob("*.parquet")):
            if path.resolve() not in kept:
                path.unlink()
                self.manifest_path(f"features/{path.name}").unlink(missing_ok=True)
                dropped.append(path.name)
        return dropped

    def relative(self, path: str | os.PathLike) -> str:
        """`path` relative to OUT (posix) when it lies inside OUT, else its absolute path."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.out.resolve()).as_posix()
        except ValueError:
            return str(path)

    def manifest_path(self, name: str) -> Path:
        return sets.manifest_path(self.out, name)

    def version(self, name: str) -> str | None:
        """The version of committed set `name`: a digest of its files' checksums (None: no readable manifest)."""
        manifest = sets.committed(self.out, name)  # None where it does not read as a manifest (`sets.damaged`)
        return None if manifest is None else sets.version_of(manifest)

    # --- writing ------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Refuse, in one line, an OUT that is a file or sits under a file or an unwritable folder."""
        if self.out.exists() and not self.out.is_dir():
            raise ScreenstackError(f"--out {self.out}: is a file, not a folder. Give the path of a folder (new or a previous run's).")
        existing = next(p for p in [self.out, *self.out.absolute().parents] if p.exists())
        if not existing.is_dir():
            raise ScreenstackError(f"--out {self.out}: {existing} is a file, so no folder can be made there. Choose another --out.")
        if not os.access(existing, os.W_OK | os.X_OK):
            if unwritable_errno(existing) == errno.EROFS:  # permissions cannot fix that (a helper's read-only bind mount)
                raise ScreenstackError(f"--out {self.out}: {existing} is on a read-only file system. Give --out a folder on a writable disk.")
            raise ScreenstackError(f"--out {self.out}: {existing} is not writable by you. Choose another --out or fix its permissions.")

    def check_places(self, *folders: str) -> None:
        """Refuse, in one line and before any work, a folder inside OUT that this command's files will be moved into
        (`folders`, relative to OUT, with the manifests' and the staging folder) where the nearest part of it that
        exists is a file, is not writable, or is on another disk than OUT (a rename cannot cross it; `sets.landing_errno`):
        found at the commit, it threw the finished work away (helper-141: five folds fitted, then refused)."""
        def nearest(path: Path) -> Path:  # where the files land: the folders missing on the way are made there
            return next(p for p in (path, *path.parents) if p.exists() or p.is_symlink())

        self.check_writable()  # OUT itself, said as every command says it
        device = os.stat(nearest(self.out)).st_dev
        places = [nearest(self.out / rel) for rel in (MANIFESTS_DIR, STAGING_DIR, *folders)]
        for folder in places[2:]:  # and the folders inside them that files move into (a learner's models/)
            if folder.is_dir() and not folder.is_symlink():
                places += [sub for sub in sorted(folder.rglob("*")) if sub.is_dir()]
        for path in places:
            code = sets.landing_errno(path, device)  # as the commit will find it
            if code is not None:
                raise io_error(path, OSError(code, os.strerror(code)), shown=True,
                               outcome="Nothing was written: run the same command again once that is fixed.")

    def check_ours(self, create: bool = True, example: str = "run1") -> None:
        """Refuse, in one line, an existing non-empty OUT that is not a run folder (the user's data folder, say).

        Its files would end up among the outputs, and one named like an output
        (a submission.csv of their own) replaced. An empty folder is taken as a new one.
        `create` False: the command needs a run folder that exists (`stack`, `report`).
        `example`: the new folder the message suggests, under OUT. A new OUT inside another run or predictions folder
        (its ``learners/``, say) is refused: it would be planted among that folder's own files.
        """
        if create and self.file_like:
            raise ScreenstackError(f"--out {self.out}: names a file, but --out is the folder the command writes its files "
                                   f"into (submission.csv, ranked.csv, summary.json, ...). Give a folder, e.g. --out "
                                   f"{quoted(self.out.parent / example)}.")
        inside = next((folder for folder in self.out.parents if (folder / MANIFESTS_DIR).is_dir()), None) if create else None
        if inside is not None and not (self.out / MANIFESTS_DIR).is_dir():
            stem, n = example.rstrip("0123456789"), int(example[len(example.rstrip("0123456789")):] or 1)
            while (inside.parent / f"{stem}{n}").exists():  # beside it, and not another folder already there (run1 itself)
                n += 1
            raise ScreenstackError(f"--out {self.out}: is inside the screenstack folder {inside}, among its own files. "
                                   f"Give a folder of its own beside it, e.g. --out {quoted(inside.parent / f'{stem}{n}')}.")
        try:
            if not self.out.is_dir() or any(next(self.out.glob(mark), None) for mark in _MARKS):
                return
            found = sorted(p.name for p in self.out.iterdir() if p.name not in OS_FILES)
        except OSError:
            return  # unreadable: check_writable or the lock says why
        if not found:
            return
        shown = first_names(found)
        # A folder of input files (data/, as README lays the project out) is no place for a run either: one beside it.
        inputs = any(Path(name).suffix.lower() in INPUT_SUFFIXES for name in found)
        beside = self.out.resolve().parent if self.out.name in ("", "..") else self.out.parent  # `--out .`: its parent
        suggested = beside / "artifacts" / example if inputs else self.out / example
        fix = (f"Give a new or empty folder, e.g. --out {quoted(suggested)}" if create else
               "Give the --out of a run (`screenstack run` or `fit-learners` makes one)")
        raise ScreenstackError(f"--out {self.out}: not a run folder (no {MANIFESTS_DIR}) but holds other files ({shown}), "
                               f"which outputs written there would mix with or replace. {fix}.")

    def check_kind(self, flag: str = "--out", predictions: bool = False, writes: tuple[str, ...] = ()) -> None:
        """Refuse, in one line, a folder of another kind than the command needs: `screenstack predict`'s predictions
        where a run folder is wanted (`predictions` False), a run's files without their manifests, which no
        reader could check (a copy that left out hidden folders: `stack` then ignored the records to screen), or,
        among the files the command `writes` (relative to OUT), one that no manifest lists: the user's own."""
        try:
            manifests = self.out / MANIFESTS_DIR
            if not self.out.is_dir() or (manifests.exists() and not manifests.is_dir()):
                return  # a file where .manifests goes: the commit names it (`sets.check_targets`)
            made_by_predict = (manifests / f"{PREDICTIONS_SET}.json").is_file()
            unchecked = next(((path, set_of(path)) for mark, set_of in _RUN_FILES.items()
                              for path in sorted(self.out.glob(mark)) if not self.manifest_path(set_of(path)).is_file()), None)
            present = [name for name in writes if (self.out / name).is_file()]
            owned = sets.owned_files(self.out) if present else set()
            # A damaged manifest may have listed them: the commit, which knows its set, decides.
            foreign = [] if not present or sets.damaged(self.out) else [n for n in present if n not in owned]
        except OSError:
            return  # unreadable: check_writable or the reader says why
        if made_by_predict and not predictions:
            try:
                run = read_json(self.out / "summary.json").get("run") or None
            except (OSError, ValueError, AttributeError):
                run = None
            of = f" made with the models of run {run}" if run else ""
            give = f"Give the run folder ({run})" if run else "Give a run folder"
            raise ScreenstackError(f"{flag} {self.out}: holds `screenstack predict`'s predictions{of}, not a run folder. "
                                   f"{give}, or a new folder for a new run.")
        if foreign and unchecked is None:
            raise ScreenstackError(f"{flag} {self.out}: {first_names(foreign, shown=len(foreign))} "
                                   f"{'is' if len(foreign) == 1 else 'are'} listed in no manifest "
                                   "there (a file of your own, or one whose manifest was deleted or edited), and a command "
                                   "writing there would replace it. Move it away, or use a new --out.")
        if unchecked is not None and not manifests.is_dir():
            raise ScreenstackError(f"{flag} {self.out}: holds a run's files but no {MANIFESTS_DIR}/ folder, so none of them can be "
                                   "checked (a copy that left out hidden folders, as `cp -r RUN/* COPY` does). Copy the run "
                                   "folder whole (`cp -r RUN COPY`), or run again into a new --out.")
        if unchecked is not None:
            path, name = unchecked
            rel, manifest = (p.relative_to(self.out).as_posix() for p in (path, self.manifest_path(name)))
            copy = "copy the run folder whole (`cp -r RUN COPY`), or run again into a new --out."
            remade = self._remade_without(name)
            raise ScreenstackError(f"{flag} {self.out}: {rel} has no manifest ({manifest} is missing), so it cannot be checked "
                                   f"(a manifest deleted, or a copy that left some out). "
                                   + (f"{remade} If a copy left it out, {copy}" if remade else copy[0].upper() + copy[1:]))

    def _remade_without(self, name: str) -> str:
        """Where set `name`'s manifest is gone, the way on in OUT itself: its files moved aside, the command that writes
        them writes them again (the stack from the learners alone; a helper met three refusals before finding it, and
        `cp -r` of the folder copies the gap)."""
        if name == "stack":
            files = [f for f in STACK_FILES if (self.out / f).is_file()]
            return (f"If it was deleted, move the stack's files aside ({', '.join(files)}) and rerun "
                    f"{sets.stack_command(self.out)}: it writes them again from the learners.")
        moved = {"folds": "folds.parquet", "records": "records.parquet"}.get(name, f"the folder {name}/")
        return f"If it was deleted, move {moved} aside. {sets.written_by(self.out, name)}"

    @contextmanager
    def lock(self, create: bool = True, remakes: Iterable[str] = (), needs: tuple[str, ...] = ("fit-learners",),
             predictions: bool = False, writes: tuple[str, ...] = ()) -> Iterator[RunFolder]:
        """Hold OUT for this process; refuse if another holds it. Re-entrant within a process.

        Taking the lock first finishes or removes what a killed run left: complete
        staged sets are rolled forward, incomplete ones and temporary files removed.
        `create` False: OUT must exist already (stages that only read earlier outputs); if it does not, the
        refusal names the commands `needs` that make what it reads, or `screenstack run`.
        `remakes`: the sets (e.g. ``"stack"``, ``"learners/logreg"``) this command writes again before it ends,
        as `run` does; their removal is logged at debug level, since there is nothing for the user to do.
        `predictions`: OUT is `screenstack predict`'s, not a run folder; `writes`: the files at the top of OUT the
        command writes (both for `check_kind`, run once a killed run's staged sets are finished or removed).
        `remakes`, `predictions` and `writes` are taken from the outermost lock only.
        """
        if not create and not self.out.is_dir():
            self.check_writable()
            stages = " then ".join(f"`screenstack {command}`" for command in needs)
            if self.file_like:  # `stack --out submission.csv`: the submission file meant (helper-171)
                # inside a run folder (`r1/results.csv`), that folder is the one meant (helper-175)
                meant = self.out.parent if (self.out.parent / MANIFESTS_DIR).is_dir() else self.out.parent / "run1"
                raise ScreenstackError(f"--out {self.out}: no such run folder, and --out names the run folder, not a file "
                                       f"(the command writes submission.csv, ranked.csv, ... into it). Give the --out of "
                                       f"the run, e.g. --out {quoted(meant)}.")
            raise ScreenstackError(f"--out {self.typed}: no such run folder (check the path). Make it with `screenstack run --out "
                                   f"{quoted(self.typed)}` and your --data (or --train/--test) file, or with {stages}.")
        self.check_writable()
        self.check_ours(create)
        created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise io_error(self.out, error) from None
        key = self.out.resolve()
        if key in _HELD:
            _HELD[key] += 1
            try:
                yield self
            finally:
                _HELD[key] -= 1
            return
        fd = self._acquire()
        _HELD[key], _REMADE[key] = 1, frozenset(remakes)
        try:
            self.recover()
            self.check_kind(predictions=predictions, writes=writes)  # the outermost lock's command says what OUT is
            self.check_places()
            yield self
        finally:
            del _HELD[key], _REMADE[key]
            self._release(fd, created)

    @contextmanager
    def remaking(self, *names: str) -> Iterator[None]:
        """Hold OUT (as `commit` does) and count `names` among the sets this command writes again (`lock`'s
        `remakes`): their removal meanwhile is logged at debug level, as nothing is left for the user to do."""
        with self.lock():
            key = self.out.resolve()
            before = _REMADE[key]
            _REMADE[key] = before | frozenset(names)
            try:
                yield
            finally:
                _REMADE[key] = before

    @contextmanager
    def reading(self, flag: str, again: str) -> Iterator[RunFolder]:
        """Hold OUT for reading (a shared ``flock`` on its lock file) across a command that only reads it (`predict`'s
        --run): a folder another process is writing is refused in one line (its outputs half made, the advice
        given on them could not work), and a command that would write it while this one works is refused in turn (a `stack` started mid-predict replaced the stack the predictions
        name). Readers share it. A folder whose lock file cannot be opened or made (a read-only copy), or locked (a
        file system without locks: some network mounts), is read unlocked, as before locks were taken; no lock file
        is made in a folder without manifests, which it would mark as a run folder (`check_ours`) before the reads
        that follow refuse it as none."""
        fd = self._shared_lock(flag, again)
        try:
            yield self
        finally:
            if fd is not None:
                try:  # the last reader out removes the file, as a writer does; another reader's lock keeps it
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    (self.out / LOCK_FILE).unlink(missing_ok=True)
                except OSError:
                    pass
                finally:
                    os.close(fd)

    def _shared_lock(self, flag: str, again: str) -> int | None:
        """`reading`'s lock: the open lock file it holds shared, or None where it reads unlocked."""
        create = os.O_CREAT if (self.out / MANIFESTS_DIR).is_dir() else 0
        while True:
            try:
                fd = os.open(self.out / LOCK_FILE, os.O_RDONLY | create, 0o666)
            except OSError:
                return None  # read-only, or no folder: the reads that follow say what is wrong
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                error = _writing(f"{flag} {self.out}", fd, f"Wait for it to finish, then {again} again.")
                os.close(fd)
                raise error from None
            except OSError:  # no locks here (ENOLCK: helper-157's traceback)
                try:
                    if os.fstat(fd).st_size == 0:  # made here (a writer's holds its pid): the folder as it was
                        (self.out / LOCK_FILE).unlink(missing_ok=True)
                except OSError:
                    pass
                os.close(fd)
                return None
            try:  # as `_acquire`: a writer letting go unlinks the file, and a lock on an unlinked file guards nothing
                if os.stat(self.out / LOCK_FILE).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def refuse_unfinished(self, flag: str, again: str) -> None:
        """Refuse, in one line, a folder that a command only reading it (`predict`'s --run) cannot trust as it stands:
        its manifests folder replaced by a file (none of its files can be checked: predict went on unchecked), or a
        set an interrupted command left half moved in, its files beside the old set's (predict called the new
        blend.json damaged, advising a stack that replaced the one asked for, or read the old threshold beside a
        new ranked.csv). The next command that writes into the folder finishes that set (`recover`)."""
        manifests = self.out / MANIFESTS_DIR
        if manifests.exists() and not manifests.is_dir():
            raise ScreenstackError(f"{flag} {self.out}: {manifests} is a file where the run keeps its folder of manifests, "
                                   "so none of its files can be checked. Put back the run's .manifests folder (from the "
                                   "copy it came from), or make the run again.")
        pending = [staged["set"] for _, staged in self.staged_sets() if staged]  # not whole: the next lock removes it
        if pending:  # `report` changes no stack; without one, `stack` makes the one a reading command needs
            finisher = "report" if (self.out / "summary.json").is_file() else "stack"
            raise ScreenstackError(f"{flag} {self.out}: an interrupted command left its new {', '.join(pending)} outputs "
                                   f"half moved in ({self.out / STAGING_DIR}). Any command that writes into the folder "
                                   f"finishes them: run `screenstack {finisher} --out {quoted(self.out)}`, then {again} again.")

    def _acquire(self) -> int:
        path = self.out / LOCK_FILE
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as error:
                raise io_error(path, error) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                error = _writing(f"--out {self.out}", fd, "Wait for it to finish, or use another --out.")
                os.close(fd)
                raise error from None
            except OSError as error:  # ENOLCK: a file system that takes no locks (some network mounts; helper-159)
                if os.fstat(fd).st_size == 0:  # made here: the folder as it was
                    (self.out / LOCK_FILE).unlink(missing_ok=True)
                os.close(fd)
                raise ScreenstackError(f"--out {self.out}: its file system takes no locks ({error.strerror or error}), and "
                                       "screenstack locks a folder it writes, so that two commands never write it at once. "
                                       "Use an --out on a local disk.") from None
            # The holder before us unlinks the file as it lets go: a lock on an
            # unlinked file guards nothing, so take the lock on the new file.
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        try:  # the pid only names the holder in another process's error; a full disk must not stop the run here
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        return fd

    def _release(self, fd: int, created: bool) -> None:
        try:
            (self.out / LOCK_FILE).unlink(missing_ok=True)
            for empty in (self.out / STAGING_DIR, self.out) if created else (self.out / STAGING_DIR,):
                if empty.is_dir() and not any(empty.iterdir()):  # a run that failed before writing leaves no folder
                    empty.rmdir()
        except OSError:
            pass  # a lock file left behind is harmless: the next run takes it over
        finally:
            os.close(fd)

    def staged_sets(self) -> list[tuple[Path, dict | None]]:
        """The folders in ``.staging``, each with its manifest where the set is whole (to finish), else None (killed
        before its manifest was written, or not a manifest this code wrote: to remove). A folder or manifest the
        permissions keep from being read is said so: `recover` deleted such a set unread, and predict went on past it."""
        staging = self.out / STAGING_DIR
        if not staging.is_dir():
            return []
        try:
            folders = sorted(staging.iterdir())
        except PermissionError as error:
            raise permission_denied(staging, error) from None
        found = []
        for folder in folders:
            try:
                staged = read_json(folder / MANIFEST)
            except PermissionError as error:
                raise permission_denied(folder / MANIFEST, error) from None
            except (OSError, ValueError):
                staged = None
            whole = isinstance(staged, dict) and isinstance(staged.get("set"), str) and isinstance(staged.get("files"), dict)
            found.append((folder, staged if whole else None))
        return found

    def recover(self) -> None:
        """Roll complete staged sets forward, remove incomplete ones and stale temporary files."""
        for folder, staged in self.staged_sets():
            if not staged:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            warnings.warn(f"{self.out}: finishing the {folder.name!r} outputs an interrupted run had written in full.", stacklevel=4)
            sets.check_targets(self.out, folder)
            sets.move_in(self.out, folder, _REMADE.get(self.out.resolve(), ()))
        for tmp in self.out.rglob(".*.tmp"):  # atomic_path's temporary files, left by a killed process
            if tmp.is_file() and STAGING_DIR not in tmp.relative_to(self.out).parts:
                tmp.unlink(missing_ok=True)

    @contextmanager
    def commit(self, name: str, meta: dict | None = None, inputs: tuple[str, ...] = ()) -> Iterator[Path]:
        """Yield a staging folder; the files written there replace OUT's as one set.

        Paths inside the staging folder are the files' paths relative to OUT.
        If the block raises, nothing in OUT changes. `inputs`: the sets this
        one is made from, whose current versions the manifest records. The sets
        made from the previous version of this one are removed in the same commit.
        """
        with self.lock():
            staging = self.out / STAGING_DIR / sets.slug(name)
            if staging.parent.exists() and not staging.parent.is_dir():
                raise io_error(staging.parent, OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), shown=True)
            try:  # a leftover it cannot remove (a folder the permissions keep from being listed) is said as that,
                if staging.is_dir():  # not as the "File exists" of the mkdir after it (helper-157)
                    shutil.rmtree(staging)
                staging.mkdir(parents=True)
            except OSError as error:
                raise io_error(getattr(error, "filename", None) or staging, error, shown=True) from None
            try:
                yield staging
                files = {p.relative_to(staging).as_posix(): {"size": p.stat().st_size, "sha256": sets.sha256_file(p)}
                         for p in sorted(staging.rglob("*")) if p.is_file()}
                write_json(staging / MANIFEST, {"set": name, "files": files, "meta": meta or {},  # last: the set is whole
                                                "inputs": {i: self.version(i) for i in inputs}})
            except BaseException as error:
                shutil.rmtree(staging, ignore_errors=True)
                if isinstance(error, OSError):
                    raise io_error(getattr(error, "filename", None) or staging, error) from None
                raise
            try:
                sets.check_targets(self.out, staging)
            except BaseException:  # a refusal, or a manifest the permissions keep from being read: nothing was moved
                shutil.rmtree(staging, ignore_errors=True)  # OUT is as it was, with no staged set to finish
                raise
            sets.move_in(self.out, staging, _REMADE.get(self.out.resolve(), ()))

    # --- reading ------------------------------------------------------------------------------

    def verify(self, name: str, fix: str, ignore: tuple[str, ...] = ()) -> dict | None:
        """Check set `name`'s files against its manifest; return the manifest (None: written before manifests).

        A missing, truncated or altered file raises `DamagedArtifact` naming it and `fix`;
        a set made from other versions of its inputs than OUT holds, `StaleArtifact`.
        `ignore`: files (relative to OUT) the caller does not read, left unchecked: ``ranked.csv``, which the
        reviewer screens in and may have edited or moved out, for `screenstack predict`.
        """
        path = self.manifest_path(name)
        if not path.is_file():
            return None
        try:
            manifest = read_json(path)
            files = {rel: (int(want["size"]), str(want["sha256"])) for rel, want in manifest["files"].items()}
            inputs = manifest.get("inputs", {})
            if not (isinstance(inputs, dict) and isinstance(manifest.get("meta", {}), dict)):
                raise TypeError("its inputs or meta is not a mapping")
        except PermissionError:  # not damage: said as what it is (cli), and no command remakes the set over it
            raise
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as error:
            raise DamagedArtifact(path, f"unreadable manifest: {error}", fix) from None
        unlisted = [rel for rel in sets.core_files(name) if rel not in files]
        if unlisted:  # a file it does not list is read unchecked: a manifest cut short, or edited
            raise DamagedArtifact(path, f"it does not list {unlisted[0]}, which every such set holds", fix)
        for rel, (size, sha256) in files.items():
            if rel in ignore:
                continue
            file = self.out / rel
            if file.is_dir():  # no file moved or deleted (a helper's mkdir submission.csv), and no command writes over it
                raise DamagedArtifact(file, "a folder stands where the file was written",
                                      f"Move that folder out of {self.out}, then: {fix}")
            if not file.is_file():
                raise DamagedArtifact(file, "missing", fix)
            if file.stat().st_size != size or sets.sha256_file(file) != sha256:
                raise DamagedArtifact(file, "its size or checksum differs from when it was written: truncated or changed", fix)
        learners = learner_inputs(inputs)
        deleted = [n for n in learners if not self.learner(n).exists() and not self.manifest_path(f"learners/{n}").exists()]
        if deleted:  # not a newer version: none at all, and the set's own command would refuse for want of it
            raise DeletedLearners(self.out, list(files), deleted, [n for n in learners if n not in deleted])
        for upstream, version in inputs.items():
            current = self.version(upstream)
            if current != version and upstream in sets.damaged(self.out):  # unreadable or cut short: not a newer version
                raise DamagedArtifact(self.manifest_path(upstream), "unreadable manifest", sets.written_by(self.out, upstream))
            if current != version:
                # An input that is itself stale (a learner copied in from another run's fold plan) is what to fix
                # first: remaking this set from it would be refused in turn.
                self.verify(upstream, sets.written_by(self.out, upstream))
                raise StaleArtifact(self.out, list(files), upstream, fix)
        return manifest

    def set_of(self, path: str | os.PathLike) -> str | None:
        """The committed set holding `path` (a file inside OUT), or None."""
        rel = self.relative(path)
        for manifest in sorted((self.out / MANIFESTS_DIR).glob("*.json")):
            try:
                found = read_json(manifest)
            except (OSError, ValueError):
                continue
            if isinstance(found, dict) and rel in found.get("files", {}):
                return found["set"]
        return None


def first_names(names: list[str], shown: int = 3) -> str:
    """The first `shown` of `names` and how many more: what a refusal lists of a folder's files."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _writing(what: str, fd: int, fix: str) -> ScreenstackError:
    """The refusal of a folder whose lock file `fd` another process holds: a writer, named by its pid (written there),
    or readers only (`RunFolder.reading`, whose shared lock this one can share)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return ScreenstackError(f"{what}: another screenstack process is reading it (`screenstack predict` with it as "
                                f"--run). {fix}")
    except OSError:
        pass
    holder = os.read(fd, 32).decode(errors="replace").strip()
    return ScreenstackError(f"{what}: another screenstack process{f' (pid {holder})' if holder else ''} is writing it. {fix}")


def locked(create: bool = True, needs: tuple[str, ...] = ("fit-learners",), predictions: bool = False,
           writes: tuple[str, ...] = ()):
    """Decorate a stage function taking ``out``: it runs holding OUT's lock (`RunFolder.lock`'s `create`, `needs`,
    `predictions`, `writes`).

    Examples
    --------
    >>> @locked()  # doctest: +SKIP
    ... def fit_learners(corpus, out, ...): ...
    """
    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            out = signature.bind(*args, **kwargs).arguments["out"]
            with RunFolder(out).lock(create=create, needs=needs, predictions=predictions, writes=writes):
                return func(*args, **kwargs)
        return wrapper
    return decorate
