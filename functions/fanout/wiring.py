"""The fan-out's settings and how its parts are put together (for the handler and the CLI).

Environment (prefix ``EDGE_OPS_``, see functions/common/settings.py):

- ``ALERT_SECRET_ID``: the Secrets Manager secret, a JSON object with ``slack_webhook_url``,
  ``pagerduty_routing_key``, ``telegram_bot_token``, ``telegram_chat_id``;
- ``ALERT_IDEMPOTENCY_TABLE``: the DynamoDB table (key ``id``) of the once-gate;
- ``ALERT_DLQ_URL``: the SQS dead-letter queue;
- ``ALERT_EMAIL_FROM`` / ``ALERT_EMAIL_TO`` (comma-separated): e-mail for low/info, optional;
- ``ALERT_RUNBOOK_BASE_URL``: where runbooks are documented (a link per alert);
- timeouts and attempts (``ALERT_HTTP_TIMEOUT_S``, ``ALERT_MAX_ATTEMPTS``,
  ``ALERT_DEADLINE_MARGIN_S``), and the PagerDuty/Telegram endpoints (tests point them home).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from functions.common.aws import AwsClients
from functions.common.errors import BadInput
from functions.common.secrets import SecretSource
from functions.common.settings import OpsSettings
from functions.fanout.channels import (
    AlertSecrets,
    EmailSender,
    Endpoints,
    HttpTransport,
    PagerDutySender,
    SecretBox,
    Sender,
    SlackSender,
    TelegramSender,
)
from functions.fanout.delivery import DeadLetters, FanOut, OnceGate, SqsDeadLetters
from functions.fanout.formatting import FormatContext
from functions.fanout.retry import RetryPolicy
from functions.fanout.routing import Channel


class FanoutSettings(OpsSettings):
    alert_secret_id: str = Field(min_length=1, max_length=2048)
    alert_idempotency_table: str | None = Field(default=None, min_length=3, max_length=255)
    alert_dlq_url: str | None = Field(default=None, pattern=r"^https?://")
    alert_email_from: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    alert_email_to: str = ""
    alert_runbook_base_url: str | None = None
    alert_pagerduty_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://"
    )
    alert_telegram_api: str = Field(default="https://api.telegram.org", pattern=r"^https?://")
    alert_http_timeout_s: float = Field(default=5.0, gt=0, le=30)
    alert_max_attempts: int = Field(default=5, ge=1, le=10)
    # kept back from the Lambda's remaining time for dead-lettering what is still failing
    alert_deadline_margin_s: float = Field(default=15.0, ge=1, le=120)

    @property
    def email_recipients(self) -> list[str]:
        return [a.strip() for a in self.alert_email_to.split(",") if a.strip()]


def secrets_fetcher(source: SecretSource, secret_id: str) -> Any:
    def fetch(force: bool) -> AlertSecrets:
        raw = source.get_json(secret_id, force=force)
        try:
            return AlertSecrets.model_validate(raw)
        except ValidationError as err:
            # names only: pydantic would otherwise quote the values it was given
            missing = sorted(
                {".".join(str(p) for p in e["loc"]) for e in err.errors(include_input=False)}
            )
            raise BadInput(
                f"secret {secret_id!r} lacks or has bad fields: {', '.join(missing)}"
            ) from None

    return fetch


def build_fanout(
    settings: FanoutSettings,
    clients: AwsClients,
    *,
    gate: OnceGate,
    dead_letters: DeadLetters | None = None,
) -> FanOut:
    """The fan-out with its senders; secrets are read now (a bad secret fails here)."""
    source = SecretSource(clients.secretsmanager, settings.secret_max_age_s)
    box = SecretBox(secrets_fetcher(source, settings.alert_secret_id))
    ctx = FormatContext(runbook_base_url=settings.alert_runbook_base_url)
    http = HttpTransport(settings.alert_http_timeout_s)
    ends = Endpoints(settings.alert_pagerduty_url, settings.alert_telegram_api)
    senders: dict[Channel, Sender] = {
        Channel.SLACK: SlackSender(http, box, ctx),
        Channel.PAGERDUTY: PagerDutySender(http, box, ctx, ends),
        Channel.TELEGRAM: TelegramSender(http, box, ctx, ends),
    }
    if settings.alert_email_from and settings.email_recipients:
        senders[Channel.EMAIL] = EmailSender(
            clients.client("sesv2"), settings.alert_email_from, settings.email_recipients, ctx
        )
    if dead_letters is None:
        if not settings.alert_dlq_url:
            raise BadInput("EDGE_OPS_ALERT_DLQ_URL is not set: failed alerts would be lost")
        dead_letters = SqsDeadLetters(clients.client("sqs"), settings.alert_dlq_url)
    policy = RetryPolicy(
        max_attempts=settings.alert_max_attempts, timeout=settings.alert_http_timeout_s
    )
    return FanOut(senders, dead_letters, gate, policy, secrets=box)
