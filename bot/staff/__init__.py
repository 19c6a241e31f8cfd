"""Staff commands in the bot: moderation, broadcasts, statistics, panel link, staff list.

They run in a handler group before the citizen's (``STAFF_GROUP``). A staff handler
that is not for this user returns without a word, so the update falls through to the
citizen conversation, which answers exactly as it answers any unknown command: nobody
outside the staff can tell that staff commands exist. A handler that did handle the
update stops it (``ApplicationHandlerStop``, see ``bot.staff.access.staff_only``) so
the citizen flow never sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import BaseHandler

from bot.staff import broadcast, moderation, office, team
from bot.staff.access import known_staff, remember

__all__ = ["DRAFT_GROUP", "STAFF_GROUP", "known_staff", "register", "remember"]

if TYPE_CHECKING:
    from bot.app import BotApplication

STAFF_GROUP = -1
# Steps of unfinished staff commands (a rejection's typed reason). A group of their own:
# in one group only the first matching handler runs, and these match any text.
DRAFT_GROUP = -2


def register(application: BotApplication) -> None:
    """Add every staff handler to ``application``."""
    handlers: list[BaseHandler[Any, Any, Any]] = [
        *moderation.handlers(),
        *office.handlers(),
        *team.handlers(),
        *broadcast.handlers(),
    ]
    application.add_handlers(handlers, group=STAFF_GROUP)
    application.add_handlers(moderation.draft_handlers(known_staff(application)), group=DRAFT_GROUP)
    # A broadcast being written takes its author's messages first (group -3).
    application.add_handlers(
        broadcast.draft_handlers(known_staff(application)), group=broadcast.DRAFT_GROUP
    )
