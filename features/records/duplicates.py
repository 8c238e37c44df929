"""Records that repeat another record's title and abstract under another id: said, never dropped.

Searches of several databases return one paper several times, and an update
returns papers already screened under new ids. The models score copies alike,
so nothing breaks, but a reviewer would screen a paper twice, a paper already
labelled would come back to be screened (scored by fold models that trained on
it), and a paper labelled both ways teaches both. Title and abstract are
compared each case-folded with punctuation, spacing, HTML or XML markup and
Unicode forms ignored; records
without an abstract are not compared (a bare "Erratum" or "Reply" is no copy
of another). Each kind is one warning with its count and first pair of ids:
the ids differ, so whether they are one paper is the reviewer's call. The
texts are normalised `CHUNK_ROWS` records at a time and kept only as 64-bit
hashes, not as a second copy of every abstract; the loaders keep those hashes
(`Corpus.keys`) for the fold plan, which stores the training records' so
`predict` can compare an update with them. What it costs against reading the
files alone: bench/loading.py.
"""
from __future__ import annotations

import html
import re
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .ids import id_key


CHUNK_ROWS = 10_000


# Words (letters and digits), and the signs that change a title's meaning ("CD4+", "aged <18", "≥65"): the rest
# (punctuation, hyphens, spacing) is how an export happens to write the same words.
WORD = re.compile(r"[^\W_]+|[<>+≤≥±]")
SIGNS = "<>+"
# An ASCII text's letters and digits kept, its signs apart, everything else a space: what WORD finds, three times as fast.
ASCII_WORDS = str.maketrans({i: chr(i) if chr(i).isalnum() else f" {chr(i)} " if chr(i) in SIGNS else " " for i in range(128)})
# HTML tags: inline ones (<i>, <sub>) join what they wrap to its word ("H<sub>2</sub>O" is "H2O"), others (<br/>, <p>)
# part words. A tag's name follows "<" at once, so "p < 0.05 ... n > 20" or "<65 years" is no tag.
# A name may carry a namespace, as XML abstracts from Crossref, OpenAlex or Scopus do (<jats:p>, <jats:italic>, <mml:mi>);
# comments (<!-- -->) go too.
INLINE_TAG = re.compile(r"</?(?:[A-Za-z][\w.-]*:)?(?:i|b|u|em|strong|sub|sup|sc|span|a|font|small|italic|bold|underline|mi|mn|mo)"
                        r"(?:\s[^<>]*)?/?>", re.IGNORECASE)
TAG = re.compile(r"</?[A-Za-z][\w.:-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.DOTALL)
# Unicode's invisible format characters an export may leave inside a word: soft hyphen, zero-width spaces and
# joiners, direction marks, word joiner, byte-order mark.
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def _normal_text(text: str) -> str:
    """`text`'s words and signs (`WORD`), case-folded and joined by single spaces: punctuation, spacing, HTML markup
    and entities (``<i>``, ``&amp;``, ``&amp;amp;``) and Unicode's composed, compatibility and invisible forms (an NFD
    "é", a "ﬁ", a soft hyphen) ignored."""
    for _ in range(3):  # "&amp;amp;": escaped twice by two exports in turn
        if "&" not in text or (unescaped := html.unescape(text)) == text:
            break
        text = unescaped
    if "<" in text:
        text = TAG.sub(" ", INLINE_TAG.sub("", text))
    if not text.isascii():
        text = INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    text = text.casefold()
    return " ".join(text.translate(ASCII_WORDS).split()) if text.isascii() else _words(text)


def _words(text: str) -> str:
    """`WORD`'s words and signs of `text`, joined by single spaces: the rule the ASCII path maps faster."""
    return " ".join(WORD.findall(text))


def _normal(texts: pd.Series) -> pd.Series:
    return pd.Series([_normal_text(text) for text in texts.astype(str)], index=texts.index, dtype=object)


def record_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """64-bit hashes of each record's normalised texts: ``title_key`` of its title (0: no title), ``text_key`` of
    title and abstract (0: no abstract, not compared). A run's fold plan keeps them for its training records, so
    `predict` can tell a paper already screened from another one under a reused id, and name copies under new ids."""
    keys = []
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start:start + CHUNK_ROWS]
        title, abstract = _normal(part["title"]), _normal(part["abstract"])
        hashed = pd.util.hash_pandas_object(pd.DataFrame({"t": title, "a": abstract}), index=False).to_numpy()
        keys.append(pd.DataFrame({"title_key": pd.util.hash_pandas_object(title, index=False).to_numpy(),
                                  "text_key": hashed}, index=part.index))
        keys[-1].loc[title.to_numpy() == "", "title_key"] = 0
        keys[-1].loc[abstract.to_numpy() == "", "text_key"] = 0
    return pd.concat(keys) if keys else pd.DataFrame({"title_key": [], "text_key": []}, index=frame.index, dtype="uint64")


