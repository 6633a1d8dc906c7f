"""SLA colours of user tasks with a due date, from the share of working time used.

Three colours (钱塘: 60% yellow, 80% orange, 100% red) by default; Dinghai's five
(蓝绿黄橙红) with `<camunda:property name="slaScheme" value="five" />` on the process, or
any thresholds with `slaThresholds` ("green:0,yellow:50,red:100"). A task's colour is
stored on its row (the inbox filters and sorts on it) and moved on by due jobs at the
moments each threshold is crossed, computed on the working-day calendar.
"""
from datetime import datetime, timedelta

SCHEMES = {
    "three": [(0.0, "green"), (0.6, "yellow"), (0.8, "orange"), (1.0, "red")],
    "five": [(0.0, "blue"), (0.4, "green"), (0.6, "yellow"), (0.8, "orange"), (1.0, "red")],
}
COLOUR_NAMES = {"blue": "蓝", "green": "绿", "yellow": "黄", "orange": "橙", "red": "红"}


def scheme(properties):
    """The (share, colour) steps a definition uses."""
    custom = (properties or {}).get("slaThresholds")
    if custom:
        steps = []
        for part in custom.split(","):
            colour, _, pct = part.partition(":")
            steps.append((float(pct) / 100, colour.strip()))
        return sorted(steps)
    name = (properties or {}).get("slaScheme", "three")
    if name not in SCHEMES:
        raise ValueError(f"slaScheme {name!r} is not one of {', '.join(SCHEMES)}")
    return SCHEMES[name]


def colour_at(share, steps):
    colour = steps[0][1]
    for threshold, c in steps:
        if share >= threshold:
            colour = c
    return colour


def _working_seconds(is_workday, zone, a, b):
    """[(start, end, seconds)] of the working parts of each local day between a and b."""
    parts = []
    day = a.astimezone(zone).date()
    end_day = b.astimezone(zone).date()
    while day <= end_day:
        if is_workday(day):
            lo = max(a, datetime.combine(day, datetime.min.time(), zone))
            hi = min(b, datetime.combine(day + timedelta(days=1), datetime.min.time(), zone))
            if hi > lo:
                parts.append((lo, hi))
        day += timedelta(days=1)
    return parts


def _working_parts(created, due, is_workday, zone):
    """The working parts between created and due and their length in seconds; with no
    working time at all, the whole plain span."""
    parts = _working_seconds(is_workday, zone, created, due)
    total = sum((hi - lo).total_seconds() for lo, hi in parts)
    if total <= 0:
        parts, total = [(created, due)], (due - created).total_seconds()
    return parts, total


def _moment(parts, total, share):
    want, acc = share * total, 0.0
    for lo, hi in parts:
        span = (hi - lo).total_seconds()
        if acc + span >= want:
            return lo + timedelta(seconds=want - acc)
        acc += span
    return parts[-1][1]


def share_moment(created, due, share, is_workday, zone):
    """The moment `share` (0 < share < 1) of the working time from created to due is used."""
    return _moment(*_working_parts(created, due, is_workday, zone), share)


def plan(created, due, steps, is_workday, zone):
    """The colour now and [(moment, colour)] when each later threshold is crossed.

    Shares are of working time (each working day's 24 local hours); with no working
    time at all between created and due, shares are of plain time.
    """
    if due <= created:
        return steps[-1][1], []
    parts, total = _working_parts(created, due, is_workday, zone)
    moments = [(due if threshold >= 1 else _moment(parts, total, threshold), colour)
               for threshold, colour in steps if threshold > 0]
    return steps[0][1], moments
