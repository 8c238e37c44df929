"""What a file given as a text table is when it is not one: a workbook, Parquet, compressed, UTF-16.

`refuse_binary` looks at a file's first bytes and names what it is and the
command or export that gives the text table (or RIS or MEDLINE text), instead
of a quoting error about bytes that were never text; `refuse_compressed`, a
part of it, names a compressed file and the command that decompresses it.
`refuse_other_formats` names, by a file's first line, the text exports of
databases that screenstack does not read.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import ScreenstackError

# Leading bytes of files that are not text, though they may end in .csv: what they are and what to do.
_BINARY_KINDS = (
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls workbook", "Save it as .xlsx or as CSV UTF-8"),
    (b"PAR1", "a Parquet file", "Give the CSV, TSV, XLSX, RIS or MEDLINE file of the records"),
)
# Compressed files: their format and the command that writes the text to stdout whatever the file's ending
# (gunzip, unxz and unzstd refuse a file not ending in .gz, .xz or .zst). Only `_zip_kind` tells a zip
# archive from an .xlsx workbook, which is a zip too.
_COMPRESSED_KINDS = (
    (b"\x1f\x8b", "gzip", "gzip -dc"),
    (tuple(b"BZh%d" % level for level in range(1, 10)), "bz2", "bzip2 -dc"),  # BZh and the block size: not a header's "BZh"
    (b"\xfd7zXZ\x00", "xz", "xz -dc"),
    (b"\x28\xb5\x2f\xfd", "zstd", "zstd -dc"),
)
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
_SAVE_UTF8 = "Save it as CSV UTF-8 (Excel: File > Save As > CSV UTF-8)"


def refuse_binary(path: Path, raw: bytes, saved: str = "as Excel's \"Unicode Text\" saves it", fix: str = _SAVE_UTF8) -> None:
    """Name a binary file given as text (a table by default; RIS or MEDLINE by its ending), instead of reporting its
    bytes as a quoting or parse error; UTF-16 text `saved` as some tool saves it, with `fix` (`refuse_utf16`)."""
    refuse_compressed(path, raw)
    for magic, what, kind_fix in _BINARY_KINDS:
        if raw.startswith(magic):
            raise ScreenstackError(f"{path}: is {what}, not {_expected_text(path)}. {kind_fix}.")
    refuse_utf16(path, raw, saved, fix)


# Text formats of bibliographic databases that are not tables, RIS nor MEDLINE, by their first line: what they are and the
# export that screenstack reads. Read as CSV, they were "row 3 has 2 fields but the header has 1 (...)".
_TEXT_KINDS = (
    (re.compile(r"<\d+\.?\s*>\s*$"), "Ovid's citation text (`<1>` before each record, `VN  - Ovid Technologies`)",
     "Export the records from Ovid as RIS (Export, format: RIS)"),
    # ERIC's looks like PubMed's MEDLINE, but its records have no PMID line to tell where each starts: helpers' files
    # were read merged or split silently.
    (re.compile(r"OWN +- ERIC"), "ERIC's export (`OWN - ERIC` records, without PMIDs)", "Export the records from ERIC as RIS"),
    (re.compile(r"<\?xml|<!DOCTYPE|<PubmedArticleSet|<xml>"), "XML (PubMed's or a reference manager's XML export?)",
     "Export the records as RIS or CSV, or from PubMed with \"Send to: Citation manager\" (.nbib)"),
    (re.compile(r"FN .*Web of Science"), "Web of Science's plain text export (`FN`/`PT` tags)",
     "Export the records from Web of Science as \"Tab delimited file\" (read as TSV) or as \"RIS (other reference "
     "software)\""),
)


def refuse_other_formats(path: Path, first: str) -> None:
    """Name a bibliographic text format that is no table, by its `first` line (`first_line`), with the export to use."""
    for pattern, what, fix in _TEXT_KINDS:
        if pattern.match(first):
            raise ScreenstackError(f"{path}: is {what}, which screenstack does not read. {fix}.")


def first_line(raw: bytes) -> str:
    """The first line of a file's first bytes (`raw`) that is not blank, without a byte-order mark."""
    lines = (line.lstrip("\ufeff") for line in raw.decode("utf-8", errors="replace").splitlines())
    return next((line for line in lines if line.strip()), "")


def refuse_utf16(path: Path, raw: bytes, saved: str, fix: str) -> None:
    """Name UTF-16 or UTF-32 text (`raw`: its first bytes), `saved` as some tool saves it, with `fix`: not a byte that
    is not UTF-8."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # before UTF-16's: its mark starts the same
        raise ScreenstackError(f"{path}: is UTF-32 text; records are read as UTF-8. {fix}.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScreenstackError(f"{path}: is UTF-16 text ({saved}); records are read as UTF-8. {fix}.")
    if b"\x00" in raw:  # ASCII letters as UTF-16 (without a byte-order mark), or a binary file
        raise ScreenstackError(f"{path}: holds NUL bytes near its start: UTF-16 text or a binary file, not UTF-8 text. {fix}.")


def refuse_compressed(path: Path, raw: bytes) -> None:
    """Name a compressed file (`raw`: its first bytes) and the command that decompresses it, whatever its ending."""
    expected = _expected_text(path)
    if raw.startswith(b"PK\x03\x04"):
        what, fix = _zip_kind(path)
        raise ScreenstackError(f"{path}: is {what}, not {expected}. {fix}.")
    for magic, kind, command in _COMPRESSED_KINDS:
        if raw.startswith(magic):
            raise ScreenstackError(f"{path}: is {kind}-compressed, not {expected}. "
                                   f"Decompress it first ({command} {path.name} > {_decompressed_name(path)}).")


def _expected_text(path: Path) -> str:
    """What `path` was meant to hold, by its name without a compression ending: ``a.ris.gz`` was meant to be RIS."""
    inner = Path(path.stem) if path.suffix.lower() in _COMPRESSED_SUFFIXES else path
    return {".ris": "RIS text", ".nbib": "MEDLINE text"}.get(inner.suffix.lower(), "a text table")


def _decompressed_name(path: Path) -> str:
    """A name for `path` decompressed: without its compression ending (``a.csv.gz``: ``a.csv``), else marked."""
    if path.suffix.lower() in _COMPRESSED_SUFFIXES and Path(path.stem).suffix:
        return path.stem
    return f"{path.stem}-decompressed{'.csv' if path.suffix.lower() in _COMPRESSED_SUFFIXES else path.suffix}"


def _zip_kind(path: Path) -> tuple[str, str]:
    """What a zip file given under a text ending is, and what to do: an .xlsx workbook is a zip holding ``xl/``.

    Only the archive's directory (at its end) is read, not its members.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = any(name.startswith("xl/") for name in archive.namelist())
    except zipfile.BadZipFile:  # a damaged archive: it could be either
        return ("a zip archive or an Excel .xlsx workbook",
                f"If it is a workbook, rename it to .xlsx; else decompress it first (unzip {path.name})")
    if workbook:
        return "an Excel .xlsx workbook", "Read as a workbook: rename it to .xlsx, or save it as CSV UTF-8"
    return "zip-compressed", f"Decompress it first (unzip {path.name}) and give the CSV, TSV, XLSX, RIS or MEDLINE file it holds"
