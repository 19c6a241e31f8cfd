"""Dates as a certificate writes them, in the exercise's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pmd_domain.clock import as_aware

_MONTHS = {
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


def long_date(moment: datetime, *, zone: str, language: str = "es") -> str:
    """``23 de noviembre de 2026`` (or ``November 23, 2026``) on the local calendar."""
    day = as_aware(moment).astimezone(ZoneInfo(zone)).date()
    if language == "en":
        return f"{_MONTHS['en'][day.month - 1]} {day.day}, {day.year}"
    return f"{day.day} de {_MONTHS['es'][day.month - 1]} de {day.year}"
