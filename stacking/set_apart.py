"""Records to screen set apart from the ranking: those without text, titles alone unlike the labelled records, and
copies of labelled records.

No model can rank a record with neither title nor abstract (`flag_without_text` flags it, counted at the labelled
share); titles without abstracts, where the labelled records nearly all have one, score unlike the records the models
learned from (`titles_unlike_labelled`, said and left out of the label-shift estimate); a copy of a labelled record
has its label known (`known_copies`, `flag_included_copies`). `stacking.decision.screen` applies these in the one
order `stack` and `predict` follow.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .new_records import column_roles

log = logging.getLogger("screenstack")
MIN_SHIFT_RECORDS = 50  # records to screen (with text) needed to estimate their share of included records (`shift_weight`)
UNLIKE_Z = 3.29  # one-sided z (p < 0.0005) of "titles without abstracts are commoner among the records to screen"


def without_text(records: pd.DataFrame | None) -> np.ndarray | None:
    """True for each record to screen with neither title nor abstract; None for a run folder from before records kept it."""
    if records is None or "has_text" not in records.columns:
        return None
    return records["has_text"].astype(str).to_numpy() == "0"


def shift_records(records: pd.DataFrame | None, titles_only: TitlesOnly | None = None) -> np.ndarray | None:
    """True for each record to screen the label shift is estimated from: one with text that repeats no labelled
    record's title and abstract (``copy_label`` empty) and is no title without an abstract unlike the labelled
    records (`titles_only`); None for a run folder from before records kept the text flag.

    A copy's score comes from models that learned its label: one copy of an included training record among 85
    records of an update took its estimated share from 6.7% to 12.7% (a helper's update; a new included record:
    6.6%). The protocol's halves hold 0-2 such copies each (207 among 420 halves)."""
    without = without_text(records)
    if without is None:
        return None
    estimable = ~without
    if titles_only is not None:
        estimable &= ~titles_only.found
    if "copy_label" in records.columns:
        estimable &= records["copy_label"].fillna("").astype(str).to_numpy() == ""
    return estimable


def flag_included_copies(decisions: np.ndarray, probabilities: np.ndarray, known: np.ndarray) -> None:
    """Flag, in place, the copies of included labelled records (`known_copies`, probability 1), whatever their score,
    and say how many the threshold had left out, and how many flagged records are copies of excluded ones.

    Their paper is known to be included, so leaving one out is a sure miss. Copies of excluded records keep the
    threshold's decision: a review may mark a duplicate excluded ("duplicate") whose first copy it included, and
    under F-beta with beta = 7 a needless read costs a 49th of a miss; `copy_label` says they need no second look.
    """
    included = known & (probabilities == 1.0)
    added = int(np.sum(included & (decisions == 0)))
    decisions[included] = 1
    excluded = int(np.sum(known & (probabilities == 0.0) & (decisions == 1)))
    if added:
        log.info("%d copy(ies) of included labelled records flagged (as included), which the threshold had left out", added)
    if included.any():  # helper-143: three known papers at the top read as new finds in "expected relevant among them"
        log.info("%d flagged record(s) copy an included labelled record (ranked.csv's copy_label 1): papers already known "
                 "to be included, counted among the relevant ones expected among the flagged", int(included.sum()))
    if excluded:
        log.info("%d flagged record(s) copy an excluded labelled record (ranked.csv's copy_label 0): no second look needed "
                 "unless the review excluded them as duplicates of an included paper", excluded)


def flag_without_text(decisions: np.ndarray, records: pd.DataFrame | None) -> int:
    """Flag, in place, the records to screen with neither title nor abstract; return how many the threshold had left out.

    No learner can rank a record without text: its score is every such
    record's, and its chance of being included is the review's share, which
    under F-beta with beta = 7 is above the threshold's in any review with
    more than about 2% included records. Over the protocol's 195 halves
    (three datasets hold 10-17 such test records per half) flagging them all
    gained F7 +0.0014 (s.e. 0.0006; full regime +0.0058), lost on no regime
    and lowered no half's recall (bench/README.md, "protocol").
    """
    without = without_text(records)
    if without is None:
        return 0
    added = int(np.sum(without & (decisions == 0)))
    decisions[without] = 1
    say_without_text(int(without.sum()), added)
    return added


