"""Discord beyond one shard: DISCORD_SHARD_IDS/DISCORD_SHARD_COUNT split the gateway
shards across replicas (an ``AutoShardedClient`` over the loopback fake gateway), and a
replica posts digests to any channel, whatever shard serves its server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paperpost.adapters.discord import start_discord
from paperpost.adapters.discord.client import ShardedPaperpostClient
from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config, ConfigError
from paperpost.bot.delivery.outbox import Outcome
from tests.fakes.discord_fake import GUILD_ID, FakeDiscord
from tests.test_discord_gateway import DAY, KEY, core, discord_config, fake

__all__ = ["core", "fake"]  # the fixtures, shared with the gateway tests


async def no_wait(*_args: object, **_kwargs: object) -> None:
    return None


SERVING = (GUILD_ID >> 22) % 4  # the shard Discord routes the fake server's events to


def sharded(fake: FakeDiscord, tmp_path: Path, ids: tuple[int, ...], count: int) -> Config:
    config = discord_config(fake, tmp_path)
    return dataclasses.replace(config, discord_shard_ids=ids, discord_shard_count=count)


async def test_a_replica_identifies_only_its_shards(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defects caught: DISCORD_SHARD_IDS/COUNT ignored (one unsharded connection, so
    # every replica gets every server's events), or every shard of the count opened.
    # discord.py waits 5 s before each further IDENTIFY (Discord's limit); the fake has none.
    monkeypatch.setattr(ShardedPaperpostClient, "before_identify_hook", no_wait)
    ids = (SERVING, (SERVING + 2) % 4)
    runtime = await start_discord(core, sharded(fake, tmp_path, ids, 4), guild_ready_timeout=0.05)
    try:
        await runtime.wait_ready(timeout=10)
        assert isinstance(runtime.client, ShardedPaperpostClient)
        assert sorted(i["shard"] for i in fake.identifies) == sorted([i, 4] for i in ids)
        assert runtime.client.get_guild(GUILD_ID) is not None  # its shard is one of ours
        interaction = await fake.invoke("papers", "help")
        await fake.wait_for(lambda: any(c["id"] == interaction for c in fake.callbacks))
    finally:
        await runtime.stop()


async def test_a_replica_posts_to_a_server_another_replica_serves(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> None:
    # Defect caught: posting through the gateway cache (get_channel), which holds only
    # the servers of this replica's shards: the digest would fail on other replicas.
    other = ((SERVING + 1) % 2,)
    runtime = await start_discord(core, sharded(fake, tmp_path, other, 2), guild_ready_timeout=0.05)
    try:
        await runtime.wait_ready(timeout=10)
        assert [i["shard"] for i in fake.identifies] == [[other[0], 2]]
        assert runtime.client.get_guild(GUILD_ID) is None  # not served here
        await core.handle(KEY, "subscribe agents")
        [delivery] = await core.post_digests(day=DAY, channel=KEY)
        assert delivery.outcome is Outcome.SENT
    finally:
        await runtime.stop()


async def test_without_shard_variables_one_plain_connection(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> None:
    # Defect caught: the single-shard default changed (an AutoShardedClient asking
    # GET /gateway/bot, which ignores DISCORD_GATEWAY_URL).
    runtime = await start_discord(core, discord_config(fake, tmp_path), guild_ready_timeout=0.05)
    try:
        await runtime.wait_ready(timeout=10)
        assert not isinstance(runtime.client, ShardedPaperpostClient)
        assert [i.get("shard") for i in fake.identifies] == [None]
        assert not any(r.path == "/gateway/bot" for r in fake.requests)
    finally:
        await runtime.stop()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DISCORD_SHARD_IDS": "0,1"},
            r"^splitting Discord shards needs .*DISCORD_SHARD_COUNT unset",
        ),
        ({"DISCORD_SHARD_IDS": "0,2", "DISCORD_SHARD_COUNT": "2"}, r"ids go from 0 to .* \(1\)"),
        ({"DISCORD_SHARD_IDS": "0,x", "DISCORD_SHARD_COUNT": "2"}, r"expected shard ids"),
        ({"DISCORD_SHARD_IDS": "1,1", "DISCORD_SHARD_COUNT": "2"}, r"expected shard ids"),
        ({"DISCORD_SHARD_IDS": "0", "DISCORD_SHARD_COUNT": "0"}, r"expected a number of shards"),
    ],
)
def test_shard_variables_both_or_neither_and_in_range(env: dict[str, str], message: str) -> None:
    # Defect caught: a half or inconsistent split accepted (shards nobody serves).
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"PAPERPOST_DATA_DIR": "/tmp/x", **env})
    both = Config.from_env({"DISCORD_SHARD_IDS": "2, 0", "DISCORD_SHARD_COUNT": "3"})
    assert (both.discord_shard_ids, both.discord_shard_count) == ((0, 2), 3)
