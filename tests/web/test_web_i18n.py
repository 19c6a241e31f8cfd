"""The templates' catalogue helpers: escaped texts, plurals by count, dates as in Mexico."""

from __future__ import annotations

from datetime import date

import aiohttp_jinja2

from pmd_domain.settings import Settings
from web.app import create_app


def test_templates_write_catalogue_texts_plurals_and_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", env="development")
    app = create_app(settings)
    env = aiohttp_jinja2.get_env(app)
    page = env.from_string(
        "{{ long_date(day) }}|{{ short_date(day) }}|{{ t('missing.key') }}|{{ lang|default('es') }}"
    )
    assert page.render(day=date(2026, 12, 1)) == "1 de diciembre de 2026|01/12/26|missing.key|es"
    english = page.render(day=date(2026, 12, 1), lang="en")
    assert english.startswith("December 1, 2026|12/1/26|")

    # A key missing from the catalogue shows as itself, escaped, and so do its parameters.
    escaped = env.from_string("{{ t('<b>{v}</b>', v=value) }}").render(value="<i>")
    assert escaped == "&lt;b&gt;&lt;i&gt;&lt;/b&gt;"
