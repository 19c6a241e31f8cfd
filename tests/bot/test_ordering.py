"""The update processor: one chat strictly in order, other chats not held up by it."""

from __future__ import annotations

import asyncio

from telegram import Bot, Update

from bot.ordering import ChatOrderedProcessor

BOT = Bot("123:ABC")


def text_update(update_id: int, chat_id: int) -> Update:
    user = {"id": chat_id, "is_bot": False, "first_name": "C"}
    chat = {"id": chat_id, "type": "private", "first_name": "C"}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "from": user,
               "text": str(update_id)}  # fmt: skip
    return Update.de_json({"update_id": update_id, "message": message}, BOT)


async def test_one_chat_in_order_while_others_pass_a_slow_chat() -> None:
    processor = ChatOrderedProcessor(concurrency=4)
    done: list[tuple[int, int]] = []
    slow_may_finish = asyncio.Event()

    async def step(update: Update) -> None:
        chat = update.effective_chat
        assert chat is not None
        if chat.id == 1 and update.update_id == 1:
            await slow_may_finish.wait()
        else:
            # Later updates of a chat would overtake earlier ones without ordering.
            await asyncio.sleep(0.001 * (10 - update.update_id % 10))
        done.append((chat.id, update.update_id))

    updates = [text_update(1, 1), *(text_update(i, 1) for i in range(2, 6))]
    updates += [text_update(10 + i, 2 + i % 3) for i in range(9)]
    async with processor:
        tasks = [asyncio.create_task(processor.process_update(u, step(u))) for u in updates]
        # Every other chat finishes while chat 1 is stuck on its first update.
        while len(done) < 9:
            await asyncio.sleep(0.01)
        assert {chat for chat, _ in done} == {2, 3, 4}
        assert processor.waiting_chats == 1
        slow_may_finish.set()
        await asyncio.gather(*tasks)
    assert [u for chat, u in done if chat == 1] == [1, 2, 3, 4, 5]
    for chat in (2, 3, 4):
        ids = [u for c, u in done if c == chat]
        assert ids == sorted(ids)
    assert processor.waiting_chats == 0


async def test_concurrency_is_capped() -> None:
    processor = ChatOrderedProcessor(concurrency=3)
    running = 0
    peak = 0

    async def step() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    async with processor:
        await asyncio.gather(
            *(processor.process_update(text_update(i, 100 + i), step()) for i in range(20))
        )
    assert peak == 3
