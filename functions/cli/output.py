"""What every ``edge-ops`` command shares: ``--json``, progress, errors and exit codes.

- ``--json`` (``json_option``): the command prints exactly one JSON object on stdout, for
  scripts; without it, lines for a person. Progress and errors go to stderr either way, so
  stdout stays parseable.
- ``progress(label, total)``: a progress bar on stderr while long work runs (shown only on a
  terminal; the cores take its ``advance`` as their progress callback).
- ``run(cli)``: exit 0 only on success; ``BadInput`` and usage errors exit 2, every other
  failure 1, an interrupt 130; each with one line ``edge-ops: error: ...`` and no traceback
  (``EDGE_OPS_DEBUG=1`` shows it for an unexpected error). With ``--json`` the error is also
  printed on stdout as ``{"ok": false, "error": {"kind": ..., "message": ...}}``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from functions.common.errors import OpsError

PROG = "edge-ops"
EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

F = TypeVar("F", bound=Callable[..., Any])


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object on stdout (for scripts)."
    )(f)


def to_jsonable(value: Any) -> Any:
    """JSON-ready form of what cores return (dataclasses, dates, decimals, paths, enums)."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    return value


def emit(data: Any, as_json: bool, human: str | Callable[[], str] | None = None) -> None:
    """Print a command's result: JSON for scripts, or ``human`` (default: key: value lines)."""
    if as_json:
        click.echo(json.dumps(to_jsonable(data), ensure_ascii=False))
        return
    if human is None:
        plain = to_jsonable(data)
        if isinstance(plain, dict):
            text = "\n".join(f"{k}: {_plain(v)}" for k, v in plain.items())
        else:
            text = _plain(plain)
    else:
        text = human() if callable(human) else human
    click.echo(text)


def _plain(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "-" if value is None else str(value)


class Progress:
    """Progress of long work, on stderr; ``advance(n)`` is the cores' progress callback."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)


@contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Progress]:
    """A bar when stderr is a terminal (click draws it; a pipe or a log gets nothing)."""
    if not sys.stderr.isatty():
        yield Progress(None)
        return
    bar: Any = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
    with bar:
        yield Progress(bar)


def fail(message: str, kind: str, code: int, as_json: bool) -> NoReturn:
    click.echo(f"{PROG}: error: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"kind": kind, "message": message}}))
    sys.exit(code)


def run(cli: click.Command, argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and exit with our codes; no traceback for anything an operator can cause."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    try:
        rv = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C at a prompt, or KeyboardInterrupt inside click
        fail("interrupted", "interrupted", EXIT_INTERRUPTED, as_json)
    except KeyboardInterrupt:
        fail("interrupted", "interrupted", EXIT_INTERRUPTED, as_json)
    except click.ClickException as err:  # usage errors: click's own two lines, exit 2
        err.show()
        if as_json:
            click.echo(
                json.dumps(
                    {"ok": False, "error": {"kind": "usage", "message": err.format_message()}}
                )
            )
        sys.exit(err.exit_code)
    except OpsError as err:
        fail(_one_line(str(err)), err.kind, err.exit_code, as_json)
    except Exception as err:
        if os.environ.get("EDGE_OPS_DEBUG"):
            traceback.print_exc()
        fail(
            f"unexpected {type(err).__name__}: {_one_line(str(err))} "
            "(a bug: run again with EDGE_OPS_DEBUG=1 for the traceback and report it)",
            "internal",
            EXIT_FAILURE,
            as_json,
        )
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"
