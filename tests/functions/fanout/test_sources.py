"""Parsers against recorded real payloads: every source into the one alert shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.fanout.alert import Severity, State, UnknownSeverity, parse_severity
from functions.fanout.sources import UnreadableAlert, parse_event, parse_sns_record
from functions.fanout.sources_cloudwatch import parse_time
from tests.functions.fanout.recorded import recorded


def test_cloudwatch_alarm_through_sns() -> None:
    [alert] = parse_event(recorded("sns_cloudwatch_alarm"))
    assert alert.source == "cloudwatch"
    assert alert.name == "edge-prod-NodeDown"
    assert alert.state is State.FIRING
    assert alert.severity is Severity.CRITICAL  # from "severity: critical" in the description
    assert alert.runbook == "node-down"
    assert alert.resource == "Node=edge-1"
    assert alert.value == "0.0"
    assert alert.threshold == "HealthzOk < 1"
    assert alert.changed_at == datetime(2026, 12, 2, 2, 59, 12, 334000, tzinfo=UTC)
    assert alert.summary.startswith("The edge node's public /healthz has failed")
    assert "severity:" not in alert.summary
    assert alert.links[0].url.startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/")


def test_ok_resolves_the_same_incident() -> None:
    [firing] = parse_event(recorded("sns_cloudwatch_alarm"))
    [ok] = parse_event(recorded("sns_cloudwatch_ok"))
    assert ok.state is State.RESOLVED
    assert ok.severity is firing.severity  # a resolve reaches the channels the trigger did
    assert ok.dedup_key == firing.dedup_key
    assert ok.identity != firing.identity
    assert ok.value == "1.0"


def test_several_records_none_lost() -> None:
    alerts = parse_event(recorded("sns_several_records"))
    assert [a.source for a in alerts] == ["cloudwatch", "sns", "sns"]
    stale, text, broken = alerts
    # no "severity:" tag: the catalogue knows PriceStale (seed 000: stale above 300 s)
    assert stale.severity is Severity.HIGH
    assert stale.runbook == "pause-trading"
    assert stale.value == "no data"
    assert stale.threshold == "PriceAgeSeconds > 300"
    # plain text is delivered as text, with its severity attribute
    assert text.severity is Severity.CRITICAL
    assert text.summary.startswith("Backup verification failed")
    assert text.name == "edge-prod backup"
    # JSON that is cut short is still delivered, saying what could not be read
    assert broken.description == '{"AlarmName": "half-written"'
    assert broken.severity is Severity.HIGH
    assert broken.name == "edge-prod-alerts"


def test_json_of_an_unknown_shape_is_delivered_as_text() -> None:
    record = recorded("sns_cloudwatch_alarm")["Records"][0]
    record["Sns"]["Message"] = json.dumps({"hello": "world"})
    [alert] = parse_sns_record(record)
    assert alert.source == "sns"
    assert ("unreadable", "JSON that is no known alert (CloudWatch, Alertmanager, internal)") in (
        alert.details
    )


def test_alarm_without_state_time_is_text_not_a_crash() -> None:
    record = recorded("sns_cloudwatch_alarm")["Records"][0]
    msg = json.loads(record["Sns"]["Message"])
    del msg["StateChangeTime"]
    record["Sns"]["Message"] = json.dumps(msg)
    [alert] = parse_sns_record(record)
    assert alert.source == "sns"
    assert dict(alert.details)["unreadable"] == "CloudWatch alarm message without 'StateChangeTime'"


def test_alertmanager_group_with_one_resolved() -> None:
    firing, resolved = parse_event(recorded("alertmanager_v4"))
    assert (firing.state, resolved.state) == (State.FIRING, State.RESOLVED)
    assert firing.severity is resolved.severity is Severity.CRITICAL
    assert firing.resource == "edge-1:9100"
    assert resolved.resource == "edge-2:9100"
    # grouped by the resource too: two incidents, not one per group (alertmanager #2874)
    assert firing.dedup_key != resolved.dedup_key
    assert firing.dedup_key == "alertmanager/HighErrorRate/edge-1:9100/8c1f2d3e4b5a6978"
    assert firing.changed_at == datetime(2026, 12, 2, 2, 55, 30, 123456, tzinfo=UTC)
    assert resolved.changed_at == datetime(2026, 12, 2, 2, 58, 0, 500000, tzinfo=UTC)
    assert firing.value == "8.3%"
    assert firing.threshold == "> 5% for 5m"  # from the common annotations
    assert firing.runbook_url is not None
    assert ("route", "/trades") in firing.details


def test_alertmanager_other_versions_refused() -> None:
    payload = recorded("alertmanager_v4")
    payload["version"] = "3"
    with pytest.raises(UnreadableAlert, match="version '3'"):
        parse_event(payload)


def test_alertmanager_resolved_without_end_refused() -> None:
    payload = recorded("alertmanager_v4")
    payload["alerts"][1]["endsAt"] = "0001-01-01T00:00:00Z"
    with pytest.raises(UnreadableAlert, match="without endsAt"):
        parse_event(payload)


def test_internal_events() -> None:
    [stop] = parse_event(recorded("internal_emergency_stop"))
    assert stop.source == "edge-ops"
    assert stop.severity is Severity.CRITICAL
    assert len(stop.actions_taken) == 4
    assert stop.started_at == datetime(2026, 12, 2, 3, 19, 58, tzinfo=UTC)
    [report] = parse_event(recorded("internal_report"))
    assert report.severity is Severity.LOW


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "nonsense"}, "kind"),
        ({"at": "2026-12-02T03:20:05"}, "at"),  # a naive time is ambiguous
        ({"severity": "urgent"}, "unknown severity 'urgent'"),
        ({"extra": 1}, "extra"),
    ],
)
def test_internal_event_errors_say_what(change: dict[str, object], message: str) -> None:
    payload = {**recorded("internal_emergency_stop"), **change}
    with pytest.raises(UnreadableAlert, match=message):
        parse_event(payload)


def test_function_url_body() -> None:
    body = json.dumps(recorded("alertmanager_v4"))
    alerts = parse_event({"requestContext": {}, "body": body, "isBase64Encoded": False})
    assert len(alerts) == 2
    with pytest.raises(UnreadableAlert, match="not JSON"):
        parse_event({"requestContext": {}, "body": "<html>"})


def test_non_sns_record_refused() -> None:
    with pytest.raises(UnreadableAlert, match="not from SNS"):
        parse_event({"Records": [{"eventSource": "aws:sqs"}]})


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("S1", Severity.CRITICAL),
        ("P0", Severity.CRITICAL),
        ("warning", Severity.HIGH),
        ("P2", Severity.MEDIUM),
        ("info", Severity.LOW),
        (" S4 ", Severity.LOW),
    ],
)
def test_severity_spellings(text: str, level: Severity) -> None:
    assert parse_severity(text) is level


def test_unknown_severity() -> None:
    with pytest.raises(UnknownSeverity, match="known: "):
        parse_severity("urgent")


@pytest.mark.parametrize(
    "text",
    ["2026-12-02T02:59:12.334+0000", "2026-12-02T02:59:12.334Z", "2026-12-02T03:59:12.334+01:00"],
)
def test_times(text: str) -> None:
    assert parse_time(text) == datetime(2026, 12, 2, 2, 59, 12, 334000, tzinfo=UTC)


def test_bad_time() -> None:
    with pytest.raises(UnreadableAlert, match="not a timestamp"):
        parse_time("yesterday")
