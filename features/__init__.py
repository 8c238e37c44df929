"""The feature store, in two halves that share only `errors` and `checks`:

- `features.records`, reading records: `tables` (CSV, TSV, XLSX and RIS files
  into frames of strings), `corpus` (those frames into one `Corpus`), `datasets` (the open review datasets and their checksums),
  `split` (train/test files from one labelled file), `tfidf` (text features);
- `features.artifacts`, the artifact store: `runfolder` (every path in
  ``--out``, the lock, staged sets with manifests), `sets` (moving a staged
  set into ``--out``, removing the sets made from its previous version), `atomic` (atomic,
  umask-respecting writes; OS errors as one line), `folds` (the one fold plan)
  and `crossfit` (the one loop over it), `outputs` (learner scores), `store`
  (feature files of vectors), `records` (the records to screen, with their
  input file's columns).

Records never import the store, except `atomic`'s safe writes and the run
folder's names of files an OS leaves and its `first_names` (`split`). `features` is
the most upstream package: it imports none of the other stages, and every
other stage builds on it.
"""
from .errors import ScreenstackError

__all__ = ["ScreenstackError"]
