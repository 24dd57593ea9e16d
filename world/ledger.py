"""Double-entry money in integer cents, and the stock-flow checks run after every step.

Every money movement is one transfer between two accounts, so the balances of all
accounts (agents and the outside world: customers, LPs, suppliers, lenders, government)
always sum to exactly zero; the check confirms that nothing bypassed `transfer`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping

AccountKey = Hashable

# The outside world: accounts that are not agents. Their balances go negative as money
# flows into the economy from them (customers pay, LPs commit, lenders lend). The GPU
# exchange passes spot payments from renters to owners; it holds only rounding cents.
EXTERNAL = (
    "customers", "lps", "lenders", "power", "staff", "fabs", "construction",
    "government", "core_business", "founders", "gpu_exchange",
)


class InvariantError(RuntimeError):
    """A stock-flow or physical invariant broke: names the month, accounts and amounts."""


class Ledger:
    """Balances in integer cents; agents decide in float USD, a transfer rounds once."""

    def __init__(self) -> None:
        self.balances: dict[AccountKey, int] = {k: 0 for k in EXTERNAL}
        self.flows: dict[str, int] = {}

    def open(self, account: AccountKey) -> None:
        """Create an account with zero balance (idempotent)."""
        self.balances.setdefault(account, 0)

    def transfer(self, src: AccountKey, dst: AccountKey, usd: float, memo: str) -> int:
        """Move `usd` from src to dst; returns the cents moved. Negative amounts are refused."""
        if not math.isfinite(usd) or usd < 0:
            raise InvariantError(f"transfer {memo!r} {src}->{dst} of {usd!r} USD is not a finite amount >= 0")
        cents = round(usd * 100)
        if cents == 0:
            return 0
        self.balances[src] -= cents
        self.balances[dst] += cents
        self.flows[memo] = self.flows.get(memo, 0) + cents
        return cents

    def usd(self, account: AccountKey) -> float:
        """Balance of one account in USD."""
        return self.balances[account] / 100

    def take_flows(self) -> dict[str, float]:
        """This period's flows by memo in USD, then reset (for the monthly report)."""
        out = {k: v / 100 for k, v in sorted(self.flows.items())}
        self.flows = {}
        return out

    def check_balanced(self, month: str) -> None:
        """All balances sum to exactly zero (stock-flow consistency)."""
        total = sum(self.balances.values())
        if total != 0:
            worst = sorted(self.balances.items(), key=lambda kv: -abs(kv[1]))[:5]
            raise InvariantError(
                f"{month}: ledger out of balance by {total} cents; largest accounts: "
                + ", ".join(f"{k}={v}" for k, v in worst)
            )


def check_non_negative(month: str, what: str, values: Mapping[AccountKey, float]) -> None:
    """Physical stocks and flows that cannot be negative (GPU inventories, tokens served)."""
    bad = [(k, v) for k, v in values.items() if not (v >= -1e-9)]
    if bad:
        raise InvariantError(f"{month}: negative {what}: " + ", ".join(f"{k}={v!r}" for k, v in bad[:5]))


def check_at_most(month: str, what: str, used: Mapping[AccountKey, float], limit: Mapping[AccountKey, float]) -> None:
    """used <= limit for each key, with a relative tolerance of 1e-9 for float sums."""
    bad = [
        (k, u, limit.get(k, 0.0))
        for k, u in used.items()
        if u > limit.get(k, 0.0) * (1 + 1e-9) + 1e-6
    ]
    if bad:
        raise InvariantError(
            f"{month}: {what} exceeds its limit: "
            + ", ".join(f"{k}: {u!r} > {lim!r}" for k, u, lim in bad[:5])
        )


def check_finite_positive(month: str, what: str, values: Iterable[tuple[AccountKey, float]]) -> None:
    """Prices and valuations must be finite and > 0."""
    bad = [(k, v) for k, v in values if not (math.isfinite(v) and v > 0)]
    if bad:
        raise InvariantError(f"{month}: {what} not finite and positive: " + ", ".join(f"{k}={v!r}" for k, v in bad[:5]))
