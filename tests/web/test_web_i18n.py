"""The templates' catalogue helpers: escaped texts, plurals by count, dates as in Mexico."""

from __future__ import annotations

from datetime import UTC, date, datetime

import aiohttp_jinja2

from pmd_domain.settings import Settings
from web.app import create_app


def test_templates_write_catalogue_texts_plurals_and_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", env="development")
    app = create_app(settings)
    env = aiohttp_jinja2.get_env(app)
    page = env.from_string(
        "{{ long_date(day) }}|{{ moment(at) }}|{{ t('missing.key') }}|{{ lang|default('es') }}"
    )
    # 03:00 UTC on 1 December is 21:00 on 30 November in Pachuca (the exercise's zone).
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    spanish = page.render(day=date(2026, 12, 1), at=at)
    assert spanish == "1 de diciembre de 2026|30 nov 2026, 9:00\u202fp.m.|missing.key|es"
    english = page.render(day=date(2026, 12, 1), at=at, lang="en")
    assert english.startswith("December 1, 2026|Nov 30, 2026, 9:00\u202fPM|")

    # A key missing from the catalogue shows as itself, escaped, and so do its parameters.
    escaped = env.from_string("{{ t('<b>{v}</b>', v=value) }}").render(value="<i>")
    assert escaped == "&lt;b&gt;&lt;i&gt;&lt;/b&gt;"
