"""Text cells that only say the text is missing.

Exports write something where a record has no abstract (or title): Scopus
and Embase ``[No abstract available]``, PubMed the title ``[Not Available].``
for some records, R's ``write.csv`` ``NA``, Excel ``#N/A`` or ``#REF!``, a hand-made sheet
``-``. Read as text, such a record counts as one with an abstract (the
titles-without-abstracts check misses it) and a model learns the phrase; a
cell without a letter or digit scores as the empty text but is not flagged
as a record without text is.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# Compared lower-case, with surrounding brackets, full stops and spaces stripped.
MISSING_TEXT_VALUES = {"na", "n/a", "n.a", "#n/a", "nan", "null", "none", "not available", "no abstract",
                       "no abstract available", "abstract not available", "abstract unavailable", "no abstract provided",
                       "no title", "no title available", "title not available",
                       # a spreadsheet's error values, as a workbook's error cell or a CSV export of it holds them
                       "#ref!", "#value!", "#name?", "#div/0!", "#null!", "#num!", "#spill!", "#calc!"}
_LONGEST = 200  # longer cells are text (a marker padded with spaces still fits): a million abstracts need no lower()


def missing_text(column: pd.Series) -> np.ndarray:
    """True per cell of `column` (strings) that holds something but no text: a `MISSING_TEXT_VALUES` marker, or
    no letter or digit at all."""
    short = np.flatnonzero(column.str.len().to_numpy() <= _LONGEST)
    marked = np.zeros(len(column), dtype=bool)
    cells = column.iloc[short].str.strip()
    normal = cells.str.strip("[]().").str.strip().str.lower()
    marked[short] = (cells != "") & (normal.isin(MISSING_TEXT_VALUES) | ~cells.str.contains(r"[^\W_]", regex=True))
    return marked
