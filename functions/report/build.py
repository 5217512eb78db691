"""A report from the store: the figures of ``shared.reports`` for one period, as one JSON-ready
dict (the JSON output is exactly this; the Markdown and the charts are drawn from it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput
from shared.reports import figures, queries
from shared.reports.period import BadPeriod, Period, parse_period

if TYPE_CHECKING:
    from sqlalchemy import Engine


def period_for(kind: str, day: str | None, now: datetime) -> Period:
    try:
        return parse_period(kind, day, now)
    except BadPeriod as err:
        raise BadInput(str(err)) from None


def parse_capital(text: str | None, decimals: int) -> int | None:
    """The starting capital in token units ("10", "2.5") as a raw integer."""
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadInput(f"starting capital {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise BadInput(f"starting capital {text!r} must be above zero")
    return int(value.scaleb(decimals))


def build(
    engine: Engine,
    period: Period,
    *,
    chain_id: int | None = None,
    capital_symbol: str | None = None,
    quote: str | None = None,
    starting_capital: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    chains = queries.chain_ids(engine)
    if chain_id is None:
        if len(chains) > 1:
            raise BadInput(f"trades of several chains are stored {chains}: name one (--chain-id)")
        chain_id = chains[0] if chains else 0
    try:
        capital = queries.capital_of(engine, chain_id, capital_symbol)
        prices = queries.price_series(
            engine, chain_id, capital.symbol, quote, period.start, period.end
        )
    except queries.NotInStore as err:
        raise BadInput(str(err)) from None
    names = queries.pool_names(engine, chain_id)
    records, loose = queries.load_records(engine, chain_id, period.start, period.end, names)
    result = figures.compute(
        period,
        records,
        loose,
        decimals=capital.decimals,
        prices=prices,
        starting_capital=parse_capital(starting_capital, capital.decimals),
    )
    return {
        "report": period.kind,
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "timezone": "UTC",
        },
        "generated_at": (now or datetime.now(UTC)).isoformat(),
        "chain_id": chain_id,
        "capital": {"symbol": capital.symbol, "decimals": capital.decimals},
        "quote": None if prices is None else {"symbol": prices.quote, "source": prices.source},
        "definitions": figures.DEFINITIONS,
        "modes": result,
    }


def last_complete_period(kind: str, fired: datetime) -> Period:
    """The period a scheduled run reports: the last complete one before it fired."""
    return period_for(kind, None, fired)