@dataclass(frozen=True)
class TitlesOnly:
    """`titles_unlike_labelled`'s finding: the records to screen it found, and the shares it compared."""

    found: np.ndarray       # True per record to screen with a title, no abstract, where the labelled records nearly all have one
    share: float            # of the records to screen with text, those with a title alone
    labelled_share: float   # the same among the labelled records
    text_columns: tuple     # the run's, to name such records (`title_alone_words`); () where not known

    def said(self, flagged: int, shift: dict) -> dict:
        """`flagged`: how many of them the threshold flags; `shift`: the label-shift estimate made without them (none
        below `MIN_SHIFT_RECORDS` records, nor where it says why not: `predict`'s ``not_estimated``)."""
        why_not = shift.get("not_estimated") or (f"fewer than {MIN_SHIFT_RECORDS} other records to screen"
                                                 if int(shift.get("records", 0)) < MIN_SHIFT_RECORDS else "")
        return {"records": int(self.found.sum()), "share": self.share, "labelled_share": self.labelled_share, "flagged": flagged,
                "shift": f"the label shift is not estimated ({why_not})" if why_not else "the label shift is estimated without them",
                "text_columns": list(self.text_columns)}


TITLE_ALONE = {"alone": "a title but no abstract", "one_alone": "a title alone", "both": "titles with abstracts",
               "firsts": "titles", "one_with": "a title with its abstract", "missing": "abstracts", "first": "title"}


def title_alone_words(text_columns=()) -> dict:
    """How the warnings name a record with text in the first of the run's text columns only: a title without an
    abstract, or, where the first column's name says no title (a run of `--text-cols Abstract,Headline`), in the
    run's own names (helper-168: an update lacking Headline was told its records had "a title but no abstract");
    ``first``: the first column's name, for a `--text-cols` to give."""
    columns = [str(c) for c in text_columns or ()]
    if len(columns) < 2 or column_roles(columns[:1]) == ("title",):
        return {**TITLE_ALONE, "first": columns[0] if columns else "title"}
    first, rest = columns[0], ", ".join(columns[1:])
    return {"alone": f"text in {first} but none in {rest}", "one_alone": "such a record",
            "both": f"records with text in {rest} too", "firsts": f"{first} texts", "one_with": f"a record with its {rest}",
            "missing": rest, "first": first}


def titles_unlike_labelled(records: pd.DataFrame | None, labelled_keys: pd.DataFrame | None,
                           text_columns=()) -> TitlesOnly | None:
    """The records to screen with a title but no abstract, where such records are far commoner among them than among
    the labelled records (`labelled_keys`: the fold plan's ``title_key``, ``text_key``, 0 where absent); None for a
    run folder from before records kept ``has_abstract`` or the plan kept the keys. `text_columns`: the run's, to
    name them (`title_alone_words`).

    The learners were fitted on titles with abstracts: a title alone scores
    unlike any record they saw, so neither the threshold nor the calibration
    holds for it, and the label shift estimated from such records reads their
    scores as a richer or a poorer file, not as the texts they are. They are
    left out of that estimate and of the recall check, and said (console,
    summary, report). Over 30 of the protocol's full halves with the test
    half's abstracts blanked (TF-IDF learners, bench/titles_only.py) that
    scored F7 0.774 against 0.767 with them in the estimate (+0.0071 +-
    0.0048) and 0.677 for flagging everything; with the default learners,
    over 18, 0.790 against 0.792 (-0.0015 +- 0.0015): about even, kept for
    what it says and against an estimate that read such records as 82.9%
    included (2% truly) on a helper's update. Their flags stay the
    threshold's, since flagging them all, as records without text are, lost
    0.10 there. Where the labelled records hold titles without abstracts in
    the same share, the learners did learn them (the protocol's halves: 0-21%
    of records on both sides) and nothing changes: the finding needs the share
    among the records to screen more than twice the labelled one and a
    one-sided two-proportion z above `UNLIKE_Z`, which no half of the protocol
    reaches (bench/README.md, "Titles without abstracts").
    """
    counted = _titles_alone(records, labelled_keys)
    if counted is None:
        return None
    title_only, x_screen, n_screen, x_labelled, n_labelled = counted
    unlike = _far_commoner(x_screen, n_screen, x_labelled, n_labelled)
    return TitlesOnly(title_only if unlike else np.zeros(len(records), dtype=bool), x_screen / max(n_screen, 1),
                      x_labelled / max(n_labelled, 1), tuple(str(c) for c in text_columns or ()))


