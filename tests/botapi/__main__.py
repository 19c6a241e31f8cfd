"""Run the local Bot API server by hand: ``python -m tests.botapi [--port 8081]``.

Point a bot at it with ``TELEGRAM_API_URL``-style settings (base_url ``{url}/bot``) and
type lines ``<chat_id> <text>`` on stdin to play users; the bot's replies are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.botapi.server import BotApiServer


async def _main(port: int) -> None:
    server = BotApiServer(create_unknown_chats=True)
    url = await server.start(port)
    print(f"Bot API server on {url} (base_url {server.base_url})", flush=True)
    print("Type '<chat_id> <text>' to send as a user; Ctrl-D to stop.", flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            chat_text = line.strip().split(" ", 1)
            if len(chat_text) != 2 or not chat_text[0].lstrip("-").isdigit():
                print("usage: <chat_id> <text>", flush=True)
                continue
            chat_id = int(chat_text[0])
            chat = server.chat(chat_id)
            replies = await chat.say(chat_text[1], require=False, quiet=0.5, timeout=10)
            for message in replies:
                print(f"bot> {message.text}  {message.buttons or ''}", flush=True)
    finally:
        await server.stop()


def main() -> None:
    """Parse ``--port`` and serve until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    asyncio.run(_main(args.port))


if __name__ == "__main__":
    main()
