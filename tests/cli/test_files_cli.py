"""The files ``pmd`` writes: never over another file unasked, never over the database,
readable by their owner only when they hold personal data or codes, and nothing left
half done when the file cannot be written."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

from sqlalchemy import func, select

from pmd_domain.db import Database
from pmd_domain.db.models import AuditEntry, VerificationCode
from tests.botapi import BotApiServer
from tests.cli.test_cli import pmd

SECRET = "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV"
PUBLIC = "https://participa.pachuca.gob.mx"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}"}


def _said(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = pmd(*args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout + result.stderr


def test_no_file_is_replaced_unasked_and_never_the_database(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _said("db", "upgrade", env=env)[0] == 0  # the database exists
    database = tmp_path / "pmd.sqlite3"
    precious = tmp_path / "precious.txt"
    precious.write_text("no me borres")
    for args in (
        ("export", "-o", str(precious), "--format", "csv"),
        ("db", "backup", str(precious)),
    ):
        code, said = _said(*args, env=env)
        assert code == 2 and "ya existe" in said and "--force" in said, args
        assert precious.read_text() == "no me borres", args
    for args in (
        ("export", "-o", str(database), "--format", "csv", "--force"),
        ("db", "backup", str(database), "--force"),
        ("db", "backup", f"{database}-wal", "--force"),
    ):
        code, said = _said(*args, env=env)
        assert code == 2 and "es la base de datos" in said, args
        assert _said("staff", "list", env=env)[0] == 0, args
    folder = tmp_path / "carpeta.csv"
    folder.mkdir()
    for args in (
        ("export", "-o", str(folder), "--force"),
        ("db", "backup", str(folder), "--force"),
    ):
        code, said = _said(*args, env=env)
        assert code == 2 and "es una carpeta" in said and ".partial" not in said, args
    code, said = _said("export", "-o", str(tmp_path / "no-existe" / "p.csv"), env=env)
    assert code == 2 and "no existe" in said
    # A backup makes its folder (the timer's), for its owner only.
    assert _said("db", "backup", str(tmp_path / "respaldos" / "r.bak"), env=env)[0] == 0
    assert stat.S_IMODE((tmp_path / "respaldos").stat().st_mode) == 0o700
    # Asked to, they replace it.
    assert _said("export", "-o", str(precious), "--format", "csv", "--force", env=env)[0] == 0
    assert _said("db", "backup", str(precious), "--force", env=env)[0] == 0
    assert precious.read_bytes().startswith(b"SQLite format 3")


def test_backups_and_code_sheets_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "PMD_SECRET_KEY": SECRET, "PMD_PUBLIC_URL": PUBLIC}
    backup, sheet = tmp_path / "r.bak", tmp_path / "codigos.pdf"
    assert (
        _said("codes", "issue", "--count", "2", "--output", str(tmp_path / "a.pdf"), env=env)[0]
        == 0
    )
    assert _said("db", "backup", str(backup), env=env)[0] == 0
    assert _said("codes", "issue", "--count", "2", "--output", str(sheet), env=env)[0] == 0
    for made in (backup, sheet):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made


def test_a_backup_of_an_unknown_version_replaces_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path)
    backup = tmp_path / "r.bak"
    assert _said("staff", "add", "77", "--role", "analyst", env=env)[0] == 0
    assert _said("db", "backup", str(backup), env=env)[0] == 0
    with sqlite3.connect(backup) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    code, said = _said("db", "restore", str(backup), env=env)
    assert code == 2 and "9999_future" in said and "versión" in said
    code, said = _said("staff", "list", env=env)
    assert code == 0 and "77" in said


async def test_codes_are_not_issued_when_their_sheet_cannot_be_written(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "PMD_SECRET_KEY": SECRET, "PMD_PUBLIC_URL": PUBLIC}
    folder = tmp_path / "carpeta.pdf"
    folder.mkdir()
    for target, expected in ((Path("/proc/tarjetas.pdf"), "No se pudo"), (folder, "carpeta")):
        code, said = await asyncio.to_thread(
            _said, "codes", "issue", "--count", "3", "--output", str(target), "--force", env=env
        )
        assert code == 2 and expected in said, said
    database = Database(env["PMD_DATABASE_URL"])
    try:
        async with database.reading() as session:
            issued = await session.scalar(select(func.count()).select_from(VerificationCode))
        assert issued == 0
    finally:
        await database.dispose()


def test_codes_and_links_need_the_production_settings(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "PMD_ENV": "production"}
    for args in (
        ("codes", "issue", "--count", "2", "--output", str(tmp_path / "c.pdf")),
        ("staff", "link", "77"),
    ):
        code, said = _said(*args, env=env)
        assert code == 2 and "PMD_SECRET_KEY" in said, args


async def test_a_refused_bot_token_is_not_printed(botapi: BotApiServer) -> None:
    token = "123456:SECRETTOKEN.abcdefghijklmnopqrstuvw"  # one the server refuses (401)
    env = {
        "PMD_ENV": "development",
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": botapi.url,
    }
    result = await asyncio.to_thread(pmd, "telegram", "webhook", "info", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "SECRETTOKEN" not in result.stdout + result.stderr
    assert "Telegram" in result.stderr


def test_staff_commands_take_telegram_ids_and_plain_names_only(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "PMD_ADMIN_IDS": "42"}
    assert _said("staff", "add-web", "ana@example.mx", "--role", "analyst", env=env)[0] == 0
    for args in (
        ("staff", "add", "-1", "--role", "admin"),  # the web-only member's hidden id
        ("staff", "add", "0", "--role", "admin"),
        ("staff", "add", "9" * 25, "--role", "admin"),
        ("staff", "remove", "-1"),
        ("staff", "link", "-1"),
    ):
        code, said = _said(*args, env=env)
        assert code == 2, (args, said)
    code, said = _said("staff", "add", "42", "--role", "analyst", env=env)
    assert code == 2 and "PMD_ADMIN_IDS" in said
    code, said = _said(
        "staff", "add", "77", "--role", "analyst", "--name", "Ana\nFalsa\t99\tadmin", env=env
    )
    assert code == 0, said
    code, said = _said("staff", "list", env=env)
    assert code == 0
    assert "ana@example.mx\tanalyst" in said  # still an analyst
    assert [line for line in said.splitlines() if line.startswith("Falsa")] == []
    assert "77\tanalyst\tAna Falsa 99 admin" in said
    # A member of the web panel only is removed by e-mail (their id is never shown).
    code, said = _said("staff", "remove", "ana@example.mx", env=env)
    assert code == 0 and "ya no es parte del equipo" in said
    assert "ana@example.mx" not in _said("staff", "list", env=env)[1]
    code, said = _said("staff", "add", "78", "--role", "analyst", "--name", "x" * 5000, env=env)
    assert code == 0
    assert max(len(line) for line in _said("staff", "list", env=env)[1].splitlines()) < 200


async def test_team_changes_from_the_command_line_are_in_the_audit_log(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for args in (
        ("staff", "add", "77", "--role", "analyst"),
        ("staff", "add-web", "ana@example.mx", "--role", "moderator"),
        ("staff", "remove", "77"),
    ):
        assert (await asyncio.to_thread(_said, *args, env=env))[0] == 0, args
    database = Database(env["PMD_DATABASE_URL"])
    try:
        async with database.reading() as session:
            rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            entries = [(e.actor, e.action, e.target) for e in rows]
    finally:
        await database.dispose()
    assert [(actor, action) for actor, action, _ in entries] == [
        ("cli", "staff.role"),
        ("cli", "staff.role"),
        ("cli", "staff.remove"),
    ]
    assert entries[0][2] == entries[2][2] == "staff:77"
