"""The engine's sense of now. Scenario tests use ManualClock to jump forward in time."""
from datetime import datetime, timedelta, timezone


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    def __init__(self, start=None):
        self._now = start or datetime.now(timezone.utc).replace(microsecond=0)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime):
        self._now = when

    def advance(self, **kwargs) -> datetime:
        self._now += timedelta(**kwargs)
        return self._now
