"""Backup ids: what is one, and what only looks like one."""

from __future__ import annotations

import pytest

from functions.backup.layout import id_time, is_backup_id


def test_a_backup_id() -> None:
    assert is_backup_id("20250101T000000Z-abcdef")
    assert id_time("20250101T000000Z-abcdef").year == 2025


@pytest.mark.parametrize(
    "text",
    ["20250101T000000Z-abcdef\n", "20250101T000000Z-abcdeff", "x20250101T000000Z-abcdef", ""],
)
def test_what_only_looks_like_one(text: str) -> None:
    assert not is_backup_id(text)
    with pytest.raises(ValueError, match="not a backup id"):
        id_time(text)
