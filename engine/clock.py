"""The engine's sense of now. Scenario tests use ManualClock to jump forward in time."""
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """What the engine asks of a clock: an aware 'now'."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(timezone.utc).replace(microsecond=0)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, **kwargs: float) -> datetime:
        self._now += timedelta(**kwargs)
        return self._now


def from_settings(settings: object) -> SystemClock | ManualClock:
    """The system clock, or a fixed one when QIHU_NOW is set (naive text is Beijing time)."""
    fixed: str | None = getattr(settings, "fixed_now", None)
    if not fixed:
        return SystemClock()
    from qihu.engine.dialect.timers import TIMEZONE
    when = datetime.fromisoformat(fixed)
    return ManualClock(when if when.tzinfo else when.replace(tzinfo=TIMEZONE))
