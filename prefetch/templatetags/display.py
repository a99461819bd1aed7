"""The one format for dates and durations in templates; static/js/app.js (App.fmtDate,
App.fmtDuration) writes the same in the browser. Dates are shown in the server's zone, named."""

from datetime import datetime

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html

from prefetch.measured_effect import answer_time as format_answer_time

register = template.Library()


def format_when(value: datetime) -> str:
    """`2026-11-29 14:57 Europe/Berlin`."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M} {settings.TIME_ZONE}"


def format_duration(seconds) -> str:
    """`47s`, `3m 5s`, `1h 2m 3s`; `–` when unknown."""
    if seconds is None:
        return "–"
    seconds = max(0, round(float(seconds)))
    hours, minutes, rest = seconds // 3600, seconds % 3600 // 60, seconds % 60
    if hours:
        return f"{hours}h {minutes}m {rest}s"
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"


@register.filter
def when(value):
    """A <time> element in the one date format (from a datetime or an ISO string); `–` for none."""
    if not value:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), format_when(value))


@register.filter
def duration(seconds) -> str:
    return format_duration(seconds)


@register.simple_tag
def server_zone() -> str:
    return settings.TIME_ZONE


@register.filter
def answer_time(ms) -> str:
    """`43 ms`, `2.3 s`: how long an addon took to answer."""
    return format_answer_time(ms)
