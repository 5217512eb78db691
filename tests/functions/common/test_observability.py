"""The handler pattern every function follows, end to end: a recorded event and a fake context
through powertools' decorators; logs carry the request id, metrics come out as EMF."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SNSEvent, event_source

from functions.common.observability import NAMESPACE, for_function
from tests.functions.events import (
    FakeLambdaContext,
    emf_metrics,
    json_lines,
    load_event,
    scheduled_event,
    sns_event,
)

obs = for_function("foundation-test", environment="test")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer
core_log = logging.getLogger("functions.example.core")


def core(fired_at: str) -> dict[str, Any]:
    core_log.info("core ran", extra={"fired_at": fired_at})
    return {"fired_at": fired_at}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    result = core(event.time)
    metrics.add_metric(name="ExampleRuns", unit=MetricUnit.Count, value=1)
    return result


def test_a_scheduled_event_through_the_decorated_handler(
    capsys: pytest.CaptureFixture[str], lambda_context: FakeLambdaContext
) -> None:
    # powertools' Metrics share default dimensions in a process: a handler imported by an
    # earlier test (the laptop's, with its own environment) may have set them since import
    metrics.set_default_dimensions(environment="test")
    event = scheduled_event(time="2026-12-01T02:00:00Z", rule="edge-ops-backup-daily")
    assert handler(event, lambda_context) == {"fired_at": "2026-12-01T02:00:00Z"}
    out = capsys.readouterr().out
    lines = json_lines(out)
    core_line = next(line for line in lines if line.get("message") == "core ran")
    assert core_line["function_request_id"] == lambda_context.aws_request_id
    assert core_line["service"] == "foundation-test"
    assert core_line["fired_at"] == "2026-12-01T02:00:00Z"
    assert emf_metrics(out)["ExampleRuns"] == [1.0]
    record = next(line for line in lines if "_aws" in line)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == NAMESPACE
    assert record["service"] == "foundation-test" and record["environment"] == "test"


def test_recorded_events_parse_with_powertools_data_classes() -> None:
    scheduled = EventBridgeEvent(load_event("eventbridge_scheduled"))
    assert scheduled.detail_type == "Scheduled Event"
    assert scheduled.source == "aws.events"
    assert scheduled.resources[0].endswith("rule/edge-ops-backup-daily")

    alarm = SNSEvent(load_event("sns_cloudwatch_alarm"))
    record = next(iter(alarm.records))
    assert record.sns.get_type == "Notification"
    message = record.sns.message
    assert '"NewStateValue":"ALARM"' in message

    plain = SNSEvent(sns_event("not json at all", subject=None))
    assert next(iter(plain.records)).sns.message == "not json at all"

    change = EventBridgeEvent(load_event("eventbridge_alarm_state_change"))
    assert change.detail["state"]["value"] == "ALARM"
    with pytest.raises(FileNotFoundError, match="no recorded event 'nope'"):
        load_event("nope")


TRACED_IN_LAMBDA = """
import sys
from functions.common.observability import for_function
from functions.common.aws import AwsClients
obs = for_function("trace-probe")
assert "botocore.client" not in sys.modules, "botocore.client imported at handler import"
AwsClients().s3  # the first client patches botocore for X-Ray
from botocore.client import BaseClient
import sqlalchemy  # noqa: F401 (installed, and still not patched: only AWS calls are traced)
sqlalchemy_patched = "aws_xray_sdk.ext.sqlalchemy_core.patch" in sys.modules
print(hasattr(BaseClient._make_api_call, "__wrapped__"), sqlalchemy_patched)
"""


def test_in_lambda_only_aws_calls_are_traced_and_botocore_waits_for_the_first_client() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_ENDPOINT"))}
    env.update({"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "trace-probe"})
    done = subprocess.run(
        [sys.executable, "-c", TRACED_IN_LAMBDA],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


def test_hooks_run_once_before_the_first_client(aws: Any) -> None:
    from functions.common import aws as aws_module

    ran: list[int] = []
    aws_module.before_first_client(lambda: ran.append(1))
    aws_module.make_client("s3")
    aws_module.make_client("ssm")
    assert ran == [1]


def test_the_stack_from_the_environment_is_a_dimension(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # infra/alarms.py reads {service, environment}: without the variable two stacks in one
    # account would publish into each other's alarms
    monkeypatch.setenv("EDGE_OPS_ENVIRONMENT", "edge-prod")
    mine = for_function("env-probe").metrics
    try:
        mine.add_metric(name="Runs", unit=MetricUnit.Count, value=1)
        mine.flush_metrics()
    finally:  # powertools shares default dimensions between instances: put this module's back
        metrics.set_default_dimensions(environment="test")
    record = next(line for line in json_lines(capsys.readouterr().out) if "_aws" in line)
    assert record["environment"] == "edge-prod"
    assert ["service", "environment"] in [
        sorted(d, reverse=True) for d in record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    ]


def test_core_lines_follow_the_function_that_runs_when_several_are_imported(
    capsys: pytest.CaptureFixture[str], lambda_context: FakeLambdaContext
) -> None:
    """Importing another function's handler after this one (as a scheduler running several
    in one process does) must not take this one's core log lines."""
    import logging

    from functions.common.observability import for_function

    first, second = for_function("first-fn"), for_function("second-fn")

    @first.logger.inject_lambda_context
    def run_first(event: dict[str, object], context: object) -> None:
        logging.getLogger("functions.example").info("core of the first")

    @second.logger.inject_lambda_context(clear_state=True)
    def run_second(event: dict[str, object], context: object) -> None:
        logging.getLogger("functions.example").info("core of the second")

    run_first({}, lambda_context)
    run_second({}, lambda_context)
    run_first({}, lambda_context)
    lines = [line for line in json_lines(capsys.readouterr().out) if "core of" in line["message"]]
    assert [(line["message"], line["service"]) for line in lines] == [
        ("core of the first", "first-fn"),
        ("core of the second", "second-fn"),
        ("core of the first", "first-fn"),
    ]
    assert all(line["function_request_id"] == lambda_context.aws_request_id for line in lines)


