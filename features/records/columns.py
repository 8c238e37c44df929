"""Which of a file's columns holds the titles and abstracts by default, and which one a flag's name means."""
from __future__ import annotations

from .medline import medline_field
from .ris import ris_field

TITLE_COLUMNS = ("title", "primary_title", "ti")
ABSTRACT_COLUMNS = ("abstract", "notes_abstract", "ab", "abstract note")  # "Abstract Note": Zotero's CSV export


def named_like_abstracts(columns, but: tuple = ()) -> list:
    """The columns, other than `but`, whose name says abstracts: one holding "abstract" (not a ``label...`` one, as the
    Cohen datasets' ``label_abstract_screening``), ``summary`` or ``description``."""
    return [c for c in columns if c not in but and not str(c).lower().startswith("label") and (
        "abstract" in str(c).lower() or str(c).lower() in ("summary", "description"))]


def named_column(typed: str, columns: list, kind: str = "csv") -> str | None:
    """The column a flag's `typed` name means (None: none) in a file of format `kind`: that column; in a RIS file the
    field rispy reads the tag into (LB: label), in a MEDLINE file the tag a field's name means (title: TI); else, as
    columns are found without a flag, the one column spelled so but for case and spaces (`--text-cols title` for the
    header's "Title"; headers are read stripped, so `--id-col ' ID'` is "ID")."""
    name = ris_field(typed, columns) if kind == "ris" else medline_field(typed, columns) if kind == "medline" else typed
    if name in columns:
        return name
    alike = spelled_alike(typed, columns)
    return alike[0] if len(alike) == 1 else None


def spelled_alike(typed: str, columns) -> list:
    """The columns spelled as `typed` but for case and surrounding spaces."""
    return [c for c in columns if str(c).strip().casefold() == str(typed).strip().casefold()]
