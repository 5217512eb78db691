"""The node's own critical events, raised to the alert fan-out through SNS (issue 9 section 5).

An emergency stop, a pause by the risk limits and a reorg deeper than the window are things
an operator must hear about even when nobody is scraping the node. They are published, as
the fan-out's internal event (functions/fanout/sources.py ``InternalEvent``), to the SNS
topic in ``alerts.sns_topic_arn``.

The event loop never waits for AWS: ``publish`` only puts the event on a bounded queue and
returns; one worker thread drains it through a boto3 client with short timeouts. A full queue
(SNS unreachable for long, an event storm) drops the new event and counts it
(``node_alerts_total{outcome="dropped"}``), so a stuck network can cost an alert but never
the node's loop or its memory.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)

SOURCE = "edge-node"
QUEUE_MAX = 100
CLOSE_TIMEOUT_S = 5.0

# The fan-out's kinds and severities (functions/fanout/sources.py, alert.py).
EMERGENCY_STOP = "emergency_stop"
ALERT = "alert"


def node_event(
    kind: str,
    name: str,
    severity: str,
    summary: str,
    *,
    description: str = "",
    details: dict[str, str] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One event in the fan-out's internal shape. ``id`` makes a redelivery of the same event
    (SNS may deliver twice) one alert; two events of one kind at different times are two."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    stamp = when.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {
        "kind": kind,
        "name": name,
        "severity": severity,
        "summary": summary[:500],
        "resource": SOURCE,
        "state": "firing",
        "at": stamp,
        "description": description[:3000],
        "details": {"source": SOURCE, **(details or {})},
        "id": f"{SOURCE}/{name}/{stamp}",
    }


def emergency_stop_event(actor: str, reason: str, at: datetime | None = None) -> dict[str, Any]:
    return node_event(
        EMERGENCY_STOP,
        "EmergencyStop",
        "critical",
        f"emergency stop activated by {actor}: {reason}",
        description="The node stopped signing and is cancelling its pending transactions. "
        "Resuming needs an operator (edge-node resume, or POST /admin/resume).",
        details={"actor": actor, "reason": reason},
        at=at,
    )


def risk_pause_event(reason: str, at: datetime | None = None) -> dict[str, Any]:
    # High, not critical: the node is already safe (paused, pending transactions carry on),
    # and resuming is an operator's decision for working hours unless something else pages.
    return node_event(
        ALERT,
        "RiskPause",
        "high",
        f"trading paused by the risk limits: {reason}",
        description="A limit that does not clear by itself (stale market data, consecutive "
        "failures) paused trading; it stays paused until an operator resumes.",
        details={"actor": "risk", "reason": reason},
        at=at,
    )


def reorg_too_deep_event(error: str, at: datetime | None = None) -> dict[str, Any]:
    return node_event(
        ALERT,
        "ReorgTooDeep",
        "critical",
        "a chain reorganisation deeper than the node's reorg window: the node stopped",
        description=error,
        at=at,
    )


def sns_client(region: str) -> Any:
    import boto3
    from botocore.config import Config

    # Bounded: a hung connection must not hold the worker (and so the queue) for long.
    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2})
    return boto3.client("sns", region_name=region, config=config)


class AlertPublisher:
    """Bounded queue + one worker thread; ``publish`` never blocks."""

    _STOP = object()

    def __init__(
        self, topic_arn: str, client: Any, metrics: Metrics, queue_max: int = QUEUE_MAX
    ) -> None:
        self.topic_arn = topic_arn
        self.client = client
        self.metrics = metrics
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_max)
        self._thread = threading.Thread(target=self._run, name="node-alerts", daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def publish(self, event: dict[str, Any]) -> bool:
        """Queue the event for the fan-out; False (counted as dropped) if the queue is full."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.metrics.node_alert("dropped")
            log.error("alert queue full: dropped %s (%s)", event["name"], event["summary"])
            return False
        return True

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Send what is queued (bounded by ``timeout``) and stop; True if all was sent."""
        if not self._started:
            return self._queue.empty()
        try:
            self._queue.put(self._STOP, timeout=timeout)
        except queue.Full:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is self._STOP:
                return
            self._send(event)

    def _send(self, event: dict[str, Any]) -> None:
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=f"edge-node: {event['name']}"[:100],
                Message=json.dumps(event),
                MessageAttributes={
                    "severity": {"DataType": "String", "StringValue": event["severity"]}
                },
            )
        except Exception as err:  # counted and logged; the node carries on
            self.metrics.node_alert("failed")
            log.error(
                "could not publish %s to the alert topic: %s: %s",
                event["name"],
                type(err).__name__,
                str(err).splitlines()[0][:200] if str(err) else "",
            )
            return
        self.metrics.node_alert("sent")
