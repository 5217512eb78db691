"""Logger, Metrics and Tracer (aws-lambda-powertools) for one function.

Each handler module builds its set once at import::

    obs = for_function("backup")
    logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer

- Logger writes JSON lines; ``@logger.inject_lambda_context`` adds the request id and cold
  start to every line. The cores log through the standard ``logging`` module under the
  ``functions`` and ``shared`` loggers (``logging.getLogger(__name__)``); at each call that
  decorator also points those loggers at the running function's handler, so their lines carry
  the request id too and are JSON as well. Importing a handler module changes no logging
  configuration: a process importing several (the tests, the laptop stack's scheduler, the
  CLI) keeps its own until a handler runs.
- Metrics are CloudWatch EMF in namespace ``EdgeOps`` with the ``service`` dimension (and
  ``environment`` when given, or set in ``EDGE_OPS_ENVIRONMENT``: the Pulumi program sets it
  to the stack, and its alarms read it, so two stacks in one account keep their metrics
  apart); ``@metrics.log_metrics`` flushes them at the end of the call.
- Tracer sends X-Ray segments in Lambda (AWS calls only) and switches itself off elsewhere
  (tests, the CLI).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.common.aws import before_first_client

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "EdgeOps"
ENVIRONMENT_VARIABLE = "EDGE_OPS_ENVIRONMENT"  # functions/common/settings.py: the deployment
# The loggers of our own code, which get the function's JSON handler.
CORE_LOGGERS = ("functions", "shared")
_MARK = "_edge_ops_handler"
TRACED_MODULES = ("botocore",)


@dataclass(frozen=True, slots=True)
class Observability:
    service: str
    logger: Logger
    metrics: Metrics
    tracer: Tracer


def for_function(service: str, environment: str | None = None) -> Observability:
    from aws_lambda_powertools import Logger, Metrics, Tracer

    logger = Logger(service=service, utc=True, stream=_CurrentStdout())  # type: ignore[arg-type]
    metrics = Metrics(namespace=NAMESPACE, service=service)
    environment = environment or os.environ.get(ENVIRONMENT_VARIABLE) or None
    if environment:
        metrics.set_default_dimensions(environment=environment)
    # Only AWS calls are traced, and botocore is patched when the first client is created
    # (functions.common.aws), not here: patching imports botocore, which is most of a cold
    # start. Tracer's default patches every library X-Ray knows, importing SQLAlchemy's ORM
    # and more at import, and would add a subsegment per SQL statement of a backup or prune.
    tracer = Tracer(service=service, auto_patch=False)
    before_first_client(lambda: tracer.patch(TRACED_MODULES))
    _route_core_logs_per_call(logger)
    return Observability(service, logger, metrics, tracer)


def _route_core_logs_per_call(logger: Logger) -> None:
    """Make ``@logger.inject_lambda_context`` also point the core loggers at this function's
    handler at every call (and never at import): a process that imports several handlers (the
    tests, the laptop stack's scheduler) then logs each call's core lines under the function
    that is running, with its request id."""
    inject = logger.inject_lambda_context

    def inject_and_route(lambda_handler: Any = None, **options: Any) -> Any:
        if lambda_handler is None:  # used as @logger.inject_lambda_context(log_event=...)
            return functools.partial(inject_and_route, **options)
        decorated = inject(lambda_handler, **options)

        @functools.wraps(lambda_handler)
        def run(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            _share_handler(logger)
            return decorated(event, context, *args, **kwargs)

        return run

    logger.inject_lambda_context = inject_and_route  # type: ignore[method-assign,assignment]


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time of writing, not at import (a handler
    module is imported once; tests capture stdout per test, as EMF metrics are printed)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _share_handler(logger: Logger) -> None:
    """Route the core loggers through the function's JSON handler (replacing one installed by
    an earlier call of another function, so a process running several logs each line once)."""
    handler = logger.registered_handler
    for name in CORE_LOGGERS:
        core = logging.getLogger(name)
        for old in [h for h in core.handlers if getattr(h, _MARK, False)]:
            core.removeHandler(old)
        setattr(handler, _MARK, True)
        core.addHandler(handler)
        core.setLevel(logger.log_level)
        # Lambda's runtime puts its own plain-text handler on the root logger: there, lines
        # would be written twice. Elsewhere (tests, the CLI) they still reach the root logger.
        core.propagate = not in_lambda()


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
