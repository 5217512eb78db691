"""The shared CLI behaviour, in-process: exit codes, one-line errors, JSON, progress."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import click
import pytest

from functions.cli.output import emit, json_option, progress, run, to_jsonable
from functions.common.errors import BadInput, Corrupt, CredentialsRefused, Unavailable


def _group(exc: BaseException | None) -> click.Group:
    @click.group()
    def cli() -> None:
        pass

    @cli.command()
    @json_option
    def work(as_json: bool) -> None:
        if exc is not None:
            raise exc
        emit({"done": 3}, as_json)

    return cli


def _run(exc: BaseException | None, *args: str) -> int:
    with pytest.raises(SystemExit) as done:
        run(_group(exc), ["work", *args])
    return int(done.value.code or 0)


@pytest.mark.parametrize(
    ("exc", "code", "kind"),
    [
        (BadInput("no such backup 'x'"), 2, "bad_input"),
        (Unavailable("S3 is down"), 1, "unavailable"),
        (CredentialsRefused("refused again"), 1, "credentials_refused"),
        (Corrupt("checksum of swaps differs"), 1, "corrupt"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (RuntimeError("boom\nsecond line"), 1, "internal"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(
    capsys: pytest.CaptureFixture[str], exc: BaseException, code: int, kind: str
) -> None:
    assert _run(exc) == code
    out, err = capsys.readouterr()
    assert out == ""
    err = err.lstrip("\n")  # click ends the ^C line first
    assert err.startswith("edge-ops: error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert _run(exc, "--json") == code
    out, _ = capsys.readouterr()
    answer = json.loads(out)
    assert answer["ok"] is False and answer["error"]["kind"] == kind
    assert answer["error"]["message"] == err.removeprefix("edge-ops: error: ").strip()


def test_an_unexpected_error_shows_its_traceback_only_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run(RuntimeError("boom")) == 1
    assert "unexpected RuntimeError: boom" in capsys.readouterr().err
    monkeypatch.setenv("EDGE_OPS_DEBUG", "1")
    assert _run(RuntimeError("boom")) == 1
    assert "Traceback" in capsys.readouterr().err


def test_success_exits_zero_with_json_or_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(None) == 0
    assert capsys.readouterr().out == "done: 3\n"
    assert _run(None, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"done": 3}


def test_to_jsonable_handles_what_cores_return() -> None:
    @dataclass
    class Row:
        at: datetime
        amount: Decimal
        path: Path

    value = to_jsonable(
        {"rows": [Row(datetime(2026, 12, 1, tzinfo=UTC), Decimal("1.5"), Path("/x"))]}
    )
    assert value == {"rows": [{"at": "2026-12-01T00:00:00+00:00", "amount": "1.5", "path": "/x"}]}


def test_progress_counts_without_a_terminal() -> None:
    with progress("backing up", total=10) as bar:
        for _ in range(4):
            bar.advance()
        bar.advance(3)
    assert bar.done == 7
