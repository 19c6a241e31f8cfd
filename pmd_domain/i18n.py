"""Translation catalogues: gettext ``.po`` files keyed by stable message ids.

Each language has a folder ``pmd_domain/locales/<lang>/`` holding one or more
``.po`` files (one per area: ``chat.po``, ``certificates.po``, ``web.po`` ...);
they are merged when loaded. A municipality adds a language (Hñähñu, Náhuatl, ...)
by adding a folder with translated copies. Missing entries fall back to Spanish.

Dates are written here too (``long_date``; ``moment`` for a date and time, from its
``medium_date`` and ``clock_time``), with
Babel's CLDR data and on the exercise's calendar: a day reads the same in the chat, on
a certificate, a code card, the dashboard and every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_time
from babel.messages.pofile import read_po

from pmd_domain.clock import as_aware, local_date, local_moment

DEFAULT_LANGUAGE = "es"
LANGUAGE_NAMES = {"es": "Español", "en": "English"}
# Babel's locale for a catalogue language's dates (Mexico's for Spanish); a language
# without one of its own (a municipality's added language) writes them in Spanish.
DATE_LOCALES = {"es": "es_MX", "en": "en_US"}


def _date_locale(language: str) -> str:
    """The Babel locale whose calendar words write ``language``'s dates."""
    return DATE_LOCALES.get(language, DATE_LOCALES[DEFAULT_LANGUAGE])


def _day(value: date | datetime, zone: str | None) -> date:
    """The day of ``value`` on the calendar of ``zone`` (a plain date is that day)."""
    if not isinstance(value, datetime):
        return value
    return local_date(value, zone) if zone else as_aware(value).date()


def long_date(
    value: date | datetime, *, zone: str | None = None, language: str = DEFAULT_LANGUAGE
) -> str:
    """``1 de diciembre de 2026`` (``December 1, 2026`` in English), on ``zone``'s calendar."""
    return format_date(_day(value, zone), format="long", locale=_date_locale(language))


def moment(value: datetime, *, zone: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``30 nov 2026, 9:00 p.m.`` (``Nov 30, 2026, 9:00 PM``): a moment in ``zone``."""
    pattern = Locale.parse(_date_locale(language)).datetime_formats["medium"]
    time = clock_time(value, zone=zone, language=language)
    return str(pattern).format(time, medium_date(value, zone=zone, language=language))


def medium_date(value: datetime, *, zone: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``30 nov 2026`` (``Nov 30, 2026``): the day of a moment in ``zone``, as ``moment`` writes it."""
    return format_date(local_moment(value, zone), format="medium", locale=_date_locale(language))


def clock_time(value: datetime, *, zone: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``9:00 p.m.`` (``9:00 PM``): the time of a moment in ``zone``, as ``moment`` writes it."""
    return format_time(local_moment(value, zone), format="short", locale=_date_locale(language))


class _Params(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass
class Catalogs:
    """Every language's messages, loaded once at start-up."""

    messages: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | None = None) -> Catalogs:
        """Read every ``.po`` file under ``root`` (default: the packaged locales)."""
        base = Path(str(resources.files("pmd_domain") / "locales")) if root is None else root
        catalogs = cls()
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            merged: dict[str, str] = {}
            origin: dict[str, str] = {}  # key -> the file that gave it
            for po in sorted(folder.glob("*.po")):
                with po.open("rb") as handle:
                    catalog = read_po(handle, locale=None)
                for message in catalog:
                    if message.id and isinstance(message.id, str) and message.string:
                        if message.id in origin:  # one text would hide the other
                            raise ValueError(
                                f"{message.id!r} is in {origin[message.id]} and in {po.name}"
                                f" ({folder.name})"
                            )
                        origin[message.id] = po.name
                        merged[message.id] = str(message.string)
            catalogs.messages[folder.name] = merged
        return catalogs

    @property
    def languages(self) -> list[str]:
        """Languages with a catalogue, Spanish first."""
        return sorted(self.messages, key=lambda lang: (lang != DEFAULT_LANGUAGE, lang))

    def text(self, language: str, key: str, **params: object) -> str:
        """The message ``key`` in ``language`` (Spanish when missing), with ``{params}`` filled in."""
        template = self.messages.get(language, {}).get(key)
        if template is None:
            template = self.messages.get(DEFAULT_LANGUAGE, {}).get(key, key)
        return template.format_map(_Params(params)) if params else template

    def has(self, key: str, language: str = DEFAULT_LANGUAGE) -> bool:
        """Whether ``key`` exists in ``language``."""
        return key in self.messages.get(language, {})

    def variant(self, language: str, key: str, channel: str, **params: object) -> str:
        """``key@<channel>`` when the catalogue has a wording for that channel, else ``key``.

        A channel whose words differ (the browser chat has no "/silenciar" command,
        nothing to "tocar" on a desktop) gets its own entry, e.g. ``menu.hint@web``;
        every other channel reads the common one.
        """
        special = f"{key}@{channel}" if channel else ""
        if special and self.has(special, language):
            return self.text(language, special, **params)
        if special and not self.has(key, language) and self.has(special):
            return self.text(language, special, **params)  # the Spanish wording for it
        return self.text(language, key, **params)

    def plural(self, language: str, key: str, count: int, **params: object) -> str:
        """The plural form of ``key`` for ``count``: ``key.one``, ``key.other`` ...

        The form follows the language's CLDR plural rule (Babel), so a catalogue
        only holds the forms its language has; ``{n}`` is the count.
        """
        try:
            form = Locale.parse(language).plural_form(abs(count))
        except (UnknownLocaleError, ValueError):
            form = "other"
        chosen = f"{key}.{form}"
        if not (self.has(chosen, language) or self.has(chosen)):
            chosen = f"{key}.other"
        return self.text(language, chosen, n=count, **params)

    def negotiate(self, accepted: str | None) -> str:
        """The best catalogue language for an ``Accept-Language``-like string."""
        wanted = [
            part.split(";")[0].strip().replace("-", "_") for part in (accepted or "").split(",")
        ]
        found = negotiate_locale([w for w in wanted if w and w != "*"], self.languages, sep="_")
        if found is None:
            # "es-MX" against the catalogue "es": negotiate on the language alone.
            bare = [w.split("_")[0] for w in wanted if w and w != "*"]
            found = negotiate_locale(bare, self.languages)
        return found or DEFAULT_LANGUAGE
