"""The feature store: reading records, and the artifacts every stage writes and reads.

Two halves; the first uses only `atomic`'s safe writes, `errors` and `checks` from the second:

- reading records: `corpus` (CSV, TSV, XLSX and RIS into one `Corpus`),
  `datasets` (the open review datasets and their checksums), `split`
  (train/test files from one labelled file), `tfidf` (the text features);
- the artifact store: `runfolder` (every path in ``--out``, the lock, staged
  sets with manifests), `atomic` (atomic, umask-respecting writes and OS errors
  as one line), `folds` (the one fold plan) and `crossfit` (the one loop over
  it), `outputs` (learner scores), `store` (feature files of vectors).

`features` is the most upstream package: it imports none of the other stages,
and every other stage builds on it.
"""
from .errors import ScreenstackError

__all__ = ["ScreenstackError"]
