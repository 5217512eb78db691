"""Names derive from the stack, so that two stacks live in one account without colliding."""

from __future__ import annotations

import re

import pulumi

PROJECT_PREFIX = "edge"


def stack_prefix(stack: str | None = None) -> str:
    """``edge-<stack>``, lower case, safe in every AWS name we set (S3, Lambda, alarms)."""
    raw = stack if stack is not None else pulumi.get_stack()
    clean = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    if not clean:
        raise ValueError(f"stack name {raw!r} gives no usable name")
    # 32: EDGE_OPS_ENVIRONMENT (a metric dimension) takes at most 32 characters
    return f"{PROJECT_PREFIX}-{clean}"[:32].rstrip("-")


def child(component: str, part: str) -> str:
    """A child's logical name: the component's own name, then what the child is."""
    return f"{component}-{part}"
