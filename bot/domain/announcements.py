"""arXiv's announcement calendar: when new papers appear, and why none did.

arXiv announces at 20:00 US Eastern, Sunday to Thursday; none on Friday and Saturday evenings,
and none on the holidays it observes (arXiv/arxiv-docs ``help/availability.md``; its 2023 list:
Martin Luther King Jr. Day, Juneteenth, Independence Day, Labor Day, Thanksgiving, Christmas, and
a few ad-hoc days). The RSS feeds carry an announcement from about midnight Eastern, so papers
reach the catalog some hours after it: :data:`AVAILABILITY_LAG`.

Used to say why a digest is empty ("weekend", "arXiv holiday (Thanksgiving)") instead of
vanishing. Ad-hoc closures are not predictable; pass them as ``extra_holidays``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "ANNOUNCEMENT_TIME",
    "ARXIV_ZONE",
    "AVAILABILITY_LAG",
    "announcements_between",
    "arxiv_holidays",
    "holiday_name",
    "skipped_between",
]

ARXIV_ZONE = ZoneInfo("America/New_York")
ANNOUNCEMENT_TIME = time(20, 0)
# From the 20:00 announcement to the RSS update (midnight) and the default ingest (00:30).
AVAILABILITY_LAG = timedelta(hours=5)
# Monday=0 ... Sunday=6: announcements on Sunday to Thursday evenings.
_ANNOUNCING_WEEKDAYS = frozenset({6, 0, 1, 2, 3})


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _observed(day: date) -> date:
    """The weekday a US federal holiday is observed on (Saturday → Friday, Sunday → Monday)."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def arxiv_holidays(year: int) -> dict[date, str]:
    """The days of ``year`` with no announcement for a holiday arXiv observes.

    Both the date of a fixed holiday and its observed weekday are included (Christmas on a Sunday
    stops the Sunday and the Monday announcement).
    """
    fixed = {
        date(year, 1, 1): "New Year's Day",
        date(year, 6, 19): "Juneteenth",
        date(year, 7, 4): "Independence Day",
        date(year, 12, 25): "Christmas",
    }
    days: dict[date, str] = {}
    for day, name in fixed.items():
        days[day] = name
        days.setdefault(_observed(day), name)
    days[_nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    days[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    days[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving"
    # New Year's Day of next year observed on this year's 31 December (a Friday: no effect on
    # announcements, kept for completeness).
    new_year = date(year + 1, 1, 1)
    if _observed(new_year).year == year:
        days[_observed(new_year)] = "New Year's Day"
    return days


def holiday_name(day: date, extra_holidays: Iterable[date] = ()) -> str | None:
    """Why arXiv does not announce on ``day`` (a US Eastern date), if it is a holiday."""
    if day in set(extra_holidays):
        return "arXiv closure"
    return arxiv_holidays(day.year).get(day)


def _slot_days(start: datetime, end: datetime) -> list[date]:
    """Eastern dates whose 20:00 falls in ``(start, end]``."""
    first = start.astimezone(ARXIV_ZONE).date() - timedelta(days=1)
    last = end.astimezone(ARXIV_ZONE).date() + timedelta(days=1)
    days: list[date] = []
    day = first
    while day <= last:
        slot = datetime.combine(day, ANNOUNCEMENT_TIME, tzinfo=ARXIV_ZONE)
        if start < slot <= end:
            days.append(day)
        day += timedelta(days=1)
    return days


def announcements_between(
    start: datetime, end: datetime, *, extra_holidays: Iterable[date] = ()
) -> list[datetime]:
    """The announcements (as UTC instants) in ``(start, end]``."""
    extra = set(extra_holidays)
    return [
        datetime.combine(day, ANNOUNCEMENT_TIME, tzinfo=ARXIV_ZONE).astimezone(UTC)
        for day in _slot_days(start, end)
        if day.weekday() in _ANNOUNCING_WEEKDAYS and holiday_name(day, extra) is None
    ]


def skipped_between(
    start: datetime, end: datetime, *, extra_holidays: Iterable[date] = ()
) -> list[tuple[date, str]]:
    """Announcement days in ``(start, end]`` skipped for a holiday: (Eastern date, its name)."""
    extra = set(extra_holidays)
    out: list[tuple[date, str]] = []
    for day in _slot_days(start, end):
        if day.weekday() not in _ANNOUNCING_WEEKDAYS:
            continue
        name = holiday_name(day, extra)
        if name is not None:
            out.append((day, name))
    return out