def copy_columns(keys: pd.Series, ids: pd.Series, labelled: pd.DataFrame | None,
                 to_screen: pd.DataFrame | None = None) -> pd.DataFrame:
    """For records to screen (their ``text_key``s `keys`, 0: not compared, and `ids`), the record each repeats:
    ``copy_of`` a labelled record's id (`labelled`: ``id``, ``label``, ``key``) and ``copy_label`` its label, "1" or
    "0" ("1 and 0" where its copies are labelled both ways); else the id of the first record with the same title and
    abstract among `to_screen` (``id``, ``key``: `predict`'s run's records still to screen) and then among these,
    ``copy_label`` empty; both empty for a record that repeats none. Strings, in `keys`' order: ranked.csv's columns,
    so that a reviewer screens each paper once and carries a known label over."""
    keys, ids = pd.Series(np.asarray(keys, dtype=np.uint64)), pd.Series(np.asarray(ids).astype(str))
    copy_of, copy_label = pd.Series("", index=keys.index, dtype=object), pd.Series("", index=keys.index, dtype=object)
    compared = keys != 0
    if labelled is not None and len(labelled):
        known = labelled[labelled["key"] != 0]
        first = first_ids(known)
        labels = known.groupby("key")["label"].agg(lambda label: " and ".join(sorted({str(int(v)) for v in label}, reverse=True)))
        hit = compared & keys.isin(first.index)
        copy_of[hit], copy_label[hit] = keys[hit].map(first), keys[hit].map(labels)
        compared &= ~hit
    if to_screen is not None and len(to_screen):
        run_ids = keys.map(first_ids(to_screen))  # NaN where the run lists none
        listed_copy = compared & run_ids.notna()
        # Under its own id it is the run's record itself, which `predict` says apart: no copy of anything.
        listed_copy[listed_copy] = run_ids[listed_copy].map(id_key).to_numpy() != ids[listed_copy].map(id_key).to_numpy()
        copy_of[listed_copy] = run_ids[listed_copy]
        compared &= ~listed_copy
    repeat = compared & keys.duplicated()
    earliest = pd.Series(ids[compared].to_numpy(), index=keys[compared].to_numpy())
    copy_of[repeat] = keys[repeat].map(earliest[~earliest.index.duplicated()])
    return pd.DataFrame({"copy_of": copy_of.to_numpy(dtype=object), "copy_label": copy_label.to_numpy(dtype=object)})


def first_ids(records: pd.DataFrame) -> pd.Series:
    """The id (a string) of the first of `records` (``id``, ``key``) with each text key, indexed by key; key 0 (not
    compared) left out."""
    return records[records["key"] != 0].drop_duplicates("key").set_index("key")["id"].astype(str)


def label_words(copy_label: str) -> str:
    """A `copy_columns` label as a reviewer reads it: "included", "excluded" or "labelled both ways"."""
    return {"1": "included", "0": "excluded"}.get(copy_label, "labelled both ways")


