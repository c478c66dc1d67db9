"""Quiet hours: the window maths on the customer's clock, across time zones and DST changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesorders.errors import ValidationError
from salesorders.notifications import QuietHours

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",  # half-hour DST shift
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
]

instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=dt.UTC)
)
# times on the quarter hour, where DST changes happen, to hit the gaps and folds often
walls = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.tuples(walls, walls).filter(lambda pair: pair[0] != pair[1])


def quiet_at(hours: QuietHours, moment: dt.datetime, zone: str) -> bool:
    return hours.contains(moment.astimezone(zoneinfo.ZoneInfo(zone)).time())


@given(windows, instants, st.sampled_from(ZONES))
def test_until_is_none_exactly_outside_the_window(
    window: tuple[dt.time, dt.time], now: dt.datetime, zone: str
) -> None:
    hours = QuietHours(*window)
    assert (hours.until(now, zone) is None) == (not quiet_at(hours, now, zone))


@given(windows, instants, st.sampled_from(ZONES), st.floats(0, 1, exclude_max=True))
def test_until_is_the_first_instant_outside_the_window(
    window: tuple[dt.time, dt.time], now: dt.datetime, zone: str, fraction: float
) -> None:
    hours = QuietHours(*window)
    until = hours.until(now, zone)
    if until is None:
        return
    assert until.tzinfo is not None and until.utcoffset() is not None
    assert str(until.tzinfo) == zone
    # at most a day and a night, and two of them when a clock jump skips the hours between one
    # window and the next (America/St_Johns springs forward at 02:00)
    assert now < until <= now + dt.timedelta(hours=50)
    end = until.astimezone(dt.UTC)  # arithmetic in absolute time, not on the wall clock
    assert not quiet_at(hours, end, zone)  # it has ended at `until` ...
    assert quiet_at(hours, end - dt.timedelta(seconds=1), zone)  # ... and not a second before
    between = min(now + (end - now) * fraction, end - dt.timedelta(microseconds=1))
    assert quiet_at(hours, between, zone)  # quiet all the way from now to until


def test_a_jump_over_the_hours_between_two_windows_joins_them() -> None:
    """Newfoundland springs forward from 02:00 to 03:00 on 2028-03-12: a window from 02:15 to
    02:00 has its open quarter hour skipped, so the night runs on to the next window's end."""
    hours = QuietHours(dt.time(2, 15), dt.time(2, 0))
    now = dt.datetime(2028, 3, 11, 6, 0, tzinfo=dt.UTC)  # 02:30 in St. John's
    until = hours.until(now, "America/St_Johns")
    assert until == dt.datetime(2028, 3, 13, 2, 0, tzinfo=zoneinfo.ZoneInfo("America/St_Johns"))
    skipped = QuietHours(dt.time(3, 15), dt.time(2, 0))  # the window opens again after the jump
    later = skipped.until(dt.datetime(2028, 3, 11, 7, 0, tzinfo=dt.UTC), "America/St_Johns")
    assert later is not None and later.astimezone(dt.UTC) == dt.datetime(
        2028, 3, 12, 5, 30, tzinfo=dt.UTC
    )


def test_default_window_wraps_midnight_in_the_customers_zone() -> None:
    hours = QuietHours()
    late = dt.datetime(2026, 1, 15, 21, 0, tzinfo=dt.UTC)  # 22:00 in Berlin, 16:00 in New York
    assert hours.until(late, "Europe/Berlin") == dt.datetime(2026, 1, 16, 7, 0, tzinfo=dt.UTC)
    assert hours.until(late, "America/New_York") is None
    early = dt.datetime(2026, 1, 16, 6, 59, tzinfo=dt.UTC)  # 07:59 in Berlin
    assert hours.until(early, "Europe/Berlin") == dt.datetime(2026, 1, 16, 7, 0, tzinfo=dt.UTC)
    assert hours.until(early + dt.timedelta(minutes=1), "Europe/Berlin") is None


def test_an_end_in_the_spring_gap_ends_the_window_at_the_jump() -> None:
    hours = QuietHours(dt.time(1, 0), dt.time(2, 30))  # 02:30 does not exist on 29 March 2026
    until = hours.until(dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), "Europe/Berlin")
    assert until == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)  # 03:00 CEST
    assert (until.hour, until.minute) == (3, 0)


def test_an_end_in_the_autumn_fold_is_the_first_end_after_now() -> None:
    hours = QuietHours(dt.time(1, 0), dt.time(2, 30))  # 02:00-03:00 happens twice on 25 Oct
    first = hours.until(dt.datetime(2026, 10, 25, 0, 10, tzinfo=dt.UTC), "Europe/Berlin")
    assert first is not None and first.fold == 0
    # an aware time in a fold never equals one of another zone (PEP 495): compare in UTC
    assert first.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # CEST
    second = hours.until(dt.datetime(2026, 10, 25, 1, 10, tzinfo=dt.UTC), "Europe/Berlin")
    assert second is not None and second.fold == 1
    assert second.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)  # CET


def test_refuses_what_it_cannot_reason_about() -> None:
    with pytest.raises(ValidationError) as info:
        QuietHours(dt.time(8, 0), dt.time(8, 0))
    assert info.value.field == "end"
    with pytest.raises(ValidationError) as info:
        QuietHours().until(dt.datetime(2026, 1, 1, 12, 0), "Europe/Berlin")
    assert info.value.field == "now"
    with pytest.raises(ValidationError) as info:
        QuietHours().until(dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC), "Mars/Olympus")
    assert info.value.field == "time_zone"
    with pytest.raises(ValidationError) as info:
        QuietHours(start="21:00")  # type: ignore[arg-type]
    assert info.value.field == "start"
