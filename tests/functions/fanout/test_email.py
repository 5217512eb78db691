"""E-mail for low/info alerts through SES v2 (moto): routed only when configured; a refusal is
not retried."""

from __future__ import annotations

from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.fanout.channels import EmailSender
from functions.fanout.delivery import ChannelNotConfigured, FanOut, MemoryGate
from functions.fanout.formatting import FormatContext
from functions.fanout.retry import RetryPolicy
from functions.fanout.routing import Channel
from functions.fanout.sources import parse_event
from tests.functions.fanout.harness import RecordingDLQ
from tests.functions.fanout.recorded import recorded


class _NoSlack:
    channel = Channel.SLACK

    def __init__(self) -> None:
        self.sent: list[str] = []

    def attempt(self, alert: Any) -> Any:
        from functions.fanout.retry import Answer

        self.sent.append(alert.name)
        return Answer(200, {}, b"ok")


def _fanout(aws: AwsClients, sender: str) -> tuple[FanOut, RecordingDLQ]:
    ses = aws.client("sesv2")
    email = EmailSender(ses, sender, ["oncall@example.com"], FormatContext())
    dlq = RecordingDLQ()
    fanout = FanOut(
        {Channel.SLACK: _NoSlack(), Channel.EMAIL: email},
        dlq,
        MemoryGate(),
        RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01),
        sleep=lambda s: None,
    )
    return fanout, dlq


def test_a_report_goes_to_slack_and_email(aws: AwsClients) -> None:
    aws.client("ses").verify_email_identity(EmailAddress="alerts@example.com")
    fanout, dlq = _fanout(aws, "alerts@example.com")
    out = fanout.deliver(parse_event(recorded("internal_report")), 30)
    assert {o.channel.value: o.status for o in out} == {"slack": "delivered", "email": "delivered"}
    assert dlq.records == []


def test_an_unverified_sender_is_refused_once_and_parked(aws: AwsClients) -> None:
    fanout, dlq = _fanout(aws, "nobody@example.com")
    out = {o.channel.value: o for o in fanout.deliver(parse_event(recorded("internal_report")), 30)}
    assert out["email"].status == "dead_lettered"
    assert out["email"].attempts == 1
    assert out["email"].reason == "HTTP 400 refused: SES refused: MessageRejected"
    assert [r["channel"] for r in dlq.records] == ["email"]


def test_medium_goes_to_slack_without_email(aws: AwsClients) -> None:
    fanout, _ = _fanout(aws, "alerts@example.com")
    event = {**recorded("internal_report"), "kind": "alert", "severity": "medium"}
    assert [ch for _, ch in fanout.plan(parse_event(event))] == [Channel.SLACK]


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_a_required_channel_missing_is_refused_before_sending(
    aws: AwsClients, severity: str
) -> None:
    fanout, _ = _fanout(aws, "alerts@example.com")
    event = {**recorded("internal_report"), "kind": "alert", "severity": severity}
    with pytest.raises(ChannelNotConfigured, match="is asked for but not configured"):
        fanout.deliver(parse_event(event), 30)
