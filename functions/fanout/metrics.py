"""The fan-out's CloudWatch metrics (EMF, namespace ``EdgeOps``, dimensions ``service=fanout``
and ``environment``): one list, for the handler and the Pulumi program's alarms (infra/catalog/;
tests/infra checks that every alarm reads a metric declared here, with these dimensions).
"""

from __future__ import annotations

CHANNEL = "channel"  # the per-channel metrics' extra dimension (slack, pagerduty, ...)

ALERTS_RECEIVED = "AlertsReceived"  # Count of alerts in one invocation
ALERTS_DEAD_LETTERED = "AlertsDeadLettered"  # Count parked in the DLQ (the alarm reads it)
ALERTS_UNREADABLE = "AlertsUnreadable"  # 1 when the event was no alert we know
DELIVERY_INCOMPLETE = "AlertDeliveryIncomplete"  # 1 when a delivery was neither sent nor parked
IDEMPOTENCY_UNAVAILABLE = "AlertIdempotencyUnavailable"  # deliveries made without the table
# per channel (dimension ``channel``)
DELIVERED = "AlertDelivered"
DUPLICATE_SKIPPED = "AlertDuplicateSkipped"
DEAD_LETTERED = "AlertDeadLettered"

# metric -> its dimensions besides service and environment
DIMENSIONS: dict[str, tuple[str, ...]] = {
    ALERTS_RECEIVED: (),
    ALERTS_DEAD_LETTERED: (),
    ALERTS_UNREADABLE: (),
    DELIVERY_INCOMPLETE: (),
    IDEMPOTENCY_UNAVAILABLE: (),
    DELIVERED: (CHANNEL,),
    DUPLICATE_SKIPPED: (CHANNEL,),
    DEAD_LETTERED: (CHANNEL,),
}
