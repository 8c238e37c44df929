"""`atomic_path`: a file is written whole or not at all, and a failed write leaves the folder as it was."""
from __future__ import annotations

import errno

import pytest

from screenstack.features.artifacts.atomic import atomic_path
from screenstack.features.errors import ScreenstackError


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary_one(tmp_path):
    # helper-179's mutation: with the temporary file no longer removed, a full disk left a hidden partial
    # `.submission.csv.*.tmp` in OUT, and no test failed (the split test filtered out dot-files).
    target = tmp_path / "submission.csv"
    target.write_text("1,1\n")
    with pytest.raises(ScreenstackError) as refused:
        with atomic_path(target) as tmp:
            tmp.write_text("1,0\n2,")
            raise OSError(errno.ENOSPC, "No space left on device")
    message = str(refused.value)
    assert str(target) in message and "the disk is full" in message and "\n" not in message
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"] and target.read_text() == "1,1\n"


def test_a_write_stopped_by_ctrl_c_leaves_no_temporary_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "ranked.csv") as tmp:
            tmp.write_text("id,score\n")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_finished_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("{}")
    with atomic_path(target) as tmp:
        tmp.write_text('{"threshold": 0.4}')
        assert target.read_text() == "{}", "the old file stays until the new one is whole"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"] and target.read_text() == '{"threshold": 0.4}'
