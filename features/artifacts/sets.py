"""How a staged set of outputs lands in a run folder, and the manifest that makes it whole.

`features.artifacts.runfolder` holds OUT's lock, stages a set, writes its
manifest and verifies committed sets; this module moves a staged set in. A
set's manifest (``.manifests/SET.json``) lists the name, size and sha256 of
each of its files and the version (a digest of its file list) of each set it
was made from, its inputs. Moving a staged set in first checks that every file
can land and that no file a reviewer edits in place (``ranked.csv``) would be
lost, then removes every committed set made from another version of it (and
those made from them), renames the files into place and moves the manifest
last, so a kill midway is finished by the next lock.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Iterable

from ..errors import ScreenstackError, quoted
from .atomic import STAGING_DIR, io_error, read_json, sha256_file, unwritable_errno

MANIFESTS_DIR, MANIFEST = ".manifests", "MANIFEST.json"
# Files a reviewer edits in place (a spreadsheet saves notes typed into ranked.csv where it opened it, or into a
# prediction's left_out.csv, the screened records README says to check): once changed, no set removes or replaces them.
EDITED_IN_PLACE = ("ranked.csv", "left_out.csv")
# The command that writes each kind of set again: said when one made from an older input is removed, and where its
# manifest is damaged (`RunFolder.verify`). Only `stack` and `report` work from OUT alone; the others read input
# files that OUT does not name.
_FIT = "the `screenstack fit-learners` or `screenstack run` command that made {out} (with its --data or --train/--test)"
WRITTEN_BY = {"folds": (_FIT, "it draws the fold plan again from --folds and --seed"),  # (command, what it does)
              "records": (_FIT, "it writes records.parquet again"),
              "learners": (_FIT, "it fits again the learners whose outputs are missing, damaged or stale"),
              "features": ("the `screenstack extract` or `screenstack run` command that made {out}",
                           "it writes the feature file again"),
              "stack": ("{stack_command}", "it rewrites the stack outputs"),
              "report": ("`screenstack report --out {out}`", "it rewrites the report"),
              "config": ("the `screenstack run` command that made {out} (with its --data or --train/--test)",
                         "it writes config.toml again"),
              "predict": ("the `screenstack predict` command that made {out} (with its --run and --data)",
                          "it writes the predictions again")}
log = logging.getLogger("screenstack")


def manifest_path(out: Path, name: str) -> Path:
    """Where committed set `name` of run folder `out` keeps its manifest."""
    return out / MANIFESTS_DIR / f"{slug(name)}.json"


def check_targets(out: Path, staging: Path) -> None:
    """Refuse, before anything is moved, a set whose file would land on a folder or under a file, or that
    would remove or replace a file the reviewer edited in place (`EDITED_IN_PLACE`).

    A rename that fails midway would leave part of the new set beside part of the old one.
    """
    manifests = out / MANIFESTS_DIR
    if manifests.exists() and not manifests.is_dir():
        raise io_error(manifests, OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
    device = os.stat(staging).st_dev
    manifest = read_json(staging / MANIFEST)
    # Said before any file moves: the whole set was refused, not one file (a read-only report/ refused a new stack,
    # and "report was not changed" read as if the stack had been written).
    refused = f"The new {manifest['set']} outputs were not written: run the same command again once that is fixed."
    if manifests.is_dir() and not os.access(manifests, os.W_OK | os.X_OK):  # the manifest moves in last: a read-only
        code = unwritable_errno(manifests)  # .manifests/ left a set half in
        raise io_error(manifests, OSError(code, os.strerror(code)), outcome=refused)
    if manifest_path(out, manifest["set"]).is_dir():  # the manifest moves in last: refused now, before any file moves
        raise io_error(manifest_path(out, manifest["set"]), OSError(errno.EISDIR, os.strerror(errno.EISDIR)), shown=True,
                       outcome=refused)
    stale_sets = _derived(out, manifest["set"], version_of(manifest))
    refuse_edited(out, [committed(out, manifest["set"]), *(stale for stale, _ in stale_sets)], incoming=manifest)
    for stale, _ in stale_sets:  # removed before the set moves in
        for rel in stale["files"]:
            target = out / rel
            if (target.is_file() or target.is_symlink()) and not os.access(target.parent, os.W_OK | os.X_OK):
                raise io_error(target.parent, OSError(errno.EACCES, os.strerror(errno.EACCES)), outcome=refused)
    owned = owned_files(out)
    rewritten = manifest["set"] in damaged(out)  # its files where they lie are taken as the set's own
    for rel in manifest["files"]:
        target = out / rel
        if target.is_dir():
            raise io_error(target, OSError(errno.EISDIR, os.strerror(errno.EISDIR)), outcome=refused)
        unlisted = (target.is_file() or target.is_symlink()) and rel not in owned and not _same(target, manifest["files"][rel])
        if unlisted and rewritten and target.name in EDITED_IN_PLACE:
            raise edited_unknown(out, manifest["set"], target)
        # Not listed, and not this set's own file already moved in by an interrupted commit: the user's.
        if unlisted and not rewritten:
            raise ScreenstackError(f"{target}: exists, but no manifest in {out / MANIFESTS_DIR} lists it (a file of your own, "
                                   "or one whose manifest was deleted), and this command would replace it. Move it away, "
                                   "or use a new --out.")
        blocker = next((p for p in target.parents if p != out and p.is_relative_to(out)
                        and p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise io_error(blocker, OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), outcome=refused)
        folder = next(p for p in target.parents if p.exists())  # the rename lands here (its missing subfolders are made)
        code = landing_errno(folder, device)
        if code is not None:
            raise io_error(folder, OSError(code, os.strerror(code)), outcome=refused)


def landing_errno(folder: Path, device: int) -> int | None:
    """Why files cannot be renamed into `folder` (the nearest existing folder on their way) from a staging folder on
    `device`, as an errno (None: they can): not a folder, another disk or mount (a rename cannot cross it), or not
    writable (`unwritable_errno`: read-only mounts apart)."""
    if not folder.is_dir():
        return errno.ENOTDIR
    if os.stat(folder).st_dev != device:
        return errno.EXDEV
    if not os.access(folder, os.W_OK | os.X_OK):
        return unwritable_errno(folder)
    return None


def edited_unknown(out: Path, name: str, target: Path, *others: Path) -> ScreenstackError:
    """The refusal to replace `target` (and `others`), files the reviewer edits in place, where set `name`'s manifest,
    which listed them, is damaged: whether they were edited cannot be told. All named at once, moved out at once."""
    also = "".join(f" So is {other} (move it to {screened_copy(out, other)})." for other in others)
    return ScreenstackError(f"{target}: {manifest_path(out, name)}, which listed it, is damaged, so whether you changed it "
                            "(screening notes typed into it?) cannot be told, and this command would replace it. Move it "
                            f"out of {out} (e.g. to {screened_copy(out, target)}) or delete it, then run the command again."
                            + also)


def edited(out: Path, manifest: dict | None, incoming: dict | None = None) -> list[Path]:
    """The files of committed set `manifest` that a reviewer edits in place and that differ from what it wrote.

    A file that is what set `incoming` (staged) writes there is not an edit: a commit killed while
    moving its files in left it, and the next lock finishes that commit.
    """
    found = []
    for rel, want in (manifest or {}).get("files", {}).items():
        path = out / rel
        if path.name not in EDITED_IN_PLACE or not path.is_file():
            continue
        try:
            if not _written(path, want, incoming, rel):
                found.append(path)
        except OSError as error:  # whether the reviewer changed it cannot be told: it is not replaced unread
            raise ScreenstackError(f"{path}: cannot be read ({error.strerror or error}), so whether you changed it cannot "
                                   f"be told, and it would be replaced. Check its permissions, or move it out of {out}.") from None
        except (KeyError, TypeError, ValueError):
            continue  # a damaged manifest is the run folder's to report
    disowned = _manifest_disowns(out, manifest, incoming) if found else None
    if disowned is not None:
        target, name = found[0], str(manifest.get("set"))
        raise ScreenstackError(
            f"{target}: differs from what {manifest_path(out, name)} lists, and so does {disowned}, which no one is asked to "
            f"edit: the manifest is damaged or another folder's, or both files were changed since, so whether you typed "
            f"into {target.name} cannot be told, and writing the {name!r} outputs again would replace it. Move it out of "
            f"{out} (e.g. to {screened_copy(out, target)}) or delete it, then run the command again.")
    return found


def _written(path: Path, want: dict | None, incoming: dict | None, rel: str) -> bool:
    """`path` is what the committed set wrote there, or what the staged set `incoming` writes there."""
    return _same(path, want) or _same(path, (incoming or {}).get("files", {}).get(rel))


def _manifest_disowns(out: Path, manifest: dict, incoming: dict | None) -> Path | None:
    """A file no reviewer edits that differs from `manifest` too (None: none): the manifest may not describe these
    files (swapped in from another run, or damaged), so an edited-looking ranked.csv says nothing sure of the reviewer
    (helper-141: an untouched ranked.csv was named as edited)."""
    for rel, want in manifest.get("files", {}).items():
        path = out / rel
        try:
            if path.name not in EDITED_IN_PLACE and path.is_file() and not _written(path, want, incoming, rel):
                return path
        except (OSError, KeyError, TypeError, ValueError):
            return path
    return None


def _same(path: Path, want: dict | None) -> bool:
    return want is not None and path.stat().st_size == int(want["size"]) and sha256_file(path) == str(want["sha256"])


# Where labels typed into ranked.csv belong instead: predict's --data is an update it only scores.
LABELS_GO = {None: "type labels into the labelled file (--data, or --train)",
             "predict": "labels train only from the run's labelled file (its --data or --train): add them there and run it again"}


def refuse_edited(out: Path, manifests: list[dict | None], command: str | None = None, incoming: dict | None = None) -> None:
    """Refuse, in one line, to remove or replace a file of committed sets `manifests` that the reviewer changed.

    `command`: the one that wrote the file and would write it again (``stack``,
    ``predict``); None for any command whose new outputs remove it.
    """
    for manifest in manifests:
        for path in edited(out, manifest, incoming):
            written = f"`screenstack {command}` wrote it" if command else "it was written"
            would = f"{command} would replace it" if command else "this command would remove it with the outputs it was made from"
            again = f"run `screenstack {command}` again" if command else "run the command again"
            raise ScreenstackError(
                f"{path}: changed since {written} (screening notes typed into it?), and {would}. Move it out of {out} "
                f"(e.g. to {screened_copy(out, path)}) or delete it, then {again}; {LABELS_GO.get(command, LABELS_GO[None])}.")


def before_deleting(out: Path) -> str:
    """For a message that suggests deleting OUT: where OUT holds a file the reviewer edited in place (`edited`),
    a note to move it out first (the reviewer's notes are in it); else ``""``."""
    for manifest in _manifests(out):
        if changed := edited(out, manifest):
            return (f" (first move {changed[0]} out of it, e.g. to {screened_copy(out, changed[0])}: it changed since it "
                    "was written, screening notes typed into it?)")
    return ""


def screened_copy(out: Path, path: Path) -> Path:
    """Where to move a file of OUT the reviewer edited (`edited`), out of the way of the commands that rewrite it."""
    return out.parent / (out.name + "-" + path.stem + "-screened" + path.suffix)


def core_files(name: str) -> tuple[str, ...]:
    """The files (relative to OUT) that set `name` has held since manifests were kept, which its readers read:
    a manifest without one of them was cut short or edited."""
    if name.startswith("learners/"):
        return tuple(f"{name}/{file}" for file in ("meta.json", "oof.parquet", "test.parquet"))
    return {"folds": ("folds.parquet",), "records": ("records.parquet",), "stack": ("summary.json",)}.get(name, ())


def committed(out: Path, name: str) -> dict | None:
    """The manifest of committed set `name`, or None where there is none (or it does not read as one). One the
    permissions keep from being read is refused as that: called damaged, its set was made again over it."""
    try:
        found = read_json(manifest_path(out, name))
    except PermissionError:
        raise
    except (OSError, ValueError):
        return None
    whole = (_lists_files(found) and isinstance(found.get("inputs", {}), dict) and isinstance(found.get("meta", {}), dict))
    return found if whole else None


def _lists_files(found) -> bool:
    """Whether `found`, read from a manifest, is a dict whose ``files`` give each file's size and checksum."""
    return (isinstance(found, dict) and isinstance(found.get("files"), dict)
            and all(isinstance(want, dict) and {"size", "sha256"} <= set(want) for want in found["files"].values()))


def staged(out: Path, name: str) -> dict | None:
    """The manifest of set `name` staged whole in OUT (a commit killed while moving its files in, which the next lock
    finishes), or None. A file that is what it lists is no edit of the reviewer's."""
    try:
        found = read_json(out / STAGING_DIR / slug(name) / MANIFEST)
    except (OSError, ValueError):
        return None
    return found if _lists_files(found) and found.get("set") == name else None


def changed_since_written(out: Path, name: str, rel: str) -> bool | None:
    """Whether file `rel` of OUT differs from what committed set `name` wrote there: False where either is missing,
    None where the set's manifest is damaged (it cannot be told). A file that cannot be read is refused, named."""
    path, listing = out / rel, manifest_path(out, name)
    try:
        if listing.exists():
            listing.read_bytes()  # one that cannot be read (permissions) is named as such, not as damaged
        manifest = committed(out, name)
        if manifest is None:
            return None if listing.exists() and path.exists() else False
        want = manifest["files"].get(rel)
        incoming = (staged(out, name) or {}).get("files", {}).get(rel)
        return want is not None and path.is_file() and not _same(path, want) and not (incoming and _same(path, incoming))
    except OSError as error:
        raise ScreenstackError(f"{error.filename or path}: cannot be read ({error.strerror or error}). Check its "
                               "permissions.") from None


def damaged(out: Path) -> list[str]:
    """The sets of OUT whose manifest is there but does not read as one (truncated, edited): their files cannot be
    checked, and the command that writes such a set again takes the files where they lie as its own."""
    found = []
    for name in (path.stem.replace("%", "/") for path in sorted((out / MANIFESTS_DIR).glob("*.json"))):
        manifest = committed(out, name)
        if manifest is None or any(rel not in manifest["files"] for rel in core_files(name)):  # cut short or edited
            found.append(name)
    return found


def written_by(out: Path, name: str) -> str:
    """What to run to write set `name` of OUT again (`WRITTEN_BY`): for the sets `run` writes, in a run's folder, its
    own `run --config` command (`run_again`: with `--data COPY` where the reviewer has typed labels into the file since,
    which the run's fold plan would refuse)."""
    kind = name.split("/")[0]
    command, does = WRITTEN_BY.get(kind, ("the command that made {out}", ""))
    command = (run_again(out) if kind in RUN_WRITES else None) or command.format(
        out=quoted(out), stack_command=stack_command(out) if name == "stack" else "")
    return f"Rerun {command}: {does}." if does else f"Rerun {command}."


RUN_WRITES = ("folds", "records", "learners", "config")  # sets `run --config` writes again as the run wrote them


def stack_flags(out: Path) -> str | None:
    """The flags OUT's stack was made with, as `stack` records them in its manifest's meta and in summary.json (the
    latter where the manifest cannot be read); None where neither says (a folder from before 0.3.33), or what they
    say is no list of flags (a hand edit: it is shown as a command to run)."""
    flags = ((committed(out, "stack") or {}).get("meta") or {}).get("flags")
    if not isinstance(flags, str):
        try:
            flags = read_json(out / "summary.json").get("flags")
        except (OSError, ValueError, AttributeError):
            return None
    return flags if isinstance(flags, str) and _FLAGS.fullmatch(flags) else None


_FLAGS = re.compile(r"(--[a-z-]+ [\w.,+-]+)?( --[a-z-]+ [\w.,+-]+)*")


def stack_command(out: Path, learners: list[str] | None = None) -> str:
    """The `screenstack stack` command, in backticks, that makes OUT's stack again with the options it was made with
    (`stack_flags`), or with those `learners` in place of its own; where the options are not known, the command with
    a word on them. Restacking a damaged stack with `stack`'s defaults instead gave another submission than the
    run's."""
    flags = stack_flags(out)
    if flags is None:
        chosen = f" --learners {','.join(learners)}" if learners else ""
        return f"`screenstack stack --out {quoted(out)}{chosen}` (with the stacking options you gave, if any)"
    if learners is not None:
        pairs = flags.split(" ")
        pairs = [f"{flag} {value}" for flag, value in zip(pairs[::2], pairs[1::2]) if flag != "--learners"]
        flags = " ".join([f"--learners {','.join(learners)}", *pairs])
    return f"`screenstack stack --out {quoted(out)}{' ' + flags if flags else ''}`"


FINETUNED_PREFIX = "finetune-"  # a fine-tuned encoder's learner name starts so (`extract.finetune_config.learner_name`)


def is_fine_tuned(name: str) -> bool:
    """Whether learner NAME is a fine-tuned encoder (`extract.finetune_config.learner_name`'s ``finetune-...``), made by
    `extract --finetune`, not fit-learners."""
    return name.startswith(FINETUNED_PREFIX)


def run_refits(out: str | Path, names: list[str]) -> str | None:
    """Where OUT is a `run`'s folder whose config.toml fits every one of `names`, the `run --config` command that fits
    them again with the run's own options (its --seed, --folds, --text-cols: `fit-learners` with the defaults is
    refused, or reads other columns), with a word on an input file changed since the run; else None."""
    values = _run_config(Path(out))
    if values is None:
        return None
    learners = str(values.get("learners", "")).split(",")
    fits = set(learners) | ({name for name in names if is_fine_tuned(name)} if values.get("finetune") is True else set())
    return run_again(out) if names and set(names) <= fits else None


def _run_config(out: Path) -> dict | None:
    """OUT's config.toml as `run` wrote it (None: none there, unreadable, or changed since: `run --config` with an
    edited or copied-in file would be refused as another configuration, so the advice must not send the user there)."""
    want = ((committed(out, "config") or {}).get("files") or {}).get("config.toml")
    try:
        if want is not None and not _same(out / "config.toml", want):
            return None
        return tomllib.loads((out / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, TypeError):
        return None


def run_again(out: str | Path) -> str | None:
    """Where OUT is a `run`'s folder (its config.toml readable), the `run --config` command that makes it again with
    the run's own options and input files, naming `--data COPY` (or --train/--test) for an input file changed or
    moved since the run; else None."""
    config = Path(out) / "config.toml"
    values = _run_config(Path(out))
    if values is None:
        return None
    made_in = Path(str(values.get("out", out))).resolve()
    moved = f" --out {quoted(out)}" if made_in != Path(out).resolve() else ""  # a copied folder: its file names the first
    # A `stack` with other options since the run: `run --config` remakes the run's stack, and that one after it.
    recorded = (committed(Path(out), "config") or {}).get("meta") or {}
    since = stack_flags(Path(out))
    then = (f", then {stack_command(Path(out))} (the stack's options since the run)"
            if "stack_flags" in recorded and since is not None and since != recorded["stack_flags"] else "")
    changed = changed_inputs(Path(out))
    if not changed:
        return f"`screenstack run --config {quoted(config)}{moved}`{then}"
    # A reviewer types new labels into the --data file the run read (README says to): the run's fold plan then refuses it.
    given = " ".join(f"--{option} COPY" for option, _ in changed)
    said = " and ".join(f"{path} (--{option})" for option, path in changed)
    one = len(changed) == 1
    what = (f"{'it is' if one else 'they are'} no longer there (moved?)" if not any(Path(p).exists() for _, p in changed)
            else f"{'it has' if one else 'they have'} changed since, labels typed in?,")
    return (f"`screenstack run --config {quoted(config)}{moved} {given}` (COPY: {said} as at that run, or where it is now; "
            f"{what} and the run's fold plan needs the records it was drawn from){then}")


def input_files(args) -> dict:
    """What a run records of its input files (--train, --test, --data), to tell later whether they changed."""
    recorded = {}
    for option in ("train", "test", "data"):
        path = getattr(args, option, None)
        try:
            if path:
                path = Path(path).resolve()
                recorded[option] = {"path": str(path), "size": path.stat().st_size, "sha256": _file_sha256(path, *_stamp(path))}
        except OSError:
            continue  # gone since it was read: nothing to compare with later
    return recorded


def changed_inputs(out: Path) -> list[tuple[str, str]]:
    """``(option, path)`` of each input file OUT's run recorded (`input_files`) that is gone or differs now."""
    recorded = ((committed(out, "config") or {}).get("meta") or {}).get("input_files")
    changed = []
    for option, was in (recorded.items() if isinstance(recorded, dict) else ()):
        try:
            path = Path(was["path"])
            if path.stat().st_size != was["size"] or _file_sha256(path, *_stamp(path)) != was["sha256"]:
                changed.append((option, str(path)))
        except OSError:
            changed.append((option, str(was.get("path"))))
        except (KeyError, TypeError, AttributeError):
            continue  # a hand-edited manifest: nothing to say
    return changed


def warn_changed_inputs(out: str | Path) -> None:
    """Warn of each input file of OUT's run changed since (`changed_inputs`): a reviewer who typed labels into the run's
    --data file and ran `stack` got the old figures back without a word (helper-143); the stack blends learners fitted
    on the labels the run read."""
    for option, path in changed_inputs(Path(out)):
        if Path(path).is_file():
            log.warning("%s (--%s) has changed since the run read it (labels typed in?): this stack is of the labels the run "
                        "read. To train on the file as it is now: `screenstack run --%s %s ... --out NEW` (a new --out: the "
                        "run's fold plan is drawn from its records of then)", path, option, option, quoted(path))


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """`sha256` of an input file, once per process while it is unchanged: each learner read builds its refit advice."""
    return sha256_file(path)


def deleted_learners_fix(out: Path, deleted: list[str], kept: list[str]) -> str:
    """The ways on where learners `deleted` (fit-learners', not fine-tuned) were removed by hand, as some refusals
    say to do: fit them again with the run's options, or blend the learners `kept`."""
    one = len(deleted) == 1
    again = run_refits(out, deleted)
    fitted = [name for name in deleted if not is_fine_tuned(name)]
    refit = (f"Rerun {again}: it fits {'it' if one else 'them'} again with the run's options." if again else
             f"Rerun `screenstack fit-learners --out {quoted(out)} --learners {','.join(fitted)}` with the options that "
             f"made {out} (its --data or --train/--test, --folds, --seed, --text-cols and, for a learner on vectors, "
             f"--features): it fits {'it' if len(fitted) == 1 else 'them'} again." if fitted else "")
    if not again and len(fitted) < len(deleted):  # a fine-tuned learner: the fine-tuner makes it
        refit += (f"{' ' if refit else ''}Rerun `screenstack extract --finetune --out {quoted(out)}` (or `run --finetune`) with "
                  "the run's options: it fine-tunes the encoder again.")
    return refit + (f" Or blend the others: {stack_command(out, kept)}." if kept else "")


def _manifests(out: Path) -> Iterable[dict]:
    """OUT's committed manifests that read as such (an unreadable one is the run folder's to report)."""
    for path in sorted((out / MANIFESTS_DIR).glob("*.json")):
        found = committed(out, path.stem.replace("%", "/"))
        if found is not None:
            yield found


def owned_files(out: Path) -> set[str]:
    """The files (relative to OUT) that OUT's committed manifests list: what screenstack wrote there."""
    return {rel for manifest in _manifests(out) for rel in manifest["files"]}


def move_in(out: Path, staging: Path, remade: Iterable[str]) -> None:
    """Remove the sets made from the previous version, rename a whole staged set into place, then its manifest.

    A rerun after a crash repeats what is left: the staged manifest goes last.
    `remade`: the sets the command holding the lock writes again itself (their removal is logged at debug level).
    """
    manifest = read_json(staging / MANIFEST)
    try:
        for stale, upstream in _derived(out, manifest["set"], version_of(manifest)):
            _remove(out, stale, upstream, remade, by=manifest["set"])
        for rel in manifest["files"]:
            source, target = staging / rel, out / rel
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        manifest_path(out, manifest["set"]).parent.mkdir(exist_ok=True)
        os.replace(staging / MANIFEST, manifest_path(out, manifest["set"]))
    except OSError as error:
        # os.replace names its target second: the path that could not be written (not the staged MANIFEST.json)
        raise io_error(getattr(error, "filename2", None) or getattr(error, "filename", None) or out, error, kept=False) from None
    shutil.rmtree(staging, ignore_errors=True)


def _derived(out: Path, name: str, version: str | None) -> list[tuple[dict, str]]:
    """``(manifest, input)`` of each committed set made from another version of `name` than `version`,
    and of each set made from those, with the input it is removed for."""
    manifests = {}
    for path in sorted((out / MANIFESTS_DIR).glob("*.json")):
        try:
            found = read_json(path)
        except (OSError, ValueError):
            continue
        if isinstance(found, dict) and isinstance(found.get("inputs"), dict) and isinstance(found.get("files"), dict):
            manifests[found.get("set")] = found
    stale: dict[str, str] = {}
    changed = [(name, version)]
    while changed:
        upstream, current = changed.pop()
        for other, found in manifests.items():
            if other not in stale and other != name and upstream in found["inputs"] and found["inputs"][upstream] != current:
                stale[other] = upstream
                changed.append((other, None))  # removed: what was made from it goes too
    return [(manifests[other], upstream) for other, upstream in stale.items()]


def _remove(out: Path, manifest: dict, upstream: str, remade: Iterable[str], by: str = "") -> None:
    """Delete a committed set: its files, the folders they leave empty, then its manifest."""
    for rel in manifest["files"]:
        target = out / rel
        if target.is_file() or target.is_symlink():
            target.unlink()
        for folder in target.parents:
            if (folder == out or not folder.is_relative_to(out) or folder.is_symlink() or not folder.is_dir()
                    or any(folder.iterdir())):
                break  # a symlinked folder is the user's to keep (rmdir of it failed: helper-144)
            folder.rmdir()
    manifest_path(out, manifest["set"]).unlink(missing_ok=True)
    files = ", ".join(manifest["files"]) or "no files"
    is_remade = manifest["set"] in remade  # by this command, a moment from now
    # config.toml is gone by now, and the run it recorded is no longer what OUT holds: "rerun the run command that
    # made OUT" pointed to the options just deleted, and would refit what this command refitted otherwise.
    way = _config_removed(out, upstream) if manifest["set"] == "config" else written_by(out, manifest["set"])
    # The report is what a reader opens: its removal by a new stack (`by`) is a warning (shown under -q), said once,
    # here; removed with the stack it described (a learner refitted), `report` alone cannot remake it: the stack's
    # line says what to run first, a warning too (helper-147: adding a learner to an older folder, whose records.parquet
    # was written again, removed its submission and ranked.csv under -q without a word).
    # config.toml too: the only record of the run's options (fit-learners writing an older folder's records.parquet
    # again removed it under -q without a word, and `run --config` on it with it: helper-176).
    warned = manifest["set"] in ("stack", "config") or (manifest["set"] == "report" and by == "stack")
    level = logging.DEBUG if is_remade else logging.WARNING if warned else logging.INFO
    log.log(level, "%s: removed %s, made from the previous %r outputs. %s", out, files, upstream, way)


def _config_removed(out: Path, upstream: str) -> str:
    """What a removed config.toml held, and why it went: the run's learners refitted otherwise, or (`upstream`
    ``records``) the same records written again, as fit-learners writes an older folder's (helper-176: "whose learners
    these no longer all are" where every learner was reused)."""
    if upstream == "records":
        return (f"It held the options of the `screenstack run` that made {quoted(out)}, and was made from its previous "
                "records.parquet, which this command wrote again; `stack` and `report` make the folder's outputs from "
                "what is there.")
    return (f"It held the options of the `screenstack run` that made {quoted(out)}, whose learners these no longer all are; "
            "`stack` and `report` make the folder's outputs from them.")


def version_of(manifest: dict) -> str:
    """A set's version: a digest of its manifest's file list (names, sizes, checksums)."""
    return hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()


def slug(name: str) -> str:
    """`name` (e.g. ``"learners/logreg"``) as one file or folder name."""
    return name.replace("/", "%")


