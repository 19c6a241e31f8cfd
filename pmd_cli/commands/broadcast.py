"""``pmd broadcast``: write, queue and follow campaign messages.

The command only writes to the database; the running ``pmd serve`` (its bot) sends
the campaign within Telegram's limits and can be paused or cancelled from here too.
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from typing import Any

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.errors import NotFound, WrongCampaignState
from pmd_domain.i18n import Catalogs
from pmd_domain.services import broadcasts
from pmd_domain.statuses import DeliveryStatus

AUDIENCE_HELP = (
    "all | pillar:EJE | gender:VALOR | age_group:VALOR | sector:VALOR | postal_code:CP | "
    "source:FUENTE | unfinished (sin propuesta terminada)"
)


@cache
def _catalogs() -> Catalogs:
    return Catalogs.load()


def _status_name(status: str) -> str:
    return _catalogs().text("es", f"broadcast.status.{status}")


def _confirmed(question: str) -> bool:
    print(f"{question} [s/N] ", end="", flush=True)
    answer = sys.stdin.readline()  # "" at end of input: no
    return answer.strip().lower() in ("s", "si", "sí", "y", "yes")


def send(args: argparse.Namespace) -> int:
    """Create a campaign, show its audience size, confirm and queue it."""
    settings = common.settings()
    consultation = common.consultation(settings)
    audience = broadcasts.parse_audience(args.audience, consultation=consultation)
    broadcasts.check_content(
        text=args.text, photo=args.photo, button_text=args.button_text, button_url=args.button_url
    )

    async def count(database: Database) -> broadcasts.AudienceSize:
        async with database.reading() as session:
            return await broadcasts.count_audience(session, audience=audience)

    size = common.run(common.with_database(settings, count, existing=True))
    print(
        f"Audiencia {audience.spec}: {size.reachable} personas "
        f"({size.matching - size.reachable} más silenciaron o bloquearon el bot)."
    )
    if not args.yes and not _confirmed("¿Enviar la difusión?"):
        print("No se envió nada.")
        return 1

    async def queue(database: Database) -> tuple[int, int]:
        async with database.transaction() as session:
            queued = await broadcasts.queue(
                session,
                consultation=consultation,
                content=broadcasts.Content(
                    text=args.text,
                    photo=args.photo,
                    button_text=args.button_text,
                    button_url=args.button_url,
                ),
                audience=audience,
                now=utcnow(),
            )
            return queued.campaign.id, queued.recipients

    campaign_id, recipients = common.run(common.with_database(settings, queue, existing=True))
    print(
        f"Difusión {campaign_id} en cola para {recipients} personas; "
        "el servicio (pmd serve) la envía. Sigue su avance con "
        f"pmd broadcast status {campaign_id}."
    )
    return 0


def _describe(campaign_id: int, progress: broadcasts.Progress) -> str:
    counts = ", ".join(
        f"{progress[s]} {name}"
        for s, name in (
            (DeliveryStatus.SENT, "enviados"),
            (DeliveryStatus.BLOCKED, "bloqueados"),
            (DeliveryStatus.FAILED, "fallidos"),
            (DeliveryStatus.SKIPPED, "omitidos"),
            (DeliveryStatus.PENDING, "pendientes"),
            (DeliveryStatus.SENDING, "en curso"),
        )
    )
    status = _status_name(progress.status)
    return f"Difusión {campaign_id} ({status}): {progress.total} destinatarios; {counts}."


def manage(args: argparse.Namespace) -> int:
    """Status, pause, resume or cancel one campaign, or list the latest."""
    settings = common.settings()

    async def work(database: Database) -> str:
        action = args.broadcast_command
        if action == "list":
            async with database.reading() as session:
                campaigns = await broadcasts.recent(session, limit=args.limit)
            lines = [
                f"{c.id}\t{_status_name(c.status)}\t"
                f"{broadcasts.audience_from_json(c.audience).spec}\t"
                f"{c.created_at:%Y-%m-%d %H:%M}\t{c.text[:40].replace(chr(10), ' ')}"
                for c in campaigns
            ]
            return "\n".join(lines) or "Aún no hay difusiones."
        try:
            async with database.transaction() as session:
                # "status" only reads.
                progress = await broadcasts.control(
                    session, campaign_id=args.id, action=action, now=utcnow()
                )
        except WrongCampaignState as exc:
            status = _status_name(str(exc.params.get("status")))
            raise common.CommandError(
                _catalogs().text("es", "broadcast.error.state", id=args.id, status=status)
            ) from None
        except NotFound:
            raise common.CommandError(
                _catalogs().text("es", "broadcast.error.not_found", id=args.id)
            ) from None
        return _describe(args.id, progress)

    print(common.run(common.with_database(settings, work, existing=True)))
    return 0


def register(sub: Any) -> None:
    """Add ``broadcast`` to the parser."""
    parser = sub.add_parser("broadcast", help="difusiones (mensajes de campaña)")
    actions = parser.add_subparsers(dest="broadcast_command", required=True, metavar="ACCIÓN")
    new = actions.add_parser("send", help="escribe una difusión y la pone en cola")
    new.add_argument("--text", required=True, help="el mensaje (texto plano)")
    new.add_argument("--photo", help="imagen: una URL https:// o un file_id de Telegram")
    new.add_argument("--button-text", help="texto del botón con enlace")
    new.add_argument("--button-url", help="enlace del botón (https://...)")
    new.add_argument("--audience", default="all", help=AUDIENCE_HELP)
    new.add_argument("--yes", action="store_true", help="no preguntar antes de enviar")
    new.set_defaults(func=send)
    listing = actions.add_parser("list", help="las últimas difusiones")
    listing.add_argument(
        "--limit", type=common.whole(1, 1000), default=20, help="cuántas (por omisión 20)"
    )
    listing.set_defaults(func=manage)
    for action, text in (
        ("status", "avance de una difusión"),
        ("pause", "pausa una difusión"),
        ("resume", "reanuda una difusión en pausa"),
        ("cancel", "cancela una difusión"),
    ):
        command = actions.add_parser(action, help=text)
        command.add_argument("id", type=common.whole(1, 10**18 - 1), help="número de la difusión")
        command.set_defaults(func=manage)
