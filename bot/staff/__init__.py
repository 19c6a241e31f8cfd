"""Staff in the bot: the staff flows (moderation, campaigns), statistics, panel link, staff list.

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

from bot.staff import broadcast, flows, office, team

__all__ = ["STAFF_GROUP", "register"]

if TYPE_CHECKING:
    from bot.app import BotApplication

STAFF_GROUP = -1


def register(application: BotApplication) -> None:
    """Add every staff handler to ``application``."""
    handlers: list[BaseHandler[Any, Any, Any]] = [
        *office.handlers(),
        *team.handlers(),
        *broadcast.handlers(),
    ]
    application.add_handlers(handlers, group=STAFF_GROUP)
    # The staff flows (/moderar, /difundir, a typed reason, a campaign being written)
    # take their member's updates first, routed by the state stored in the database.
    application.add_handlers(flows.handlers(), group=flows.FLOW_GROUP)