def _titles_alone(records: pd.DataFrame | None, labelled_keys: pd.DataFrame | None):
    """The records to screen with a title but no abstract (a mask), how many, of how many with text; and the same two
    counts of the labelled records (`labelled_keys`: the fold plan's ``title_key``, ``text_key``, 0 where absent).
    None for a run folder from before records kept ``has_abstract`` or the plan kept the keys."""
    if records is None or "has_abstract" not in records.columns or labelled_keys is None:
        return None
    has_text = records["has_text"].astype(str).to_numpy() == "1"
    title_only = has_text & (records["has_abstract"].astype(str).to_numpy() == "0")
    keys = labelled_keys[["title_key", "text_key"]].to_numpy(dtype=np.uint64)
    x_labelled, n_labelled = int(((keys[:, 0] != 0) & (keys[:, 1] == 0)).sum()), int((keys != 0).any(axis=1).sum())
    return title_only, int(title_only.sum()), int(has_text.sum()), x_labelled, n_labelled


def _far_commoner(x: int, n: int, x_other: int, n_other: int) -> bool:
    """Whether `x` of `n` is a share more than twice `x_other` of `n_other`, above it by a one-sided two-proportion z
    over `UNLIKE_Z`."""
    share, other = x / max(n, 1), x_other / max(n_other, 1)
    pooled = (x + x_other) / max(n + n_other, 1)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / max(n, 1) + 1 / max(n_other, 1)))
    return x > 0 and spread > 0 and share > 2 * other and (share - other) / spread > UNLIKE_Z


def included_without_abstracts(labelled_keys: pd.DataFrame | None, labels: np.ndarray) -> dict:
    """The included training records without an abstract (``text_key`` 0: a title alone, or no text), where they are
    far commoner than among the excluded ones (`_far_commoner`); {} where they are not, or the plan keeps no keys.

    Records added by hand (citation searching, a title typed in) often come without an abstract, and only among the
    included ones: the learners then take a missing abstract for a sign of inclusion, and the honest estimate with
    them. In the six shared reviews it is the other way round (included records have an abstract more often: 0-10%
    lack one, against 0.2-21% of the excluded ones), so this fires on none of them."""
    if labelled_keys is None:
        return {}
    lacking, included = labelled_keys["text_key"].to_numpy(dtype=np.uint64) == 0, np.asarray(labels) == 1
    x, n, x_other, n_other = int((lacking & included).sum()), int(included.sum()), int((lacking & ~included).sum()), int((~included).sum())
    if x < 2 or not _far_commoner(x, n, x_other, n_other):  # one record is no pattern a learner could take up
        return {}
    return {"records": x, "included": n, "share": x / n, "excluded_share": x_other / max(n_other, 1)}


def abstracts_unlike_labelled(records: pd.DataFrame | None, labelled_keys: pd.DataFrame | None, text_columns=()) -> dict:
    """Where most labelled records are titles without abstracts, far more often than the records to screen
    (`_far_commoner`), the counts and the two shares; {} where they are not, or a run folder from before records kept
    ``has_abstract`` or the plan kept the keys. (Where most have one the learners learnt both kinds: bannach_brown_2019
    lacks 20% of its abstracts, and an update with every one is no stranger to them.)

    `titles_unlike_labelled` the other way round: learners fitted on titles
    alone (an export whose labelled part lost its abstracts) score a title
    with its abstract unlike any record they saw, so the honest estimate,
    the threshold and the probabilities, all made on titles, may not hold
    for the records to screen. A helper's run with every labelled abstract
    empty flagged 50 of 150 records to screen where the same file with its
    abstracts flagged 140, and said nothing. Said, not acted on: the records
    to screen cannot be scored on their titles alone without another run
    (`--text-cols title`)."""
    counted = _titles_alone(records, labelled_keys)
    if counted is None:
        return {}
    _, x_screen, n_screen, x_labelled, n_labelled = counted
    if x_labelled * 2 <= n_labelled or not _far_commoner(x_labelled, n_labelled, x_screen, n_screen):
        return {}
    return {"records": x_labelled, "share": x_labelled / max(n_labelled, 1), "screen_share": x_screen / max(n_screen, 1),
            "text_columns": [str(c) for c in text_columns or ()]}


