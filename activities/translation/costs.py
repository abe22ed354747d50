"""A project's cost: characters x Amazon Translate's price per million characters, to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MILLION = Decimal(1_000_000)
CENT = Decimal("0.01")


def cost_of(characters: int, price_per_million: Decimal) -> Decimal:
    """US dollars for ``characters`` at ``price_per_million``, rounded half up to the cent."""
    return (Decimal(characters) * price_per_million / MILLION).quantize(CENT, rounding=ROUND_HALF_UP)


def price(value: str) -> Decimal:
    """A price from settings or a request (a decimal string, non-negative)."""
    parsed = Decimal(value)
    if not parsed.is_finite() or parsed < 0:
        raise ValueError(f"price {value!r} must be a non-negative number")
    return parsed
