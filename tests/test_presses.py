"""The core side of 👍/🔖 buttons and reactions (``bot/feedback/presses.py``), on
SQLite and on PostgreSQL: toggles, idempotent reaction votes, counts, and the
record of messages posted with buttons."""

from __future__ import annotations

from datetime import timedelta

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.feedback.presses import Counts, PostedMessage
from paperpost.bot.feedback.votes import Kind
from tests.conftest import FakeClock
from tests.postgres import both_backends

pytestmark = both_backends

CHANNEL = ChannelKey("slack", "T0TEST", "C0DIGEST1")
META = {"event_type": "paperpost_digest", "event_payload": {"marker": "m", "part": 0}}


async def test_presses_toggle_reactions_set_and_counts_add_up(core: Paperpost) -> None:
    # Defects caught: a press that does not toggle; a re-added reaction counted twice or a
    # removed one left behind; a press on a paper that is not stored stored anyway;
    # SQL that only one backend speaks.
    paper = core.library.papers_on(core.library.days()[-1])[0].id
    presses = core.presses
    assert await presses.press(CHANNEL, paper, Kind.LIKE, "U1") is True
    assert await presses.press(CHANNEL, paper, Kind.LIKE, "U2") is True
    assert await presses.press(CHANNEL, paper, Kind.LIKE, "U1") is False
    assert await presses.press(CHANNEL, "2609.99999", Kind.LIKE, "U1") is None
    assert await presses.press(CHANNEL, "../x", Kind.LIKE, "U1") is None
    assert await presses.set_vote(CHANNEL, paper, Kind.SAVE, "U3", cast=True) is True
    assert await presses.set_vote(CHANNEL, paper, Kind.SAVE, "U3", cast=True) is False
    assert await presses.counts(CHANNEL, [paper, "2609.00001"]) == {
        paper: Counts(likes=1, saves=1),
        "2609.00001": Counts(),
    }
    assert await presses.set_vote(CHANNEL, paper, Kind.SAVE, "U3", cast=False) is True
    assert await presses.set_vote(CHANNEL, paper, Kind.SAVE, "U3", cast=False) is False
    assert (await presses.counts(CHANNEL, [paper]))[paper] == Counts(likes=1)


async def test_posted_messages_are_recorded_and_found(core: Paperpost) -> None:
    # Defects caught: a recorded message not found again (reactions ignored, edits without
    # metadata); a second record of the same message kept beside the first; a malformed
    # paper id from a payload stored.
    where = ChannelKey("discord", "1200", "1500")
    await core.presses.remember(where, "42", PostedMessage(CHANNEL, ("2608.19880", "x/../y"), META))
    assert await core.presses.message(where, "42") == PostedMessage(CHANNEL, ("2608.19880",), META)
    await core.presses.remember(where, "42", PostedMessage(CHANNEL, ("2608.19881",)))
    assert await core.presses.message(where, "42") == PostedMessage(CHANNEL, ("2608.19881",))
    assert await core.presses.message(where, "43") is None
    assert await core.presses.message(CHANNEL, "42") is None


async def test_records_older_than_90_days_are_forgotten(core: Paperpost, clock: FakeClock) -> None:
    # Defect caught: a record of every message ever posted with buttons, kept for ever.
    where = ChannelKey("slack", "T0TEST", "C0DIGEST1")
    await core.presses.remember(where, "1.1", PostedMessage(CHANNEL, ("2608.19880",), META))
    clock.now += timedelta(days=91)
    await core.presses.remember(where, "2.2", PostedMessage(CHANNEL, ("2608.19881",), META))
    assert await core.presses.message(where, "1.1") is None
    assert await core.presses.message(where, "2.2") is not None
