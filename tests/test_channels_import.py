"""``channels import``: the chat commands' parsers for every field, all or nothing, versioned."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from paperpost.bot.catalog.store import Store
from paperpost.bot.channels import export_format
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.errors import UserError

GOOD = ChannelKey.parse("slack:T1:GOOD")
BAD = ChannelKey.parse("slack:T1:BAD")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ChannelRegistry]:
    with Store(tmp_path) as store:
        yield ChannelRegistry(store)


def record(**changes: Any) -> dict[str, Any]:
    settings = ChannelSettings(timezone="Asia/Tokyo", subscriptions=("agents",))
    return {**settings.to_json(), **changes}


def document(bad: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "channels": {str(GOOD): record(top_n=9), str(BAD): bad}}


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (record(days=[7]), "days", "7 is not a day"),
        (record(days=[]), "days", "at least one day"),
        (record(subscriptions=["((("]), "subscriptions", "((("),
        (record(subscriptions=["x" * 201]), "subscriptions", "200 characters"),
        (record(subscriptions=[f"topic{n}" for n in range(26)]), "subscriptions", "25"),
        (record(top_n=0), "top_n", "1 to 20"),
        (record(top_n=21), "top_n", "1 to 20"),
        (record(top_n=True), "top_n", "whole number"),
        (record(min_upvotes=-1), "min_upvotes", "upvotes"),
        (record(post_time="25:00"), "post_time", "not a time"),
        (record(timezone="Mars/Olympus"), "timezone", "time zone"),
        (record(threads="yes"), "threads", "true or false"),
        ({"paused": False}, "post_time", "missing"),
        (record(topn=3), "topn", "unknown field"),
    ],
)
def test_a_bad_record_is_refused_in_one_line_and_nothing_is_imported(
    registry: ChannelRegistry, bad: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(UserError) as caught:
        registry.import_(document(bad))
    message = str(caught.value)
    assert "\n" not in message
    assert str(BAD) in message and repr(field) in message and words in message, message
    assert registry.all() == []  # the good record was not written either


def test_a_partial_record_never_resets_a_channel(registry: ChannelRegistry) -> None:
    registry.save(BAD, ChannelSettings(timezone="Europe/Berlin", subscriptions=("robots",)))
    with pytest.raises(UserError):
        registry.import_({"version": 1, "channels": {str(BAD): {"paused": False}}})
    kept = registry.get(BAD)
    assert (kept.timezone, kept.subscriptions) == ("Europe/Berlin", ("robots",))


def test_values_are_read_as_the_chat_commands_read_them(registry: ChannelRegistry) -> None:
    good = record(post_time="8:30", timezone="asia/tokyo", days="mon,wed", subscriptions=["A  b"])
    registry.import_({"version": 1, "channels": {str(GOOD): good}})
    settings = registry.get(GOOD)
    assert (settings.post_time, settings.timezone, settings.days) == (
        time(8, 30),
        "Asia/Tokyo",
        (0, 2),
    )
    assert settings.subscriptions == ("a b",)


def test_export_round_trips_and_says_its_version(registry: ChannelRegistry) -> None:
    registry.save(GOOD, ChannelSettings(top_n=3, days=(5, 6), subscriptions=('"world model"',)))
    exported = registry.export()
    assert exported["version"] == export_format.EXPORT_VERSION
    registry.import_(exported)
    assert registry.export() == exported


def test_versions_older_fields_required_newer_fields_default(
    registry: ChannelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend version 2 added "threads": a version 1 document may leave it out.
    monkeypatch.setattr(export_format, "EXPORT_VERSION", 2)
    monkeypatch.setitem(export_format.FIELD_VERSIONS, "threads", 2)
    old = record()
    del old["threads"]
    registry.import_({"version": 1, "channels": {str(GOOD): old}})
    assert registry.get(GOOD).threads is False
    with pytest.raises(UserError, match="'threads' is missing"):
        registry.import_({"version": 2, "channels": {str(GOOD): old}})


@pytest.mark.parametrize("version", [None, "1", True, 0, 99])
def test_a_document_without_a_version_it_knows_is_refused(
    registry: ChannelRegistry, version: object
) -> None:
    with pytest.raises(UserError, match="version"):
        registry.import_({"version": version, "channels": {str(GOOD): record()}})
    assert registry.all() == []
