"""A fan-out wired to the local sinks, with a recording dead-letter queue and no real sleep."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from functions.fanout.channels import (
    AlertSecrets,
    Endpoints,
    HttpTransport,
    PagerDutySender,
    SecretBox,
    Sender,
    SlackSender,
    TelegramSender,
)
from functions.fanout.delivery import FanOut, MemoryGate, OnceGate
from functions.fanout.formatting import FormatContext
from functions.fanout.retry import RetryPolicy
from functions.fanout.routing import Channel
from tests.functions.fanout.sinks import Sinks

ROUTING_KEY = "R0UT1NG0KEY0SECRET0e7f7c3b2a1d4e5f"
BOT_TOKEN = "7208123456:AAF0SECRET0telegram0token0xyz"
CHAT_ID = "-1001234567890"
SLACK_PATH = "/services/T0ABCDEF/B0GHIJKL/SECRET0slack0hook0path"


def secrets_for(sinks: Sinks) -> AlertSecrets:
    return AlertSecrets.model_validate(
        {
            "slack_webhook_url": sinks.slack.url + SLACK_PATH,
            "pagerduty_routing_key": ROUTING_KEY,
            "telegram_bot_token": BOT_TOKEN,
            "telegram_chat_id": CHAT_ID,
        }
    )


def endpoints_for(sinks: Sinks) -> Endpoints:
    return Endpoints(
        pagerduty_url=sinks.pagerduty.url + "/v2/enqueue", telegram_api=sinks.telegram.url
    )


@dataclass
class RecordingDLQ:
    records: list[dict[str, Any]] = field(default_factory=list)
    broken: bool = False

    def put(self, record: Any) -> None:
        if self.broken:
            raise ConnectionError("queue unreachable")
        self.records.append(dict(record))


@dataclass
class Harness:
    fanout: FanOut
    dlq: RecordingDLQ
    sleeps: list[float]
    secrets: AlertSecrets


CTX = FormatContext(runbook_base_url="https://github.com/example/edge/blob/main/README.md")


def build(
    sinks: Sinks,
    *,
    gate: OnceGate | None = None,
    policy: RetryPolicy | None = None,
    real_sleep: bool = False,
) -> Harness:
    # The local sinks answer at once, but a loaded machine can hold an answer for seconds: a
    # timeout that expired would send again and double a request count. A test whose sink
    # must hang passes its own short policy.
    policy = policy or RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, timeout=10.0)
    secrets = secrets_for(sinks)
    box = SecretBox.fixed(secrets)
    http = HttpTransport(policy.timeout)
    ends = endpoints_for(sinks)
    senders: dict[Channel, Sender] = {
        Channel.SLACK: SlackSender(http, box, CTX),
        Channel.PAGERDUTY: PagerDutySender(http, box, CTX, ends),
        Channel.TELEGRAM: TelegramSender(http, box, CTX, ends),
    }
    dlq = RecordingDLQ()
    sleeps: list[float] = []

    def fake_sleep(s: float) -> None:
        sleeps.append(s)

    fanout = FanOut(
        senders,
        dlq,
        gate or MemoryGate(),
        policy,
        secrets=box,
        sleep=time.sleep if real_sleep else fake_sleep,
        rand=lambda: 0.5,
    )
    return Harness(fanout, dlq, sleeps, secrets)
