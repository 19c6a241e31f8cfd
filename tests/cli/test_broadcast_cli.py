"""``pmd broadcast`` as a real subprocess: queue, follow, pause, resume, cancel, bad input."""

from __future__ import annotations

from sqlalchemy import func, select

from pmd_domain.db import Database
from pmd_domain.db.models import Campaign, Delivery
from tests.cli.test_cli import pmd
from tests.conftest import run_async
from tests.factories import make_recipients, open_consultation


def _citizens(url: str) -> None:
    async def work() -> None:
        database = Database(url)
        async with database.transaction() as session:
            consultation = open_consultation()
            await make_recipients(session, consultation, range(1, 7), gender="mujer")
            await make_recipients(session, consultation, range(7, 10), gender="hombre")
            await make_recipients(session, consultation, range(10, 12), gender="mujer", muted=True)
        await database.dispose()

    run_async(work())


def _count(url: str, model: type) -> int:
    async def work() -> int:
        database = Database(url)
        async with database.reading() as session:
            found = int(await session.scalar(select(func.count()).select_from(model)) or 0)
        await database.dispose()
        return found

    return int(run_async(work()))


def test_send_shows_the_audience_asks_and_queues(sqlite_url: str) -> None:
    _citizens(sqlite_url)
    env = {"PMD_DATABASE_URL": sqlite_url}
    text = "¡Vota por las propuestas de tu colonia!"
    declined = pmd(
        "broadcast", "send", "--text", text, "--audience", "gender:mujer", env=env, answer="n\n"
    )
    assert declined.returncode == 1
    assert "6 personas (2 más silenciaron o bloquearon el bot)" in declined.stdout
    assert "No se envió nada" in declined.stdout
    assert _count(sqlite_url, Campaign) == 0
    queued = pmd(
        "broadcast", "send", "--text", text, "--audience", "gender:mujer", "--yes", env=env
    )
    assert queued.returncode == 0, queued.stderr
    assert "Difusión 1 en cola para 8 personas" in queued.stdout
    assert _count(sqlite_url, Delivery) == 8
    status = pmd("broadcast", "status", "1", env=env)
    assert "Difusión 1 (en cola): 8 destinatarios" in status.stdout
    assert "en pausa" in pmd("broadcast", "pause", "1", env=env).stdout
    assert "en cola" in pmd("broadcast", "resume", "1", env=env).stdout
    assert "cancelada" in pmd("broadcast", "cancel", "1", env=env).stdout
    again = pmd("broadcast", "cancel", "1", env=env)
    assert again.returncode == 2
    assert again.stderr.strip() == "Error: La difusión 1 está cancelada; eso ya no se puede hacer."
    listing = pmd("broadcast", "list", env=env)
    assert listing.stdout.startswith("1\tcancelada\tgender:mujer\t")


def test_bad_input_is_one_clear_line(sqlite_url: str) -> None:
    env = {"PMD_DATABASE_URL": sqlite_url}
    for args, words in (
        (["--text", "Hola", "--audience", "pillar:luna"], "pillar:luna no existe"),
        (["--text", "Hola", "--audience", "todos"], "audiencia desconocida «todos»"),
        (["--text", "   "], "el texto está vacío"),
        (["--text", "Hola", "--button-text", "Ir"], "un botón necesita texto y enlace"),
    ):
        result = pmd("broadcast", "send", *args, "--yes", env=env)
        assert result.returncode == 2, result
        assert result.stderr.count("\n") == 1 and words in result.stderr
        assert "Traceback" not in result.stderr
    missing = pmd("broadcast", "status", "42", env=env)
    assert missing.returncode == 2 and "No encontré la difusión 42" in missing.stderr
