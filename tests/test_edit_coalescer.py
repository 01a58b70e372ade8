"""The edit coalescer never loses a request: a press right after an edit gets an edit."""

from __future__ import annotations

import asyncio

from paperpost.bot.feedback.edits import EditCoalescer


async def test_a_request_as_an_edit_finishes_gets_an_edit_of_its_own() -> None:
    # Defect caught: the finished task forgotten only in its done callback, which runs
    # later: a request in between joined the finished task and was never served (the
    # last vote of a burst then never showed; seen as a flaky reaction test).
    edits: list[str] = []

    async def edit(key: str) -> None:
        edits.append(key)

    coalescer: EditCoalescer[str] = EditCoalescer(edit, per_message=0.0)
    coalescer.request("m")
    task = next(iter(coalescer._tasks.values()))
    while not task.done():  # resumed in the loop pass that finishes the task...
        await asyncio.sleep(0)
    coalescer.request("m")  # ...before its done callbacks have run
    await coalescer.drain()
    assert edits == ["m", "m"]


async def test_requests_during_a_wait_are_one_edit() -> None:
    edits: list[str] = []

    async def edit(key: str) -> None:
        edits.append(key)

    coalescer: EditCoalescer[str] = EditCoalescer(edit, per_message=0.05)
    coalescer.request("m")
    await coalescer.drain()
    for _ in range(10):  # within the message's spacing: served by one more edit
        coalescer.request("m")
    await coalescer.drain()
    assert edits == ["m", "m"]
