"""The channels' senders: one attempt each, with a timeout, answering an :class:`Answer`.

Secrets (Slack's webhook URL, PagerDuty's routing key, Telegram's bot token, which sits in
its URL) are held as pydantic ``SecretStr`` and used only to build the request: no error,
log line or result carries a URL or a body that holds one. urllib3's own exceptions print
the URL, so they are turned into fixed messages here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import urllib3
from pydantic import BaseModel, ConfigDict, SecretStr
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from functions.fanout.alert import Alert
from functions.fanout.formatting import (
    FormatContext,
    email,
    pagerduty_event,
    slack_message,
    telegram_text,
)
from functions.fanout.retry import Answer
from functions.fanout.routing import Channel


class AlertSecrets(BaseModel):
    """The Secrets Manager secret's JSON (one secret for the fan-out)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    slack_webhook_url: SecretStr
    pagerduty_routing_key: SecretStr
    telegram_bot_token: SecretStr
    telegram_chat_id: SecretStr

    def values(self) -> list[str]:
        """Every secret value, for tests and log scrubbing."""
        return [
            s.get_secret_value()
            for s in (
                self.slack_webhook_url,
                self.pagerduty_routing_key,
                self.telegram_bot_token,
                self.telegram_chat_id,
            )
        ]


class SecretBox:
    """The current secrets, fetched again (bypassing the cache) when a channel refuses them:
    a webhook or token rotated in Secrets Manager is picked up without a restart."""

    def __init__(self, fetch: Callable[[bool], AlertSecrets]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._value = fetch(False)
        self._seen: set[str] = set(self._value.values())

    @classmethod
    def fixed(cls, secrets: AlertSecrets) -> SecretBox:
        return cls(lambda _force: secrets)

    def get(self) -> AlertSecrets:
        return self._value

    def refresh(self) -> None:
        value = self._fetch(True)
        with self._lock:
            self._value = value
            self._seen.update(value.values())

    def values(self) -> list[str]:
        """Every secret value seen (old ones too), for scrubbing."""
        with self._lock:
            return sorted(self._seen)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Public endpoints (tests point them at local servers)."""

    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    telegram_api: str = "https://api.telegram.org"


class Sender(Protocol):
    channel: Channel

    def attempt(self, alert: Alert) -> Answer: ...


class HttpTransport:
    """One POST, bounded: connect and read timeouts, no redirects, no hidden retries."""

    def __init__(self, timeout: float, pool: urllib3.PoolManager | None = None) -> None:
        # urllib3 logs every request line at DEBUG, Telegram's token (in the path) with it:
        # whatever level a deployment turns on, those lines are never written
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        self.timeout = timeout
        self.pool = pool or urllib3.PoolManager(
            num_pools=8, maxsize=16, retries=False, timeout=urllib3.Timeout(total=timeout)
        )

    def post_json(self, url: str, payload: Mapping[str, Any]) -> Answer:
        body = json.dumps(payload).encode()
        try:
            resp = self.pool.request(
                "POST",
                url,
                body=body,
                headers={"Content-Type": "application/json"},
                timeout=urllib3.Timeout(total=self.timeout),
                retries=False,
                redirect=False,
                preload_content=True,
            )
        except ReadTimeoutError:
            return Answer(None, {}, b"", f"no answer within {self.timeout:g} s")
        except ConnectTimeoutError:
            return Answer(None, {}, b"", f"could not connect within {self.timeout:g} s")
        except NewConnectionError:
            return Answer(None, {}, b"", "connection refused or unreachable")
        except ProtocolError:
            return Answer(None, {}, b"", "connection dropped mid-answer")
        except HTTPError as err:  # every other urllib3 failure, named without its URL
            return Answer(None, {}, b"", f"HTTP client error {type(err).__name__}")
        return Answer(resp.status, dict(resp.headers), resp.data)


class SlackSender:
    channel = Channel.SLACK

    def __init__(self, http: HttpTransport, secrets: SecretBox, ctx: FormatContext) -> None:
        self.http, self.secrets, self.ctx = http, secrets, ctx

    def attempt(self, alert: Alert) -> Answer:
        url = self.secrets.get().slack_webhook_url.get_secret_value()
        return self.http.post_json(url, slack_message(alert, self.ctx))


class PagerDutySender:
    channel = Channel.PAGERDUTY

    def __init__(
        self, http: HttpTransport, secrets: SecretBox, ctx: FormatContext, endpoints: Endpoints
    ) -> None:
        self.http, self.secrets, self.ctx, self.endpoints = http, secrets, ctx, endpoints

    def attempt(self, alert: Alert) -> Answer:
        # the same routing key triggers and resolves (a resolve under another key is ignored)
        event = {
            "routing_key": self.secrets.get().pagerduty_routing_key.get_secret_value(),
            **pagerduty_event(alert, self.ctx),
        }
        return self.http.post_json(self.endpoints.pagerduty_url, event)


class TelegramSender:
    channel = Channel.TELEGRAM

    def __init__(
        self, http: HttpTransport, secrets: SecretBox, ctx: FormatContext, endpoints: Endpoints
    ) -> None:
        self.http, self.secrets, self.ctx, self.endpoints = http, secrets, ctx, endpoints

    def attempt(self, alert: Alert) -> Answer:
        token = self.secrets.get().telegram_bot_token.get_secret_value()
        url = f"{self.endpoints.telegram_api.rstrip('/')}/bot{token}/sendMessage"
        return self.http.post_json(
            url,
            {
                "chat_id": self.secrets.get().telegram_chat_id.get_secret_value(),
                "text": telegram_text(alert, self.ctx),
                "parse_mode": "HTML",
                "disable_web_page_preview": True,
            },
        )


class SesClient(Protocol):
    def send_email(self, **kwargs: Any) -> Any: ...


# SES errors that the same request would meet again
_SES_REFUSALS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "BadRequestException",
        "InvalidParameterValue",
        "ValidationError",
        "NotFoundException",
        "AccountSuspendedException",
    }
)
_SES_THROTTLES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})


class EmailSender:
    """E-mail through SES v2 (its client has bounded timeouts, set where it is built)."""

    channel = Channel.EMAIL

    def __init__(
        self, ses: SesClient, sender: str, recipients: Sequence[str], ctx: FormatContext
    ) -> None:
        self.ses, self.sender, self.recipients, self.ctx = ses, sender, list(recipients), ctx

    def attempt(self, alert: Alert) -> Answer:
        from botocore.exceptions import BotoCoreError, ClientError

        subject, body = email(alert, self.ctx)
        try:
            self.ses.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": self.recipients},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                    }
                },
            )
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", "Unknown"))
            if code in _SES_REFUSALS:
                return Answer(400, {}, b"", f"SES refused: {code}")
            if code in _SES_THROTTLES:
                return Answer(429, {}, b"", f"SES throttled: {code}")
            return Answer(None, {}, b"", f"SES error: {code}")
        except BotoCoreError as err:
            return Answer(None, {}, b"", f"SES unreachable: {type(err).__name__}")
        return Answer(200, {}, b"")