ABSTRACTS_UNLIKE_LABELLED_WARNING = ("{records} labelled record(s) have {alone} ({share:.1%} of those with "
                                     "text, against {screen_share:.1%} of the records to screen): the learners were fitted "
                                     "on {firsts} alone there and score {one_with} unlike any record they saw, "
                                     "so the honest estimate, the threshold and the probabilities may not hold for the "
                                     "records to screen. Give the labelled records' {missing} (an export with {missing}) "
                                     "and run again, or run again with --text-cols {first} to screen every record on its "
                                     "{firsts} alone")


INCLUDED_WITHOUT_ABSTRACTS_WARNING = ("{records} of the {included} included training records have no abstract ({share:.0%}, "
                                      "against {excluded_share:.0%} of the excluded ones): the learners may take a missing "
                                      "abstract for a sign of inclusion, and the honest estimate with them. Give their "
                                      "abstracts (records added by hand, with a title alone?), or leave them out of the "
                                      "labelled records")


def unranked_records(records: pd.DataFrame | None, titles_only: TitlesOnly | None) -> np.ndarray | None:
    """True for each record to screen whose score says nothing of the labelled records' kind: no text, or a title
    alone unlike the labelled records (`titles_unlike_labelled`); None where neither is known."""
    without = without_text(records)
    if without is None or titles_only is None:
        return without
    return without | titles_only.found


def say_titles_only(decisions: np.ndarray, titles_only: TitlesOnly | None, shift: dict) -> dict:
    """`TitlesOnly.said` with how many of `titles_unlike_labelled`'s records the threshold flags and whether `shift`
    was estimated without them ({} where there are none), and the console's line for it (`log_titles_only`)."""
    if titles_only is None or not titles_only.found.any():
        return {}
    said = titles_only.said(int(np.sum(decisions[titles_only.found] == 1)), shift)
    log_titles_only(said)
    return said


def log_titles_only(said: dict) -> None:
    """The console's line for `say_titles_only` (the warning, in the summary and the report, says why and what to do)."""
    if said:
        log.info("%d record(s) to screen have %s, unlike the labelled records: %d of them flagged; %s", said["records"],
                 title_alone_words(said.get("text_columns"))["alone"], said["flagged"], said.get("shift", "the label shift is estimated without them"))


TITLES_ONLY_WARNING = ("{records} record(s) to screen have {alone} ({share:.1%} of those with text, "
                       "against {labelled_share:.1%} of the labelled ones), {flagged} of them flagged: the learners were "
                       "fitted on {both}, so for {one_alone} the honest estimate and the probabilities "
                       "may not hold, and {shift}. Give their {missing} (an export with {missing}), or label some of them "
                       "and run again, to have them judged as the others")


def said_of_titles(template: str, said: dict) -> str:
    """`template` (`TITLES_ONLY_WARNING`, `ABSTRACTS_UNLIKE_LABELLED_WARNING`) filled from `said`, its records named
    in the words of its ``text_columns`` (`title_alone_words`; a summary from before they were kept: a title's and an
    abstract's)."""
    return template.format(**said, **title_alone_words(said.get("text_columns")))


def at_labelled_share(probabilities: np.ndarray, without: np.ndarray | None, share: float) -> np.ndarray:
    """`probabilities` with each record to screen that has neither title nor abstract at `share`, the labelled
    records' share of included ones: no model can rank it, and its calibrated probability would be that of the empty
    text's score, no judgement of the record (0.4% against a 2.4% share in `make demo`), undercounting what is
    expected among the flagged."""
    if without is not None and without.any():
        probabilities = probabilities.copy()
        probabilities[without] = share
    return probabilities


def known_copies(probabilities: np.ndarray, records: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """`probabilities` with each copy of a labelled record (``copy_label`` "1" or "0": the same title and abstract
    under another id) at its label: the paper's decision is known, and counted as a calibrated chance (0.57 in a
    helper's update) it left the expected included records short of the copies of included ones alone; and which
    records those are."""
    if records is None or "copy_label" not in records.columns:
        return probabilities, np.zeros(len(probabilities), dtype=bool)
    label = records["copy_label"].fillna("").astype(str).to_numpy()
    known = (label == "1") | (label == "0")
    if known.any():
        probabilities = probabilities.copy()
        probabilities[known] = (label[known] == "1").astype(float)
    return probabilities, known


def say_without_text(n_without: int, added: int) -> None:
    if n_without:
        log.info("%d record(s) to screen have neither title nor abstract: all flagged, since no model can rank them "
                 "(%d of them scored below the threshold)", n_without, added)
