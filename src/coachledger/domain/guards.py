"""Guards against silent bad data: a check-in from the future, a value in the wrong unit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from coachledger.domain.rules import far_apart, fmt, iso
from coachledger.errors import FromTheFuture, NeedsConfirmation


class Guards:
    """The aggregate's magnitude guard (``Client`` takes it as a base)."""

    kpis: dict[str, dict[str, Any]]

    def _check_magnitude(self, kpi: str, value: Decimal, effective_at: datetime) -> None:
        """After a unit or factor change, a value more than 100x away from the KPI's last value
        (in the unit at ``effective_at``) or from its target is likely in the wrong unit."""
        state = self.kpis[kpi]
        moment = iso(effective_at)
        changes = [c for c in state.get("unit_changes", ()) if c <= moment]
        if not changes:
            return
        found = []
        last = state.get("last")
        if last is not None and last[0] <= moment:
            before = Decimal(last[1])
            for effective, _, _, factor in state["adjustments"]:
                if last[0] < effective <= moment and factor is not None:
                    before *= Decimal(factor)
            found.append(("last value", before))
        found.append(("target", Decimal(state["target"])))
        for what, reference in found:
            if far_apart(value, reference):
                raise NeedsConfirmation(
                    f"{fmt(value)} is more than 100x away from KPI {kpi}'s {what} {fmt(reference)} "
                    f"since its unit changed on {changes[-1][:10]}: check the unit, or confirm with --yes"
                )


def check_not_after(what: str, effective_at: datetime, now: datetime | None) -> None:
    """A check-in cannot come from the future: ``effective_at`` (any zone) is not after the
    recording moment ``now`` (default: the clock the event's recording time is read from)."""
    now = now if now is not None else datetime.now(tz=UTC)
    if effective_at > now:
        raise FromTheFuture(
            f"{what} cannot be dated after the moment it is recorded: "
            f"{iso(effective_at)[:19]}Z is after {iso(now)[:19]}Z"
        )
