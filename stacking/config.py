"""`StackConfig`: how `stack` blends and thresholds, in a module light enough for the command line's `--help`.

`stacking.stack` and `stacking.blend` load pandas and scikit-learn; this one
loads neither, so `screenstack stack --help` shows these defaults and names
without them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..features.artifacts import sets
from ..features.artifacts.atomic import read_json
from ..features.errors import ScreenstackError, quoted
from ..features.checks import check_choice, check_names, check_number, check_positive_number, check_seed
from .threshold import RULES

MAX_BETA = 1000.0  # F-beta's beta, at most: its square, 10^6, still leaves every count's F-beta finite
MIN_BETA = 0.001  # and at least: below it beta^2 vanishes beside 1 and F-beta is precision alone (1e-320 was printed F9.99989e-321)

# The blenders `stacking.blend.BLENDERS` registers, by name (tests/test_cli_startup.py checks the two agree).
BLEND_NAMES = ("logistic", "rank-average", "caruana")


def _number(value: float) -> str:
    """`value` as short as it reads back exactly (7, not 7.0; 0.123456789 whole, not 0.123457)."""
    return f"{value:g}" if float(f"{value:g}") == value else repr(value)


# Each field's flag (`screenstack stack`'s, and `run`'s).
FLAGS = {"beta": "--beta", "blend": "--blend", "threshold_rule": "--threshold-rule", "learners": "--learners", "seed": "--seed",
         "prior_positives": "--recall-prior", "min_recall": "--min-recall", "max_shift": "--max-shift"}


@dataclass(frozen=True)
class StackConfig:
    """How learners are blended and the threshold chosen."""

    beta: float = 7.0
    blend: str = "auto"                 # a name in BLEND_NAMES, or "auto": see `stacking.stack.auto_blend`
    threshold_rule: str = "bootstrap"   # see stacking.threshold.RULES
    learners: tuple[str, ...] = ()      # empty: every learner in OUT
    seed: int = 0
    prior_positives: float = 0.35       # included records assumed ranked at chance (stacking.threshold.choose_threshold)
    min_recall: float = 0.95            # the recall floor (stacking.threshold.recall_floor); 0: F-beta alone
    max_shift: float = 20.0             # the most the threshold corrects for records to screen richer in included
                                        # records than the labelled ones (stacking.decision.shift_weight); 1: no correction

    def flags(self) -> str:
        """The command-line flags that make this config (those whose value is not the default), as `stack`'s manifest
        records them: a damaged stack is made again with the options it was made with (`sets.stack_command`)."""
        import shlex
        from dataclasses import fields

        said = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value != field.default:
                shown = ",".join(value) if isinstance(value, tuple) else _number(value) if isinstance(value, float) else str(value)
                said.append(f"{FLAGS[field.name]} {shlex.quote(shown)}")
        return " ".join(said)

    @classmethod
    def saved(cls, config: dict) -> "StackConfig":
        """The options a summary.json's ``config`` holds (keys another version kept and this one lacks left out);
        raises `ScreenstackError`, `TypeError` or `ValueError` where a value is not one (`fitted_run`, `recorded_flags`)."""
        return cls(**{k: tuple(v) if k == "learners" else v for k, v in config.items() if k in cls.__dataclass_fields__})

    def __post_init__(self):
        # Learner names are checked against OUT by `stack` (fine-tuned learners are named after their model).
        check_positive_number("beta", self.beta)
        if self.beta > MAX_BETA:  # beta^2 weighs the included records: beyond this F-beta is recall alone, and floats overflow
            raise ScreenstackError(f"--beta {self.beta!r}: expected at most {MAX_BETA:g} (7 already weighs recall 49 times precision).")
        if self.beta < MIN_BETA:
            raise ScreenstackError(f"--beta {self.beta!r}: expected at least {MIN_BETA:g} (beta 0.1 already weighs precision 100 "
                                   "times recall).")
        check_choice("blend", self.blend, ("auto", *BLEND_NAMES))
        check_choice("threshold-rule", self.threshold_rule, RULES)
        check_names("learners", self.learners, allow_empty=True)
        check_seed(self.seed)
        check_number("recall-prior", self.prior_positives, 0, 100)
        check_number("min-recall", self.min_recall, 0, 1)
        check_number("max-shift", self.max_shift, 1, 1000)


def stack_flags(names, config: StackConfig) -> str:
    """`config`'s flags as the stack's manifest records them: the learners blended, by name, whether --learners named
    them or left them out (every one in OUT), so `stack` alone repeats what `run` made, and a learner fitted into OUT
    later is not blended by following them."""
    return replace(config, learners=tuple(sorted(names))).flags()


def recorded_flags(out: str | Path, names) -> str | None:
    """The flags OUT's stack was made with (`sets.stack_flags`), or, for a stack made before 0.3.33, whose manifest and
    summary record none, those of its summary.json's config (its learners, or `names` where it blended every one there);
    None where neither can be read (helper-148, 150: a `stack --beta 5` of 0.3.25 was replaced without a word, and the
    commands said to remake it gave beta 7)."""
    flags = sets.stack_flags(Path(out))
    if flags is not None:
        return flags
    try:
        saved = read_json(Path(out) / "summary.json")["config"]
        made = StackConfig.saved(saved)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ScreenstackError):
        return None
    return stack_flags(list(made.learners) or names, made)


def stack_command(out: str | Path, names) -> str:
    """`sets.stack_command` with `recorded_flags`: a stack made before 0.3.33 is made again with its summary's options."""
    flags = recorded_flags(out, names)
    if flags is None:  # not known: the command with a word on them
        return sets.stack_command(Path(out))
    return f"`screenstack stack --out {quoted(out)}{' ' + flags if flags else ''}`"