def warn_duplicates(frame: pd.DataFrame, train_path: str | Path, test_path: str | Path | None,
                    labelled: pd.DataFrame | None = None, keys: pd.Series | None = None,
                    to_screen: pd.DataFrame | None = None) -> None:
    """Warn about copies in a corpus frame (``split`` train/test, ``id``, ``title``, ``abstract``, ``label``):
    labelled records whose copies are labelled otherwise, records to screen that copy a labelled one, and
    records to screen that copy each other. `labelled` (``id``, ``label``, ``text_key``), where given, are the
    labelled records the others are compared with (`predict`: a run's training records, as its fold plan keeps them);
    `to_screen` (``id``, ``key``): `predict`'s run's records still to screen, which an update repeats under other ids
    (a re-export with DOIs for ids); `keys`: the frame's ``text_key`` (`record_keys`), where already made."""
    keys = record_keys(frame)["text_key"] if keys is None else keys
    records = frame[["split", "id", "label"]].assign(key=keys)[keys != 0]
    train, test = records[records["split"] == "train"], records[records["split"] == "test"]
    labels = train.groupby("key", sort=False)["label"].nunique()
    conflicting = labels.index[labels.to_numpy() > 1]
    if len(conflicting):
        copies = train[train["key"] == conflicting[0]]
        included, excluded = copies.loc[copies["label"] == 1, "id"].iloc[0], copies.loc[copies["label"] == 0, "id"].iloc[0]
        warnings.warn(f"{train_path}: {len(conflicting)} title(s) and abstract(s) labelled both included and excluded "
                      f"under different ids (first: id {included!r} included, id {excluded!r} excluded): both labels "
                      "train. Correct the label of one, or remove the copy.", stacklevel=3)
    what, named = "a labelled record", "labelled id"
    if labelled is not None:  # the run's, where a new file is predicted
        train, what, named = labelled.rename(columns={"text_key": "key"}), "a record the run trained on", "the run's id"
    found = copy_columns(test["key"], test["id"], train, to_screen)
    copies = np.flatnonzero(found["copy_label"].to_numpy() != "")
    if len(copies):
        first = found.iloc[copies[0]]
        warnings.warn(f"{test_path}: {len(copies)} record(s) to screen have the title and abstract of {what} "
                      f"(first: id {test['id'].iloc[copies[0]]!r}, as {named} {first['copy_of']!r}, "
                      f"{label_words(first['copy_label'])}): probably the "
                      "same paper under another id, already screened. They are scored and listed like the others; "
                      "ranked.csv's copy_of and copy_label name the labelled record.", stacklevel=3)
    repeated = (found["copy_of"].to_numpy() != "") & (found["copy_label"].to_numpy() == "")
    run_ids = test["key"].map(first_ids(to_screen)) if to_screen is not None else pd.Series(np.nan, index=test.index)
    listed = repeated & (found["copy_of"].to_numpy() == run_ids.to_numpy())  # a copy of the run's, not this file's
    if listed.any():
        first = int(np.flatnonzero(listed)[0])
        warnings.warn(f"{test_path}: {int(listed.sum())} record(s) have the title and abstract of a record the run "
                      f"lists to screen (first: id {test['id'].iloc[first]!r}, as the run's id {found['copy_of'].iloc[first]!r}): "
                      "the same paper under another id, in both lists. Screen each once (ranked.csv's copy_of names the "
                      "run's record).", stacklevel=3)
    repeated = np.flatnonzero(repeated & ~listed)
    if len(repeated):
        warnings.warn(f"{test_path}: {len(repeated)} record(s) to screen repeat another's title and abstract (first: id "
                      f"{test['id'].iloc[repeated[0]]!r}, as id {found['copy_of'].iloc[repeated[0]]!r}): each copy gets the "
                      "same score and decision; screen one of each (ranked.csv's copy_of names the first).", stacklevel=3)
