"""``make stack`` / ``python -m laptop``: run the whole chain until Ctrl-C (or ``--duration``),
printing a terminal view every few seconds; the chat stand-in's page shows what arrives."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from laptop.monitoring import ToolMissing
from laptop.stack import Stack


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make stack", description=__doc__)
    ap.add_argument("--workdir", type=Path, default=Path("data/stack"))
    ap.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    ap.add_argument("--rate", type=float, default=4.0, help="demo swaps per second")
    args = ap.parse_args(argv)
    # powertools warns on each invocation that publishes no metric of its own
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out = sys.stdout
    print("starting the laptop stack (anvil, node, moto, Prometheus, Alertmanager)…", flush=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    functions_log = args.workdir / "functions.log"
    # The functions print JSON logs and EMF metrics on stdout, as in Lambda: into a file here,
    # so that the terminal shows the view.
    with functions_log.open("a") as log, contextlib.redirect_stdout(log):
        try:
            with Stack(args.workdir, traffic_rate=args.rate) as stack:
                print(intro(stack) + f"  functions' logs: {functions_log}\n", file=out, flush=True)
                started = time.monotonic()
                while not stop.wait(3.0):
                    print(view(stack), file=out, flush=True)
                    if args.duration is not None and time.monotonic() - started >= args.duration:
                        break
                print("stopping…", file=out, flush=True)
        except ToolMissing as err:
            print(f"make stack: {err}", file=sys.stderr)
            return 2
        except (OSError, RuntimeError, TimeoutError) as err:
            # a part did not start (anvil, a port, Prometheus refusing its configuration):
            # everything started is stopped already; say what, where the logs are
            print(f"make stack: {err}\n(logs under {args.workdir})", file=sys.stderr)
            return 1
    return 0


def intro(stack: Stack) -> str:
    from laptop.view import intro_text

    return intro_text(stack)


def view(stack: Stack) -> str:
    from laptop.view import status_text

    return status_text(stack)


if __name__ == "__main__":
    sys.exit(main())
