"""What an error shows a person or a log, for tests that a secret shows nowhere."""

from __future__ import annotations

from shared.db.logins import exception_chain


def everything_shown(err: BaseException) -> str:
    """The str, repr and args of ``err`` and of every exception along its chain: causes, and
    contexts even where ``raise ... from None`` hides them from a printed traceback (a reporter
    may still read them), and the driver errors SQLAlchemy's errors wrap."""
    parts: list[str] = []
    for e in exception_chain(err):
        parts += [str(e), repr(e), repr(e.args), repr(getattr(e, "__notes__", None))]
    return "\n".join(parts)
