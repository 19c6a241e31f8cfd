"""What ``pmd`` says when its settings, its database or its arguments are wrong: one
Spanish line and exit code 2, never a traceback or a message written for programmers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import pmd

URLS = [
    "garbage",
    "",
    "mysql://u:p@localhost/x",
    "postgresql://u:p@localhost/x",
    "sqlite:///var/x.sqlite3",
    "sqlite+aiosqlite://",
    "sqlite+aiosqlite:///:memory:",
    "postgresql+asyncpg://u:p@127.0.0.1:abc/x",
    "postgresql+asyncpg://u:p@127.0.0.1:99999/x",
]


@pytest.mark.parametrize("url", URLS)
def test_a_database_url_that_cannot_work_is_one_spanish_line(url: str) -> None:
    result = pmd("staff", "list", env={"PMD_DATABASE_URL": url, "PMD_ENV": "development"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "PMD_DATABASE_URL" in result.stderr and "sqlite+aiosqlite" in result.stderr


def test_settings_errors_are_spanish(tmp_path: Path) -> None:
    db = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}"}
    for name, value, expected in (
        ("PMD_PORT", "abc", "debe ser un número entero"),
        ("PMD_ENV", "prod", "debe ser uno de"),
        ("PMD_ADMIN_IDS", "x,y", "PMD_ADMIN_IDS"),
        ("PMD_PUBLIC_URL", "notaurl", "https://"),
    ):
        result = pmd("staff", "list", env={**db, name: value})
        assert result.returncode == 2
        assert expected in result.stderr and name in result.stderr, result.stderr
        assert "pydantic" not in result.stderr and "validation error" not in result.stderr
        assert "Input should" not in result.stderr


def test_an_unreachable_database_server_is_not_called_a_file(tmp_path: Path) -> None:
    env = {"PMD_DATABASE_URL": "postgresql+asyncpg://u:p@127.0.0.1:1/x", "PMD_ENV": "development"}
    result = pmd("staff", "list", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "archivo" not in result.stderr and "base de datos" in result.stderr, result.stderr
    assert ":p@" not in result.stderr  # never the password


def test_a_domain_refusal_is_its_sentence_and_text_that_is_not_utf8_is_told(
    tmp_path: Path,
) -> None:
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}"}
    result = pmd("certificate", "revoke", "C23-000001", "--reason", "\x01\x02", env=env)
    assert result.returncode == 2 and "error." not in result.stderr, result.stderr
    for args in (
        ("staff", "add", "10", "--role", "analyst", "--name", "\udcff"),
        ("staff", "add-web", "\udcff@x.mx", "--role", "analyst"),
    ):
        result = pmd(*args, env=env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "UTF-8" in result.stderr


def test_a_database_that_does_not_exist_is_refused_where_only_its_records_could_serve(
    tmp_path: Path,
) -> None:
    """A mistyped PMD_DATABASE_URL: "nobody on the team", "0 proposals exported" or a
    purge of nothing would be false answers. Nothing is created, not even the folder."""
    missing = tmp_path / "mal-escrita" / "pmd.sqlite3"
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{missing}"}
    exported = tmp_path / "propuestas.csv"
    for args in (
        ("staff", "list"),
        ("staff", "remove", "5"),
        ("export", "--output", str(exported)),
        ("certificate", "revoke", "C23-000001", "--reason", "error de captura"),
        ("broadcast", "list"),
        ("broadcast", "status", "1"),
        ("broadcast", "send", "--text", "Hola", "--audience", "all", "--yes"),
        ("privacy", "purge", "--dry-run"),
    ):
        result = pmd(*args, env=env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
        assert f"No existe la base de datos {missing}" in result.stderr, (args, result.stderr)
        assert "PMD_DATABASE_URL" in result.stderr and "pmd db upgrade" in result.stderr
        assert not missing.parent.exists() and not exported.exists(), args
    # What may start a new database still does: the first member of the team.
    added = pmd("staff", "add", "5", "--role", "analyst", env=env)
    assert added.returncode == 0, added.stderr
    listed = pmd("staff", "list", env=env)
    assert listed.returncode == 0 and "5\tanalyst" in listed.stdout, listed.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("broadcast", "list", "--limit", "0"),
        ("broadcast", "list", "--limit", "-1"),
        ("broadcast", "status", "99999999999999999999"),
        ("telegram", "webhook", "set", "--max-connections", "0"),
        ("demo-setup", "--participants", "0"),
        ("demo-data", "--participants", "-3"),
        ("serve", "--port", "70000"),
    ],
)
def test_numbers_out_of_their_range_are_refused_before_anything_runs(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}"}
    result = pmd(*args, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "debe ser un número entero de" in result.stderr
    assert not (tmp_path / "pmd.sqlite3").exists()  # nothing ran


@pytest.mark.parametrize("slug", ["a\\1", 'a"b', "", "Con Espacios"])
def test_a_slug_that_is_no_identifier_is_refused_and_nothing_written(
    slug: str, tmp_path: Path
) -> None:
    target = tmp_path / "c.toml"
    result = pmd("consultation", "init", str(target), "--slug", slug)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "--slug" in result.stderr and not target.exists()


def test_unknown_revisions_unwritable_backups_and_an_empty_consultation_setting(
    tmp_path: Path,
) -> None:
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}"}
    for revision in ("nonsense", ""):
        result = pmd("db", "upgrade", revision, env=env)
        assert result.returncode == 2 and "no es una versión" in result.stderr, result.stderr
    assert pmd("db", "upgrade", env=env).returncode == 0
    result = pmd("db", "backup", "/proc/respaldo.bak", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    listed = pmd("staff", "list", env={**env, "PMD_CONSULTATION": ""})
    assert listed.returncode == 0 and "Errno" not in listed.stderr, listed.stderr


def test_ctrl_c_stops_a_long_demo_generation_and_keeps_nothing(tmp_path: Path) -> None:
    """The generation's statements run where an interrupt can reach them (bulk writes)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    url = f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}"
    assert pmd("db", "upgrade", env={"PMD_DATABASE_URL": url}).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMD_", "TELEGRAM_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "pmd_cli", "demo-data", "--participants", "1000000"],
        env={**env, "PMD_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)  # started, and generating
    process.send_signal(signal.SIGINT)
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("Ctrl+C did not stop the generation within a minute") from None
    assert process.returncode == 130, err
    assert "Interrumpido" in err and "Traceback" not in err
    listed = pmd("staff", "list", env={"PMD_DATABASE_URL": url})
    assert listed.returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "pmd.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM participants").fetchone() == (0,)
