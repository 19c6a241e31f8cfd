"""The channel-neutral citizen conversation: a state machine stored in the database.

Telegram (``bot/``) and the browser chat (``web/``) are two renderings of it: they
turn what the citizen did into an ``Inbound`` and render the ``Reply`` list.
"""

from pmd_domain.conversation.engine import Conversation
from pmd_domain.conversation.types import Button, Document, Inbound, Outcome, Reply

__all__ = ["Button", "Conversation", "Document", "Inbound", "Outcome", "Reply"]
