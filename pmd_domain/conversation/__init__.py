"""The channel-neutral citizen conversation: a state machine stored in the database.

Telegram (``bot/``) and the browser chat (``web/``) are two renderings of it: they
turn what the citizen did into an ``Inbound`` and render the ``Reply`` list.
"""