IMPORT_TWO_HANDLERS = """
import logging
import sys

from functions.common.observability import CORE_LOGGERS
from tests.functions.events import FakeLambdaContext

def state():
    return {
        name or "root": (list(lg.handlers), lg.level, lg.propagate)
        for name in (*CORE_LOGGERS, "")
        for lg in [logging.getLogger(name)]
    }

before = state()
import functions.prune.handler as prune
import functions.report.handler as report
assert state() == before, f"importing handlers changed the logging: {before} -> {state()}"
print("imports-clean", file=sys.stderr)

def call(module, message):
    @module.logger.inject_lambda_context
    def run(event, context):
        logging.getLogger("functions.example.core").info(message)
        logging.getLogger("shared.example").info(message + " (shared)")
    run({}, FakeLambdaContext())

call(prune, "during prune")
call(report, "during report")
call(prune, "prune again")
"""


def test_importing_handlers_changes_no_logging_and_each_call_routes_to_its_function() -> None:
    """A process importing several handlers (the laptop's scheduler, the tests) keeps its logging
    as it was; while a handler runs, the core lines go to that function's JSON handler."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_TWO_HANDLERS],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "imports-clean" in done.stderr
    lines = [line for line in json_lines(done.stdout) if "message" in line]
    assert [(line["message"], line["service"]) for line in lines] == [
        ("during prune", "prune"),
        ("during prune (shared)", "prune"),
        ("during report", "report"),
        ("during report (shared)", "report"),
        ("prune again", "prune"),
        ("prune again (shared)", "prune"),
    ]
    assert all(line["function_request_id"] for line in lines)
