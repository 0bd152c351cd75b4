"""When a subscription's digest falls due: daily, weekly, or as papers arrive (batched).

A :class:`Schedule` is pure data in an IANA time zone. It answers three questions, all with
aware datetimes and all DST-safe (``zoneinfo``):

* :meth:`Schedule.next_fire` — the first slot strictly after an instant;
* :meth:`Schedule.last_fire` — the latest slot at or before an instant;
* :meth:`Schedule.period_key` — the name of the period an instant belongs to: the local date of
  the daily slot (``d:2024-11-28``), the ISO week of the weekly slot (``w:2024-W48``) or the start
  of the batch window (``a:2024-11-28T10:00Z``). A digest is claimed once per period key, so
  however often a scheduler fires inside one period (a retry, a second process, the repeated
  hour when clocks go back), at most one digest is posted for it.

Local times that do not exist (clocks go forward: 02:30 on the last Sunday of March in Berlin)
fire at the same distance after the previous midnight in the old offset, that is 03:30 in the new
one, as APScheduler's CronTrigger does. Local times that happen twice (clocks go back) fire at
the first of the two; CronTrigger fires at both, and the period key makes the second a no-op.

:func:`parse_when` reads what people type: ``daily 08:00``, ``weekly mon 09:30``, ``asap``,
``every 2h``. Turning a schedule into an APScheduler trigger is the scheduler's business
(bot.digests.scheduler), not this module's.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_TIME",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "WEEKDAYS",
    "Schedule",
    "ScheduleError",
    "ScheduleKind",
    "parse_timezone",
    "parse_when",
]

ScheduleKind: TypeAlias = Literal["daily", "weekly", "asap"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{
        full: i
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "wednes": 2,
    "thur": 3,
    "thurs": 3,
}
DEFAULT_TIME = time(8, 0)
DEFAULT_INTERVAL = timedelta(hours=1)
MIN_INTERVAL = timedelta(minutes=15)
MAX_INTERVAL = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_EXAMPLES = "e.g. 'daily 08:00', 'weekly mon 09:30', 'asap' or 'every 2h'"


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message is written for the person."""


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A digest schedule. ``at`` is the local time of daily and weekly slots; ``weekday`` (0 is
    Monday) the day of weekly ones; ``interval`` the minimum time between two posts of an
    "as papers arrive" (``asap``) subscription, whose windows start at multiples of it since the
    Unix epoch (so a 2 h schedule's windows start at even UTC hours)."""

    kind: ScheduleKind
    timezone: str = "UTC"
    at: time | None = None
    weekday: int | None = None
    interval: timedelta | None = None

    def __post_init__(self) -> None:
        parse_timezone(self.timezone)  # raises for an unknown zone
        if self.kind in ("daily", "weekly"):
            if self.at is None:
                raise ScheduleError(f"a {self.kind} schedule needs a time of day")
            if self.at.tzinfo is not None or self.at.second or self.at.microsecond:
                raise ScheduleError("the time of day is hours and minutes, without a zone")
            if self.interval is not None:
                raise ScheduleError(f"a {self.kind} schedule has no interval")
        if self.kind == "weekly" and (self.weekday is None or not 0 <= self.weekday <= 6):
            raise ScheduleError("a weekly schedule needs a day of the week (mon to sun)")
        if self.kind != "weekly" and self.weekday is not None:
            raise ScheduleError(f"a {self.kind} schedule has no day of the week")
        if self.kind == "asap":
            if self.interval is None:
                raise ScheduleError("an 'as papers arrive' schedule needs an interval")
            if self.at is not None:
                raise ScheduleError("an 'as papers arrive' schedule has no time of day")
            _check_interval(self.interval)

    # -- describing ------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    def text(self) -> str:
        """The canonical ``when`` text: :func:`parse_when` of it gives this schedule back."""
        if self.kind == "asap":
            assert self.interval is not None
            return f"every {_interval_text(self.interval)}"
        assert self.at is not None
        clock = self.at.strftime("%H:%M")
        if self.kind == "daily":
            return f"daily {clock}"
        assert self.weekday is not None
        return f"weekly {WEEKDAYS[self.weekday]} {clock}"

    def describe(self) -> str:
        """In words, for people: ``daily at 08:00 (Europe/Berlin)``."""
        if self.kind == "asap":
            assert self.interval is not None
            return f"as papers arrive, at most every {_interval_words(self.interval)}"
        assert self.at is not None
        clock = self.at.strftime("%H:%M")
        if self.kind == "daily":
            return f"daily at {clock} ({self.timezone})"
        assert self.weekday is not None
        day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[
            self.weekday
        ]
        return f"every {day} at {clock} ({self.timezone})"

    # -- slots -----------------------------------------------------------------------------------

    def _slot(self, day: date) -> datetime:
        """The UTC instant of the slot on local ``day`` (DST gaps resolved as documented)."""
        assert self.at is not None
        local = datetime.combine(day, self.at, tzinfo=self.zone)  # fold=0: the first of two
        return local.astimezone(UTC)

    def _days(self, moment: datetime, back: int, ahead: int) -> list[date]:
        today = moment.astimezone(self.zone).date()
        days = [today + timedelta(days=n) for n in range(-back, ahead + 1)]
        if self.kind == "weekly":
            days = [d for d in days if d.weekday() == self.weekday]
        return days

    def next_fire(self, after: datetime) -> datetime:
        """The first slot strictly after ``after`` (UTC; a naive ``after`` is taken as UTC)."""
        moment = _utc(after)
        if self.kind == "asap":
            assert self.interval is not None
            return self._window_start(moment) + self.interval
        for day in self._days(moment, 1, 8):
            slot = self._slot(day)
            if slot > moment:
                return slot
        raise AssertionError("unreachable: a slot exists every week")  # pragma: no cover

    def last_fire(self, at: datetime) -> datetime:
        """The latest slot at or before ``at`` (UTC)."""
        return self._last(_utc(at))[0]

    def _last(self, moment: datetime) -> tuple[datetime, date | None]:
        if self.kind == "asap":
            return self._window_start(moment), None
        for day in reversed(self._days(moment, 8, 1)):
            slot = self._slot(day)
            if slot <= moment:
                return slot, day
        raise AssertionError("unreachable: a slot exists every week")  # pragma: no cover

    def _window_start(self, moment: datetime) -> datetime:
        assert self.interval is not None
        step = int(self.interval.total_seconds())
        seconds = int((moment - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=seconds - seconds % step)

    def period_key(self, at: datetime) -> str:
        """The period ``at`` belongs to: the one that began at :meth:`last_fire` (see the
        module docstring). Stable across processes and restarts."""
        slot, day = self._last(_utc(at))
        if self.kind == "asap":
            return "a:" + slot.strftime("%Y-%m-%dT%H:%MZ")
        assert day is not None
        if self.kind == "daily":
            return f"d:{day.isoformat()}"
        year, week, _ = day.isocalendar()
        return f"w:{year}-W{week:02d}"

    def window(self, at: datetime) -> tuple[datetime, datetime]:
        """(previous slot, latest slot) around ``at``: the span a digest posted at ``at``
        normally covers, used to explain an empty one (weekend, holiday)."""
        end = self.last_fire(at)
        if self.kind == "asap":
            assert self.interval is not None
            return end - self.interval, end
        return self.last_fire(end - timedelta(seconds=1)), end

    def fires_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every slot in ``(start, end]`` (for tests and for showing the next few runs)."""
        out: list[datetime] = []
        moment = _utc(start)
        stop = _utc(end)
        while True:
            moment = self.next_fire(moment)
            if moment > stop:
                return out
            out.append(moment)


def _check_interval(interval: timedelta) -> None:
    if interval < MIN_INTERVAL:
        raise ScheduleError(
            f"the interval is too short: at least {_interval_words(MIN_INTERVAL)} between posts"
        )
    if interval > MAX_INTERVAL:
        raise ScheduleError(
            "the interval is too long: at most one day; use 'daily HH:MM' or "
            "'weekly DAY HH:MM' for less frequent digests"
        )
    if interval.total_seconds() % 60:
        raise ScheduleError("the interval is a whole number of minutes")
    if (24 * 3600) % int(interval.total_seconds()):
        # Windows start at multiples of the interval since the epoch; a divisor of a day keeps
        # them at the same times every day.
        raise ScheduleError(
            "the interval must divide a day evenly (15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, "
            f"24h), not {_interval_words(interval)}"
        )


def _interval_text(interval: timedelta) -> str:
    minutes = int(interval.total_seconds()) // 60
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _interval_words(interval: timedelta) -> str:
    minutes = int(interval.total_seconds()) // 60
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


# --- time zones ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    names = available_timezones()
    return {name.lower(): name for name in names}


def parse_timezone(text: str) -> str:
    """The IANA name for ``text`` (case-insensitive: ``europe/berlin`` is ``Europe/Berlin``).

    An unknown zone raises :class:`ScheduleError` with the closest names.
    """
    cleaned = text.strip().replace(" ", "_")
    if not cleaned:
        raise ScheduleError("the time zone is empty; use an IANA name such as Europe/Berlin")
    if cleaned.upper() in ("UTC", "Z", "GMT"):
        return "UTC"
    names = _zone_names()
    found = names.get(cleaned.lower())
    if found is not None:
        try:
            _zone(found)
        except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - tzdata inconsistency
            found = None
    if found is None:
        close = difflib.get_close_matches(cleaned.lower(), list(names), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(names[c] for c in close)}?" if close else ""
        raise ScheduleError(
            f"unknown time zone {text.strip()!r}: use an IANA name such as Europe/Berlin or "
            f"America/New_York{hint}"
        )
    return found


# --- parsing what people type -------------------------------------------------------------------

_TIME_RE = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|h)?$")
_INTERVAL_RE = re.compile(
    r"^(\d{1,4})\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours)$|^(minute|hour|half hour)$"
)
_ASAP_WORDS = frozenset(
    {"asap", "as papers arrive", "as soon as possible", "immediately", "realtime", "real-time"}
)


def _time(text: str, original: str) -> time:
    text = text.strip()
    if text in ("noon", "midday"):
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    m = _TIME_RE.match(text)
    if m is None:
        raise ScheduleError(
            f"cannot read {text!r} in {original!r} as a time of day: use HH:MM on a 24-hour "
            "clock, e.g. 08:00 or 18:30"
        )
    hour = int(m.group(1))
    minute = int(m.group(2) or 0)
    suffix = m.group(3)
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise ScheduleError(f"{text!r}: with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not 0 <= hour <= 23:
        raise ScheduleError(f"{text!r}: the hour must be 0 to 23")
    if not 0 <= minute <= 59:
        raise ScheduleError(f"{text!r}: the minutes must be 00 to 59")
    return time(hour, minute)


def _is_time(word: str) -> bool:
    return word in ("noon", "midday", "midnight") or _TIME_RE.match(word) is not None


def _interval(text: str, original: str) -> timedelta:
    m = _INTERVAL_RE.match(text.strip())
    if m is None:
        raise ScheduleError(
            f"cannot read {text!r} in {original!r} as an interval: use minutes or hours, "
            "e.g. 'every 30m' or 'every 2h'"
        )
    if m.group(3):
        word = m.group(3)
        minutes = {"minute": 1, "hour": 60, "half hour": 30}[word]
    else:
        amount = int(m.group(1))
        minutes = amount * (60 if m.group(2).startswith("h") else 1)
    if minutes <= 0:
        raise ScheduleError(f"{text!r}: the interval must be positive")
    interval = timedelta(minutes=minutes)
    _check_interval(interval)
    return interval


def _weekday(word: str) -> int | None:
    word = word.rstrip(".,")
    if word.endswith("s") and word[:-1] in _WEEKDAY_NAMES:  # "mondays"
        word = word[:-1]
    return _WEEKDAY_NAMES.get(word)


def parse_when(
    text: str,
    *,
    timezone: str = "UTC",
    default_time: time = DEFAULT_TIME,
    default_interval: timedelta = DEFAULT_INTERVAL,
) -> Schedule:
    """The schedule people mean by ``text``, in ``timezone``.

    Accepted: ``daily 08:00`` (also ``daily at 8am``, ``every day 18:30``, a bare ``08:00``, or
    ``daily`` for ``default_time``); ``weekly mon 09:30`` (also ``weekly monday at 9:30``,
    ``mondays 9am``, ``every monday``; ``weekly`` alone is Monday); ``asap`` (or ``as papers
    arrive``) batched every ``default_interval``; ``every 2h``, ``every 30m``, ``hourly``.
    Anything else raises :class:`ScheduleError` with what went wrong and an example.
    """
    original = text
    zone = parse_timezone(timezone)
    words = " ".join(text.lower().replace(",", " ").split())
    if not words:
        raise ScheduleError(f"say when the digest should come, {_EXAMPLES}")
    if words in _ASAP_WORDS:
        return Schedule("asap", zone, interval=default_interval)
    if words == "hourly":
        return Schedule("asap", zone, interval=timedelta(hours=1))
    tokens: list[str] = []
    for token in words.split():
        if token in ("at", "on"):
            continue
        if token in ("am", "pm", "h") and tokens:
            tokens[-1] += token  # "8 am" is "8am"
        else:
            tokens.append(token)
    if not tokens:
        raise ScheduleError(f"say when the digest should come, {_EXAMPLES}")
    if tokens and tokens[0] == "asap" and len(tokens) > 1:
        # "asap 2h": as papers arrive, at most every 2 hours
        return Schedule("asap", zone, interval=_interval(" ".join(tokens[1:]), original))
    if tokens[:2] == ["every", "day"]:
        tokens = ["daily", *tokens[2:]]
    elif tokens[0] == "every" and len(tokens) > 1 and _weekday(tokens[1]) is not None:
        tokens = ["weekly", *tokens[1:]]
    elif tokens[0] == "every":
        if len(tokens) == 1:
            raise ScheduleError(f"every what? {_EXAMPLES}")
        return Schedule("asap", zone, interval=_interval(" ".join(tokens[1:]), original))

    if tokens[0] == "daily":
        rest = tokens[1:]
        if len(rest) > 1:
            raise ScheduleError(f"cannot read {original.strip()!r}: {_EXAMPLES}")
        at = _time(rest[0], original) if rest else default_time
        return Schedule("daily", zone, at=at)

    weekly = tokens[0] == "weekly"
    rest = tokens[1:] if weekly else tokens
    day = _weekday(rest[0]) if rest else None
    if day is not None:
        rest = rest[1:]
        weekly = True
    if weekly:
        if day is None and rest and not _is_time(rest[0]):
            raise ScheduleError(
                f"{rest[0]!r} is not a day of the week: use mon, tue, wed, thu, fri, sat or sun"
            )
        if len(rest) > 1:
            raise ScheduleError(f"cannot read {original.strip()!r}: {_EXAMPLES}")
        at = _time(rest[0], original) if rest else default_time
        return Schedule("weekly", zone, at=at, weekday=day if day is not None else 0)

    if len(tokens) == 1 and _is_time(tokens[0]):
        return Schedule("daily", zone, at=_time(tokens[0], original))
    raise ScheduleError(f"cannot read {original.strip()!r} as a schedule: {_EXAMPLES}")
