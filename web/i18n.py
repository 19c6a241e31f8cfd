"""The web side's texts: catalogue keys in templates, in the visitor's language.

Templates never hold Spanish literals of their own; they call

- ``t("key", name=value)``: the catalogue text, escaped, with escaped parameters
  (a parameter already marked safe, e.g. a link built by the template, stays as is);
- ``tn("key", count)``: the plural form for ``count`` (``key.one`` / ``key.other``,
  chosen by the language's CLDR rule through Babel), ``{n}`` being the count;
- ``long_date(value)``: a date or datetime written the way the language writes it
  (``1 de diciembre de 2026`` in es_MX), via Babel (``pmd_domain.i18n.long_date``, as
  on the certificates); ``moment(value)``: a datetime with its time, as the staff
  panel lists them (``30 nov 2026, 9:00 p.m.``); ``iso_day(value)``: the day alone as
  ``2026-12-01``, for a public page's ``<time datetime>`` (the public pages, like the
  open data, give the day of a proposal, never its time). A datetime is read on the
  exercise's calendar (its time zone), as everywhere else.

Pages are in Spanish (``lang`` is ``es`` unless the handler passes another in its
context): a page is only offered in a language once its whole text is in that
catalogue, never half-translated. The browser chat, like the bot with the Telegram
client's ``language_code``, takes the browser's language: ``language(request)``
negotiates ``Accept-Language`` against the catalogues (Spanish when nothing matches).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from pmd_domain import i18n
from pmd_domain.clock import local_date
from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from web.keys import CATALOGS, CONSULTATION

_LANG = web.RequestKey("pmd_lang", str)


def language(request: web.Request) -> str:
    """The visitor's language among the catalogues' (computed once per request)."""
    found = request.get(_LANG)
    if found is None:
        found = request.app[CATALOGS].negotiate(request.headers.get("Accept-Language"))
        request[_LANG] = found
    return found


def text(request: web.Request, key: str, **params: object) -> str:
    """A catalogue text in the visitor's language (plain, for JSON and headers)."""
    return request.app[CATALOGS].text(language(request), key, **params)


def script_texts(
    catalogs: Catalogs, lang: str, keys: Mapping[str, str], **placeholders: str
) -> dict[str, str]:
    """A page script's texts by name (its ``data-texts``); ``placeholders`` keep the
    ``{name}`` the script fills in itself."""
    return {name: catalogs.text(lang, key, **placeholders) for name, key in keys.items()}


def _lang(context: Mapping[str, Any]) -> str:
    return str(context.get("lang") or DEFAULT_LANGUAGE)


def _escaped(template: str, params: Mapping[str, object]) -> Markup:
    # The catalogue's text is escaped; what fills it in too, unless it is already Markup.
    return escape(template).format(**params) if params else escape(template)


def setup(app: web.Application, env: jinja2.Environment) -> None:
    """Give the templates ``t``, ``tn``, ``long_date``, ``moment`` and ``iso_day``."""
    catalogs: Catalogs = app[CATALOGS]
    zone = app[CONSULTATION].exercise.timezone

    @jinja2.pass_context
    def t(context: Mapping[str, Any], key: str, **params: object) -> Markup:
        lang = _lang(context)
        return _escaped(catalogs.text(lang, key), params)

    @jinja2.pass_context
    def tn(context: Mapping[str, Any], key: str, count: int, **params: object) -> Markup:
        lang = _lang(context)
        form = catalogs.plural(lang, key, count, **{k: "{" + k + "}" for k in params})
        return _escaped(form, params)

    @jinja2.pass_context
    def long_date(context: Mapping[str, Any], value: date | datetime) -> str:
        return i18n.long_date(value, zone=zone, language=_lang(context))

    @jinja2.pass_context
    def moment(context: Mapping[str, Any], value: datetime) -> str:
        return i18n.moment(value, zone=zone, language=_lang(context))

    def iso_day(value: datetime) -> str:
        return local_date(value, zone).isoformat()

    env.globals.update(t=t, tn=tn, long_date=long_date, moment=moment, iso_day=iso_day)
