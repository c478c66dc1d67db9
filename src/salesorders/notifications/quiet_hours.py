"""Quiet hours: the time of night a customer is not to be woken by a message, on their own clock."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import attrs

from salesorders.errors import ValidationError

__all__ = ["QuietHours"]


def _wall_time(instance: object, attribute: attrs.Attribute[dt.time], value: object) -> None:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise ValidationError(
            attribute.name, value, "must be a time of day without a time zone, like time(21, 0)"
        )


def _zone(time_zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError):
        raise ValidationError(
            "time_zone", time_zone, "must be an IANA time zone", "for example Europe/Berlin"
        ) from None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def _exists(wall: dt.datetime) -> bool:
    """Whether the local ``wall`` time is shown by the clock (it is not in a DST gap)."""
    shown = _utc(wall).astimezone(wall.tzinfo)
    return shown.replace(tzinfo=None) == wall.replace(tzinfo=None, fold=0)


def _gap_end(wall: dt.datetime) -> dt.datetime:
    """The first instant after the DST gap ``wall`` falls in (when the clock jumps forward)."""
    zone = wall.tzinfo
    ends = sorted((_utc(wall.replace(fold=0)), _utc(wall.replace(fold=1))))
    before = int(ends[0].timestamp())
    after = int(ends[1].timestamp())
    offset_after = dt.datetime.fromtimestamp(after, zone).utcoffset()
    while after - before > 1:  # the transition lies in (before, after]
        middle = (before + after) // 2
        if dt.datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return dt.datetime.fromtimestamp(after, zone)


@attrs.frozen(slots=True)
class QuietHours:
    """A window of the day, ``start`` to ``end`` on the customer's wall clock, in which nothing is
    sent to them; it wraps midnight when ``end`` is before ``start`` (the default, 21:00 to
    08:00). ``start`` is inside the window, ``end`` is not.

    >>> import datetime as dt
    >>> night = QuietHours()
    >>> night.until(dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.UTC), "Europe/Berlin")
    datetime.datetime(2026, 3, 3, 8, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/Berlin'))
    >>> night.until(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), "Europe/Berlin") is None
    True
    """

    start: dt.time = attrs.field(default=dt.time(21, 0), validator=_wall_time)
    end: dt.time = attrs.field(default=dt.time(8, 0), validator=_wall_time)

    def __attrs_post_init__(self) -> None:
        if self.start == self.end:
            raise ValidationError(
                "end", self.end, "must differ from start: an empty window is no quiet hours"
            )

    def contains(self, wall: dt.time) -> bool:
        """Whether the wall-clock time ``wall`` is inside the window."""
        wall = wall.replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def until(self, now: dt.datetime, time_zone: str) -> dt.datetime | None:
        """When the window that ``now`` falls in ends, in ``time_zone`` (an IANA name), or
        ``None`` when ``now`` is not inside it there.

        The answer is timezone-aware, in ``time_zone``, and correct across daylight-saving
        changes: when ``end`` does not exist that night (the clock jumps over it), the window
        ends at the jump; when it exists twice (the clock is set back), at the first ``end``
        after ``now``. When the jump skips the whole time between ``end`` and the next
        ``start``, the customer's clock goes from one window straight into the next, so the
        answer is the end of that next window.
        """
        if not isinstance(now, dt.datetime) or now.tzinfo is None:
            raise ValidationError("now", now, "must be a timezone-aware datetime")
        zone = _zone(time_zone)
        local = now.astimezone(zone)
        if not self.contains(local.time()):
            return None
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += dt.timedelta(days=1)  # the window wraps: it ends tomorrow morning
        for fold in (0, 1):
            wall = dt.datetime.combine(day, self.end, tzinfo=zone).replace(fold=fold)
            if not _exists(wall):
                jump = _gap_end(wall)
                # the clock may land inside the next window, its start skipped by the jump too
                return self.until(jump, time_zone) if self.contains(jump.time()) else jump
            if _utc(wall) > _utc(now):
                return _utc(wall).astimezone(zone)
        raise AssertionError("unreachable: the second fold of a wall time is never earlier")
