"""An Alertmanager alert through SNS (shared/alert_notice.py), and what the fan-out and the
runbooks make of a malformed one."""

from __future__ import annotations

from typing import Any

import pytest

from functions.fanout.sources import parse_sns_record
from functions.runbook.trigger import UnreadableTrigger, parse_trigger
from shared import alert_notice


def _sns(attrs: dict[str, str], message: str = "FIRING X: it broke\n") -> dict[str, Any]:
    return {
        "Message": message,
        "MessageId": "m-1",
        "Timestamp": "2026-12-02T06:00:00.000Z",
        "TopicArn": "arn:aws:sns:us-east-1:1:edge-alerts-high",
        "MessageAttributes": {k: {"Type": "String", "Value": v} for k, v in attrs.items()},
    }


GOOD = {
    "source": "alertmanager",
    "alertname": "RpcHeadLag",
    "severity": "high",
    "status": "firing",
    "runbook": "none",
    "fingerprint": "0123456789abcdef",
    "starts_at": "2026-12-02T05:59:00Z",
    "ends_at": "none",
}


def test_body_lines_and_continuations() -> None:
    headline, labels, notes = alert_notice.parse_body(
        "FIRING X: broke\nlabel.instance: n1\nannotation.description: one\ntwo\n"
        "annotation.value: a: b\nstray line"
    )
    assert headline == "FIRING X: broke"
    assert labels == {"instance": "n1"}
    assert notes == {"description": "one\ntwo", "value": "a: b\nstray line"}
    assert alert_notice.parse_body("") == ("", {}, {})


def test_none_means_absent() -> None:
    notice = alert_notice.read(_sns(GOOD))
    assert (notice.runbook, notice.ends_at, notice.severity) == (None, None, "high")
    assert notice.status == "firing"


def test_not_a_notice_without_the_source_attribute() -> None:
    assert not alert_notice.is_notice(_sns({**GOOD, "source": "someone-else"}))
    assert not alert_notice.is_notice({"Message": "x"})
    assert alert_notice.is_notice(_sns(GOOD))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"fingerprint": "none"}, "without fingerprint"),
        ({"starts_at": ""}, "without starts_at"),
        ({"status": "pending"}, "status 'pending'"),
    ],
)
def test_a_malformed_notice_is_refused_and_delivered_as_text(
    change: dict[str, str], problem: str
) -> None:
    sns = _sns({**GOOD, **change})
    with pytest.raises(alert_notice.UnreadableNotice, match=problem):
        alert_notice.read(sns)
    # the fan-out never drops it: it is delivered as text saying what was wrong
    (alert,) = parse_sns_record({"EventSource": "aws:sns", "Sns": sns})
    assert alert.source == "sns"
    assert any(k == "unreadable" and problem in v for k, v in alert.details)
    # a runbook refuses it (and acts on nothing)
    with pytest.raises(UnreadableTrigger, match=problem):
        parse_trigger({"Records": [{"EventSource": "aws:sns", "Sns": sns}]})


def test_a_resolved_notice_without_its_end_is_text_for_the_fan_out() -> None:
    sns = _sns({**GOOD, "status": "resolved"})
    (alert,) = parse_sns_record({"EventSource": "aws:sns", "Sns": sns})
    assert alert.source == "sns"
    assert any(k == "unreadable" and "without endsAt" in v for k, v in alert.details)
