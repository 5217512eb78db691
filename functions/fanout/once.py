"""Once per channel per state change, across invocations: powertools idempotency on DynamoDB.

The key is the alert's source, alarm (name, resource, the source's fingerprint), state and
state-change time, and the channel. SNS delivering a message twice, or Lambda retrying the
invocation, meets the stored record and gets the stored result instead of a second message.
A pair whose delivery raised (it could not even be dead-lettered) leaves no record, so the
retry sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.fanout.alert import Alert
from functions.fanout.routing import Channel

# what the key is made of (the rest of the record is kept only for people reading the table)
KEY_FIELDS = "[source, alarm, state, changed_at, channel]"

log = logging.getLogger(__name__)


def once_key(alert: Alert, channel: Channel) -> dict[str, str]:
    return {
        "source": alert.source,
        "alarm": "/".join(p for p in (alert.name, alert.resource, alert.fingerprint) if p),
        "state": alert.state.value,
        "changed_at": alert.changed_at.isoformat(),
        "channel": channel.value,
    }


class DynamoDBGate:
    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any,
        expires_after_seconds: int = 7 * 24 * 3600,
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=KEY_FIELDS,
            raise_on_no_idempotency_key=True,
            # a duplicate can come days later (SNS retries, a person's redrive): a week
            expires_after_seconds=expires_after_seconds,
        )
        self.store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb_client)
        self.unavailable = 0  # deliveries made without the table (for a metric)
        self._run = idempotent_function(
            data_keyword_argument="key",
            persistence_store=self.store,
            config=self.config,
            key_prefix="fanout",
        )(self._call)

    def register_context(self, context: LambdaContext) -> None:
        """An invocation killed mid-delivery leaves an in-progress record; with the context,
        it expires when that invocation's time is up so the retry can deliver."""
        self.config.register_lambda_context(context)

    @staticmethod
    def _call(key: dict[str, str], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return run()

    def once(
        self, alert: Alert, channel: Channel, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """As OnceGate; when the table cannot be read or written, the alert is delivered
        anyway: a duplicate page is better than none (``gate_unavailable`` says so)."""
        ran: list[dict[str, Any]] = []

        def run_once() -> dict[str, Any]:
            ran.append(run())
            return ran[0]

        try:
            result: dict[str, Any] = self._run(key=once_key(alert, channel), run=run_once)
        except IdempotencyAlreadyInProgressError:
            return None
        except IdempotencyPersistenceLayerError as err:
            log.warning(
                "idempotency table unavailable; delivering without duplicate protection",
                extra={"channel": channel.value, "error": type(err).__name__},
            )
            self.unavailable += 1
            # the delivery may already have happened (the failure was saving its result)
            return ran[0] if ran else run_once()
        return result
