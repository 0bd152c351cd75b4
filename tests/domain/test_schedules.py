"""Schedules: what people type, time zones, next runs and period keys across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.schedules import Schedule, ScheduleError, parse_timezone, parse_when


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ("daily 08:00", "daily 08:00"),
        ("daily at 8am", "daily 08:00"),
        ("Daily 8 PM", "daily 20:00"),
        ("every day 18:30", "daily 18:30"),
        ("08:00", "daily 08:00"),
        ("noon", "daily 12:00"),
        ("daily", "daily 08:00"),
        ("weekly mon 09:30", "weekly mon 09:30"),
        ("weekly monday at 9:30", "weekly mon 09:30"),
        ("mondays 9am", "weekly mon 09:00"),
        ("every friday 17:00", "weekly fri 17:00"),
        ("weekly", "weekly mon 08:00"),
        ("asap", "every 1h"),
        ("as papers arrive", "every 1h"),
        ("every 2h", "every 2h"),
        ("every 30 minutes", "every 30m"),
        ("hourly", "every 1h"),
        ("asap 4h", "every 4h"),
    ],
)
def test_what_people_type(typed: str, text: str) -> None:
    schedule = parse_when(typed)
    assert schedule.text == text
    assert parse_when(schedule.text) == schedule


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "say when the digest should come"),
        ("daily 25:00", "the hour must be 0 to 23"),
        ("daily 8:61", "the minutes must be 00 to 59"),
        ("daily 13pm", "with am/pm the hour is 1 to 12"),
        ("weekly funday 9:00", "'funday' is not a day of the week"),
        ("every 5m", "too short: at least 15 minutes"),
        ("every 7h", "must divide a day evenly"),
        ("every 2d", "cannot read '2d'"),
        ("every 48h", "too long: at most one day"),
        ("sometimes", "cannot read 'sometimes' as a schedule"),
        ("daily 8:00 9:00", "cannot read 'daily 8:00 9:00'"),
    ],
)
def test_what_cannot_be_read_says_why(typed: str, message: str) -> None:
    with pytest.raises(ScheduleError) as err:
        parse_when(typed)
    assert message in str(err.value)


def test_descriptions_for_people() -> None:
    assert parse_when("daily 08:00", timezone="Europe/Berlin").describe() == (
        "daily at 08:00 (Europe/Berlin)"
    )
    assert parse_when("weekly sun 18:00").describe() == "every Sunday at 18:00 (UTC)"
    assert parse_when("every 30m").describe() == "as papers arrive, at most every 30 minutes"


def test_time_zones_are_iana_names_in_any_case() -> None:
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    assert parse_timezone("America/New York") == "America/New_York"
    assert parse_timezone("utc") == "UTC"
    with pytest.raises(ScheduleError, match="did you mean Europe/Berlin"):
        parse_timezone("Europe/Berln")
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Base'"):
        parse_timezone("Mars/Base")
    with pytest.raises(ScheduleError, match="unknown time zone"):
        Schedule("daily", "Mars/Base", at=time(8))


# --- daily across time zones and DST --------------------------------------------------------------


def test_daily_in_two_time_zones() -> None:
    berlin = parse_when("daily 08:00", timezone="Europe/Berlin")
    new_york = parse_when("daily 08:00", timezone="America/New_York")
    moment = utc("2024-11-25T12:00")
    assert berlin.next_fire(moment) == utc("2024-11-26T07:00")
    assert new_york.next_fire(moment) == utc("2024-11-25T13:00")
    assert berlin.period_key(moment) == "d:2024-11-25"
    # 12:00 UTC is 07:00 in New York: Monday's slot has not come, the period is Sunday's.
    assert new_york.period_key(moment) == "d:2024-11-24"


def test_berlin_spring_forward() -> None:
    schedule = parse_when("daily 08:00", timezone="Europe/Berlin")
    fires = schedule.fires_between(utc("2024-03-29T12:00"), utc("2024-04-02T12:00"))
    assert fires == [
        utc("2024-03-30T07:00"),  # CET, UTC+1
        utc("2024-03-31T06:00"),  # CEST from 02:00 that morning, UTC+2
        utc("2024-04-01T06:00"),
        utc("2024-04-02T06:00"),
    ]
    assert [schedule.period_key(f) for f in fires] == [
        "d:2024-03-30",
        "d:2024-03-31",
        "d:2024-04-01",
        "d:2024-04-02",
    ]


def test_a_time_that_does_not_exist_fires_after_the_gap() -> None:
    schedule = parse_when("daily 02:30", timezone="Europe/Berlin")
    fire = schedule.next_fire(utc("2024-03-30T12:00"))
    assert fire == utc("2024-03-31T01:30")  # 03:30 CEST: 02:30 never happens that day
    assert schedule.period_key(fire) == "d:2024-03-31"


def test_berlin_fall_back_fires_once_and_the_repeat_hour_has_the_same_period() -> None:
    schedule = parse_when("daily 02:30", timezone="Europe/Berlin")
    fires = schedule.fires_between(utc("2024-10-26T12:00"), utc("2024-10-28T12:00"))
    assert fires == [utc("2024-10-27T00:30"), utc("2024-10-28T01:30")]
    # 02:30 happens again at 01:30 UTC (CET); a scheduler firing then finds the period taken.
    assert schedule.period_key(utc("2024-10-27T01:30")) == "d:2024-10-27"


def test_new_york_spring_forward_and_fall_back() -> None:
    schedule = parse_when("daily 09:00", timezone="America/New_York")
    assert schedule.fires_between(utc("2024-03-09T00:00"), utc("2024-03-11T23:00")) == [
        utc("2024-03-09T14:00"),  # EST, UTC-5
        utc("2024-03-10T13:00"),  # EDT, UTC-4
        utc("2024-03-11T13:00"),
    ]
    assert schedule.fires_between(utc("2024-11-02T00:00"), utc("2024-11-04T23:00")) == [
        utc("2024-11-02T13:00"),
        utc("2024-11-03T14:00"),
        utc("2024-11-04T14:00"),
    ]


# --- weekly ---------------------------------------------------------------------------------------


def test_weekly_across_the_berlin_fall_back() -> None:
    schedule = parse_when("weekly sun 09:30", timezone="Europe/Berlin")
    fires = schedule.fires_between(utc("2024-10-19T00:00"), utc("2024-11-04T00:00"))
    assert fires == [utc("2024-10-20T07:30"), utc("2024-10-27T08:30"), utc("2024-11-03T08:30")]
    assert [schedule.period_key(f) for f in fires] == ["w:2024-W42", "w:2024-W43", "w:2024-W44"]


def test_weekly_period_keys_are_iso_weeks_across_the_new_year() -> None:
    schedule = parse_when("weekly mon 08:00", timezone="America/New_York")
    assert schedule.period_key(utc("2024-12-30T14:00")) == "w:2025-W01"
    assert schedule.period_key(utc("2024-12-30T12:00")) == "w:2024-W52"  # before the slot
    assert schedule.window(utc("2024-12-31T00:00")) == (
        utc("2024-12-23T13:00"),
        utc("2024-12-30T13:00"),
    )


# --- as papers arrive -----------------------------------------------------------------------------


def test_batched_windows_start_at_multiples_of_the_interval() -> None:
    schedule = parse_when("every 2h", timezone="Asia/Kolkata")  # the zone plays no part
    moment = utc("2024-11-25T13:17")
    assert schedule.last_fire(moment) == utc("2024-11-25T12:00")
    assert schedule.next_fire(moment) == utc("2024-11-25T14:00")
    assert schedule.period_key(moment) == "a:2024-11-25T12:00Z"
    assert schedule.window(moment) == (utc("2024-11-25T10:00"), utc("2024-11-25T12:00"))


# --- properties -----------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
schedules = st.one_of(
    st.builds(
        lambda h, m, z: Schedule("daily", z, at=time(h, m)),
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(ZONES),
    ),
    st.builds(
        lambda d, h, m, z: Schedule("weekly", z, at=time(h, m), weekday=d),
        st.integers(0, 6),
        st.integers(0, 23),
        st.sampled_from([0, 30]),
        st.sampled_from(ZONES),
    ),
    st.builds(
        lambda minutes: Schedule("asap", "UTC", interval=timedelta(minutes=minutes)),
        st.sampled_from([15, 30, 60, 120, 360, 1440]),
    ),
)
instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(schedules, instants)
def test_slots_bracket_every_instant_and_name_its_period(schedule: Schedule, t: datetime) -> None:
    last = schedule.last_fire(t)
    upcoming = schedule.next_fire(t)
    assert last <= t < upcoming
    assert schedule.next_fire(last) > last
    assert schedule.period_key(last) == schedule.period_key(t)
    assert schedule.period_key(upcoming) != schedule.period_key(t)
    assert upcoming - last <= timedelta(days=7, hours=3)
