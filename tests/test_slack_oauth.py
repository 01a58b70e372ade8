"""Many Slack workspaces: the OAuth v2 install flow over real HTTP against the fake
``oauth.v2.access``, each team's own token for its commands and digests, uninstalls,
forged states, and tokens kept out of the store's plain text, exports and logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack import SlackRuntime, start_slack
from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import EVENT_TYPE, SlackPlatform
from paperpost.adapters.slack.installations import StoreInstallations, StoreStates
from paperpost.adapters.slack.oauth import BOT_SCOPES, TeamClients, store_installations
from paperpost.adapters.slack.roundup import EVENT_TYPE as ROUNDUP
from paperpost.adapters.slack.vote_blocks import papers_in
from paperpost.bot.app import Paperpost
from paperpost.bot.catalog.installations import InstallationRecords
from paperpost.bot.catalog.sealed import Sealer
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config, ConfigError, SlackOAuth
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.delivery.weekly import RoundupOutcome
from paperpost.bot.errors import DeliveryError, StoreError, UserError
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.logs import KeyValueFormatter
from tests.conftest import FakeClock, no_sleep
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM_ID,
    FakeSlackAPI,
    action_body,
    form_body,
    sign,
    sign_json,
    slash_command,
    vote_click,
)
from tests.postgres import both_backends
from tests.test_cli import paperpost
from tests.test_service_start import LoopThread, free_port, wait_for_health
from tests.test_service_start import start as start_service
from tests.test_service_start import stop as stop_service
from tests.test_slack_manifest import active_lines

DAY = date(2026, 8, 21)  # the bundled snapshot's last day
KEY = Fernet.generate_key().decode()
STATE_SECRET = "state-secret-for-tests"
COOKIE = "slack-app-oauth-state"


def oauth_config(api: FakeSlackAPI, data: Path, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "data_dir": data,
        "slack_oauth": SlackOAuth(api.client_id, api.client_secret, STATE_SECRET),
        "secret_key": KEY,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": api.url,
        "port": 0,
    }
    return Config(**(values | overrides))


@dataclass
class Service:
    api: FakeSlackAPI
    core: Paperpost
    runtime: SlackRuntime
    config: Config

    @property
    def base(self) -> str:
        return (self.runtime.url or "").removesuffix("/slack/events")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder the bundled snapshot already filled, copied for each test."""
    folder = tmp_path_factory.mktemp("seeded") / "data"

    async def seed() -> None:
        (await Paperpost.open(Config(data_dir=folder), source=BundledSnapshot())).close()

    asyncio.run(seed())
    return folder


@pytest.fixture
def data(seeded: Path, tmp_path: Path) -> Path:
    shutil.copytree(seeded, tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
async def service(api: FakeSlackAPI, data: Path) -> AsyncIterator[Service]:
    config = oauth_config(api, data)
    core = await Paperpost.open(config, source=BundledSnapshot(), outbox_sleep=no_sleep)
    runtime = await start_slack(core, config, sleep=no_sleep)
    yield Service(api, core, runtime, config)
    await runtime.stop()
    core.close()


async def start_install(http: aiohttp.ClientSession, base: str) -> tuple[str, str]:
    """GET /slack/install: the consent URL Slack is sent to, and the state cookie."""
    async with http.get(f"{base}/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
        cookie = response.cookies[COOKIE].value
    return location, cookie


async def install_at(base: str, api: FakeSlackAPI, team: str, name: str) -> str:
    """A whole install of ``team`` through HTTP; the bot token Slack gave it."""
    async with aiohttp.ClientSession() as http:
        location, cookie = await start_install(http, base)
        state = parse_qs(urlparse(location).query)["state"][0]
        code = api.grant(team, name=name)
        async with http.get(
            f"{base}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": f"{COOKIE}={cookie}"},
        ) as response:
            assert response.status == 200, await response.text()
    token = api.token_of(team)
    assert token is not None
    return token


async def install(service: Service, team: str, name: str) -> str:
    return await install_at(service.base, service.api, team, name)


async def command_at(
    events: str, api: FakeSlackAPI, text: str, *, team: str, channel: str
) -> dict[str, Any]:
    """A signed ``/papers text`` from ``team``'s ``channel``; the ephemeral answer."""
    key = f"r{len(api.responses)}"
    payload = slash_command(
        text, response_url=api.response_url(key), team_id=team, channel_id=channel
    )
    body = form_body(payload)
    async with (
        aiohttp.ClientSession() as http,
        http.post(events, data=body, headers=sign(body)) as response,
    ):
        assert response.status == 200
    await api.wait_for(lambda: any(r["key"] == key for r in api.responses))
    return next(r for r in api.responses if r["key"] == key)


async def command(service: Service, text: str, *, team: str, channel: str) -> dict[str, Any]:
    events = service.runtime.url or ""
    return await command_at(events, service.api, text, team=team, channel=channel)


async def event(service: Service, team: str, event: dict[str, Any]) -> None:
    body = json.dumps(
        {"token": "x", "team_id": team, "api_app_id": "A0PAPERPOST", "type": "event_callback",
         "event": event, "event_id": f"Ev{team}", "event_time": 1_700_000_000}
    )  # fmt: skip
    async with (
        aiohttp.ClientSession() as http,
        http.post(service.runtime.url or "", data=body, headers=sign_json(body)) as response,
    ):
        assert response.status == 200


def digest_posts(api: FakeSlackAPI) -> list[Any]:
    return [p for p in api.posts if p.metadata and p.metadata["event_type"] == EVENT_TYPE]


async def test_install_through_http_stores_the_installation_sealed(service: Service):
    # Defects caught: no /slack/install or /slack/oauth_redirect routes; the state cookie
    # or the manifest's scopes missing from the consent URL; tokens stored in clear.
    async with aiohttp.ClientSession() as http:
        location, cookie = await start_install(http, service.base)
    query = parse_qs(urlparse(location).query)
    assert location.startswith("https://slack.com/oauth/v2/authorize?")
    assert query["client_id"] == [service.api.client_id]
    assert query["scope"][0].split(",") == list(BOT_SCOPES)
    assert query["state"] == [cookie]

    token = await install(service, "T0ALPHA", "Alpha")
    installations = store_installations(service.core, service.config)
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T0ALPHA")
    assert bot is not None and bot.bot_token == token
    assert installations.teams() == ["T0ALPHA"]
    stored = json.dumps(dict(service.core.store.scan("installations")))
    assert "T0ALPHA" in stored and token not in stored and "secretpart" not in stored
    assert b"secretpart" not in (service.config.data_dir / "paperpost.sqlite").read_bytes()


async def test_two_workspaces_each_use_their_own_token(service: Service):
    # Defects caught: commands or digests of every team sent with one token; the digest
    # poster not picking the token by the channel key's team.
    alpha = await install(service, "T0ALPHA", "Alpha")
    beta = await install(service, "T0BETA", "Beta")
    for team, channel in (("T0ALPHA", "C0ALPHA"), ("T0BETA", "C0BETA")):
        answer = await command(service, "subscribe agents", team=team, channel=channel)
        assert "agents" in json.dumps(answer)
    by_channel = {p.channel: p.token for p in service.api.posts}  # the two announcements
    assert by_channel == {"C0ALPHA": alpha, "C0BETA": beta}
    await command(service, "list", team="T0ALPHA", channel="C0ALPHA")
    # auth.test: once per token at install (Bolt), then once when authorizing (cached).
    tested = [c.token for c in service.api.calls_of("auth.test")]
    assert sorted(tested) == sorted([alpha, alpha, beta, beta])

    deliveries = await service.core.post_digests(day=DAY)
    assert sorted(d.outcome for d in deliveries) == [Outcome.SENT, Outcome.SENT]
    posted = {(p.channel, p.token) for p in digest_posts(service.api)}
    assert posted == {("C0ALPHA", alpha), ("C0BETA", beta)}


async def test_uninstall_and_revoked_tokens_pause_that_workspace_only(
    service: Service, caplog: pytest.LogCaptureFixture
):
    # Defects caught: app_uninstalled / tokens_revoked ignored (tokens kept, digests
    # still tried); other workspaces' channels paused too; a reinstall leaving the
    # channels its uninstall paused paused, or resuming one a person paused.
    await install(service, "T0ALPHA", "Alpha")
    await install(service, "T0BETA", "Beta")
    await command(service, "subscribe agents", team="T0ALPHA", channel="C0ALPHA")
    await command(service, "subscribe agents", team="T0BETA", channel="C0BETA")
    manual = ChannelKey("slack", "T0ALPHA", "C0MANUAL")  # paused by a person, before
    await service.core.handle(manual, "subscribe agents")
    await service.core.handle(manual, "pause")
    await event(service, "T0ALPHA", {"type": "app_uninstalled"})
    installations = store_installations(service.core, service.config)
    assert installations.teams() == ["T0BETA"]
    alpha = service.core.channels.get(ChannelKey("slack", "T0ALPHA", "C0ALPHA"))
    assert alpha.paused and "uninstalled" in (alpha.paused_reason or "")
    assert not service.core.channels.get(ChannelKey("slack", "T0BETA", "C0BETA")).paused

    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOTT0BETA"]}}
    await event(service, "T0BETA", revoked)
    assert installations.teams() == []
    beta = service.core.channels.get(ChannelKey("slack", "T0BETA", "C0BETA"))
    assert beta.paused and "revoked" in (beta.paused_reason or "")
    assert await service.core.post_digests(day=DAY) == []  # paused: nothing is tried
    assert digest_posts(service.api) == []

    # Installed again: what the uninstall paused resumes; what a person paused does not.
    await install(service, "T0ALPHA", "Alpha")
    assert not service.core.channels.get(ChannelKey("slack", "T0ALPHA", "C0ALPHA")).paused
    assert service.core.channels.get(manual).paused
    assert service.core.channels.get(ChannelKey("slack", "T0BETA", "C0BETA")).paused


async def test_a_digest_for_a_team_never_installed_pauses_its_channel(
    service: Service, caplog: pytest.LogCaptureFixture
):
    # Defect caught: a channel key whose team has no installation crashes the digest run
    # (or retries for ever) instead of pausing that channel with a clear log line.
    await install(service, "T0ALPHA", "Alpha")
    await command(service, "subscribe agents", team="T0ALPHA", channel="C0ALPHA")
    gone = ChannelKey("slack", "T0GONE", "C0GONE")
    await service.core.handle(gone, "subscribe agents")
    with caplog.at_level(logging.WARNING):
        deliveries = await service.core.post_digests(day=DAY)
    outcomes = {str(d.channel): d.outcome for d in deliveries}
    assert outcomes == {str(gone): Outcome.PAUSED, "slack:T0ALPHA:C0ALPHA": Outcome.SENT}
    reason = service.core.channels.get(gone).paused_reason or ""
    assert "not installed in Slack workspace T0GONE" in reason
    [line] = [r for r in caplog.records if getattr(r, "channel", "") == str(gone)]
    assert "not installed in Slack workspace T0GONE" in line.error  # type: ignore[attr-defined]


async def test_a_forged_or_reused_state_is_refused(service: Service):
    # Defects caught: the callback trusting any state (no signature, no store check,
    # a state usable twice); a code exchanged for a forged request.
    async with aiohttp.ClientSession() as http:
        _, cookie = await start_install(http, service.base)
        nonce = cookie.partition(".")[0]
        for forged in (f"{nonce}.{'0' * 32}", "made-up", f"{nonce}x.{cookie.partition('.')[2]}"):
            code = service.api.grant("T0EVIL")
            async with http.get(
                f"{service.base}/slack/oauth_redirect",
                params={"code": code, "state": forged},
                headers={"Cookie": f"{COOKIE}={forged}"},
            ) as response:
                assert response.status == 401  # Bolt: invalid_state
    assert service.api.calls_of("oauth.v2.access") == []
    await install(service, "T0ALPHA", "Alpha")  # the honest state still works, once
    async with aiohttp.ClientSession() as http:
        location, cookie = await start_install(http, service.base)
        state = parse_qs(urlparse(location).query)["state"][0]
        for attempt in range(2):
            async with http.get(
                f"{service.base}/slack/oauth_redirect",
                params={"code": service.api.grant("T0BETA"), "state": state},
                headers={"Cookie": f"{COOKIE}={cookie}"},
            ) as response:
                assert response.status == (200 if attempt == 0 else 401)
    assert len(service.api.calls_of("oauth.v2.access")) == 2


async def test_tokens_are_never_in_exports_or_logs(api: FakeSlackAPI, data: Path):
    # Defect caught: a bot token (or the client secret) in a log line at any level, from
    # Paperpost, Bolt or slack_sdk, through an install, a command and a digest; or in
    # `channels export`.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        config = oauth_config(api, data)
        core = await Paperpost.open(config, source=BundledSnapshot(), outbox_sleep=no_sleep)
        runtime = await start_slack(core, config, sleep=no_sleep)
        service = Service(api, core, runtime, config)
        token = await install(service, "T0ALPHA", "Alpha")
        await command(service, "subscribe agents", team="T0ALPHA", channel="C0ALPHA")
        assert [d.outcome for d in await core.post_digests(day=DAY)] == [Outcome.SENT]
        exported = json.dumps(core.export_channels())
        await runtime.stop()
        core.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    logged = stream.getvalue()
    assert "oauth.v2.access" in logged  # the install was logged about (slack_sdk's DEBUG)
    for secret in (token, "secretpart", api.client_secret, KEY, STATE_SECRET):
        assert secret not in logged
        assert secret not in exported
    assert "slack:T0ALPHA:C0ALPHA" in exported


async def test_paperpost_digest_in_its_own_process_finds_each_teams_token(service: Service):
    # Defect caught: `paperpost digest` (cron mode) posting with SLACK_BOT_TOKEN only, so
    # with OAuth installs it cannot post (or exits asking for a token).
    token = await install(service, "T0ALPHA", "Alpha")
    await command(service, "subscribe agents", team="T0ALPHA", channel="C0ALPHA")
    env = {
        **os.environ,
        "PAPERPOST_DATA_DIR": str(service.config.data_dir),
        "SLACK_CLIENT_ID": service.api.client_id,
        "SLACK_CLIENT_SECRET": service.api.client_secret,
        "SLACK_STATE_SECRET": STATE_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PAPERPOST_SECRET_KEY": KEY,
        "SLACK_API_URL": service.api.url,
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_BOT_TOKEN"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paperpost.cli", "digest", "--offline", "--date", DAY.isoformat(),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert "slack:T0ALPHA:C0ALPHA 2026-08-21: sent" in stderr.decode()
    assert [p.token for p in digest_posts(service.api)] == [token]


def test_the_wrong_secret_key_is_one_line_at_start(data: Path) -> None:
    # Defect caught: a key that cannot open the stored installations found only at the
    # first digest (each channel failing) instead of refusing to start.
    async def check() -> None:
        api = FakeSlackAPI()
        config = oauth_config(api, data)
        core = await Paperpost.open(config, source=BundledSnapshot())
        try:
            installations = store_installations(core, config)
            await installations.async_save(
                Installation(
                    team_id="T1", user_id="U1", bot_token="xoxb-1", bot_id="B", bot_user_id="U"
                )
            )
            other = oauth_config(api, data, secret_key=Fernet.generate_key().decode())
            with pytest.raises(UserError, match=r"^PAPERPOST_SECRET_KEY cannot open the stored"):
                store_installations(core, other)
            rotated = oauth_config(api, data, secret_key=f"{other.secret_key},{KEY}")
            store_installations(core, rotated)  # a new key first, the old one after: opens

            # A team sealed with a key no longer given: Bolt is told "not installed" (one
            # log line), and its digests wait (not paused) until the key is set again.
            assert other.secret_key is not None
            mixed = StoreInstallations(core.installations, Sealer(other.secret_key))
            await mixed.async_save(installation("T2", "U2", "xoxb-2"))
            assert await mixed.async_find_bot(enterprise_id=None, team_id="T1") is None
            with pytest.raises(DeliveryError, match="cannot open") as refused:
                await TeamClients(mixed, base_url=api.url)("T1")
            assert not refused.value.permanent
            assert (await TeamClients(mixed, base_url=api.url)("T2")).token == "xoxb-2"
        finally:
            core.close()

    asyncio.run(check())


OAUTH = {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "s", "SLACK_STATE_SECRET": "t"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_CLIENT_ID": "1"}, r"^Slack OAuth .* needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET,"),
        (OAUTH, r"^Slack OAuth needs PAPERPOST_SECRET_KEY .*Fernet\.generate_key"),
        ({"PAPERPOST_SECRET_KEY": "not-a-key"}, r"^PAPERPOST_SECRET_KEY is not valid: expected"),
        (
            {**OAUTH, "PAPERPOST_SECRET_KEY": KEY, "SLACK_BOT_TOKEN": "xoxb-1"},
            r"^set either SLACK_BOT_TOKEN .* not both",
        ),
        (
            {**OAUTH, "PAPERPOST_SECRET_KEY": KEY},
            r"^Slack OAuth works in HTTP mode: set SLACK_SIGNING_SECRET",
        ),
    ],
)
def test_oauth_configuration_errors_are_one_line(env: dict[str, str], message: str) -> None:
    # Defect caught: a partial OAuth set, a missing or bad key accepted (tokens then
    # stored unencrypted, or a traceback at the first install).
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"PAPERPOST_DATA_DIR": "/tmp/x", **env})


def test_the_cli_refuses_a_partial_oauth_set_in_one_line(tmp_path: Path) -> None:
    # Defect caught: a partial set reaching the CLI as a traceback, or echoing a secret.
    result = paperpost("channels", "list", data=tmp_path, env={"SLACK_CLIENT_SECRET": "s"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "SLACK_CLIENT_ID, SLACK_STATE_SECRET unset" in result.stderr
    assert "s'" not in result.stderr  # the secret's value is not echoed


def test_the_manifest_asks_for_the_scopes_oauth_installs_request() -> None:
    # Defect caught: /slack/install asking Slack for other scopes than the manifest's
    # (installs then lack a scope, or ask for one the app does not declare).
    lines = active_lines()
    start = lines.index("    bot:")
    scopes = []
    for line in lines[start + 1 :]:
        if not (m := re.match(r"^\s+- ([a-z.:]+)$", line)):
            break
        scopes.append(m.group(1))
    assert scopes == list(BOT_SCOPES)
    text = "\n".join(lines)
    assert re.search(r"bot_events:\n(\s+- [a-z_]+\n)*\s+- app_uninstalled", text)
    assert re.search(r"bot_events:\n(\s+- [a-z_]+\n)*\s+- tokens_revoked", text)


def test_paperpost_run_serves_installs_and_each_teams_commands(tmp_path: Path) -> None:
    # Defects caught: `paperpost run` (the HTTP server that starts before Slack is
    # reached) not routing /slack/install and /slack/oauth_redirect, or its Bolt app not
    # authorizing an installed team's command; the ready line not saying OAuth.
    loop = LoopThread()
    api = loop.run(lambda: FakeSlackAPI().start())
    port = free_port()
    env = {
        "SLACK_CLIENT_ID": api.client_id,
        "SLACK_CLIENT_SECRET": api.client_secret,
        "SLACK_STATE_SECRET": STATE_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PAPERPOST_SECRET_KEY": KEY,
        "SLACK_API_URL": api.url,
    }
    service = start_service(tmp_path, port, env)
    try:
        wait_for_health(service, port, lambda status, _body: status == 200)
        base = f"http://127.0.0.1:{port}"
        token = loop.run(lambda: install_at(base, api, "T0ALPHA", "Alpha"))
        events = f"{base}/slack/events"
        answer = loop.run(lambda: command_at(events, api, "subscribe agents", team="T0ALPHA",
                                             channel="C0ALPHA"))  # fmt: skip
        assert "agents" in json.dumps(answer)
        assert [p.token for p in api.posts] == [token]  # the announcement, with its token
    finally:
        stderr = stop_service(service)
        loop.run(api.stop)
        loop.close()
    assert "Slack ready: OAuth installs at /slack/install, 0 workspace(s) installed" in stderr
    assert "Slack: installed in workspace Alpha (T0ALPHA)" in stderr
    assert token not in stderr and "Traceback" not in stderr


async def test_single_token_mode_pauses_the_workspace_on_uninstall(api: FakeSlackAPI, data: Path):
    # Defect caught: with SLACK_BOT_TOKEN (one workspace) app_uninstalled goes unheard
    # and each digest then fails on its own before its channel is paused.
    config = Config(
        data_dir=data,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api.url,
        port=0,
    )
    core = await Paperpost.open(config, source=BundledSnapshot(), outbox_sleep=no_sleep)
    runtime = await start_slack(core, config, sleep=no_sleep)
    try:
        ours, other = ChannelKey("slack", TEAM_ID, "C0OURS"), ChannelKey("slack", "T0X", "C0X")
        for key in (ours, other):
            await core.handle(key, "subscribe agents")
        await event(Service(api, core, runtime, config), TEAM_ID, {"type": "app_uninstalled"})
        assert core.channels.get(ours).paused and not core.channels.get(other).paused
        assert "uninstalled" in (core.channels.get(ours).paused_reason or "")
    finally:
        await runtime.stop()
        core.close()


async def test_each_workspace_is_paced_on_its_own(api: FakeSlackAPI):
    # Defect caught: one pacer for every workspace, so a fan-out to many workspaces
    # gets one workspace's allowance (SLACK_POSTS_PER_SECOND is per workspace).
    clients = {team: build_client(f"xoxb-{team}", base_url=api.url) for team in ("T1", "T2")}

    async def team_client(team: str) -> AsyncWebClient:
        return clients[team]

    platform = SlackPlatform(None, team_clients=team_client)
    one, again, two = [await platform._client_and_pacer(t) for t in ("T1", "T1", "T2")]
    assert one == again and one[0] is clients["T1"] and two[0] is clients["T2"]
    assert one[1] is not two[1] and one[1].interval == two[1].interval == platform.pacer.interval


def test_oauth_settings_parse_and_stay_out_of_repr() -> None:
    # Defect caught: the client secret, state secret or key in Config's repr (and so in
    # any log line or traceback that shows it); SLACK_REDIRECT_URI not read.
    env = {**OAUTH, "SLACK_CLIENT_SECRET": "c1i3nt-s3cr3t", "SLACK_STATE_SECRET": "st4te-s3cr3t",
           "PAPERPOST_SECRET_KEY": KEY, "SLACK_SIGNING_SECRET": "x",
           "SLACK_REDIRECT_URI": "https://paperpost.example/slack/oauth_redirect"}  # fmt: skip
    config = Config.from_env(env)
    assert config.slack_enabled and config.slack_oauth is not None
    assert config.slack_oauth.redirect_uri == env["SLACK_REDIRECT_URI"]
    for secret in ("c1i3nt-s3cr3t", "st4te-s3cr3t", KEY):
        assert secret not in repr(config)


def installation(team: str, user: str, token: str) -> Installation:
    return Installation(
        team_id=team, team_name=team, user_id=user, bot_token=token, bot_id=f"B{team}",
        bot_user_id=f"UB{team}", user_token=f"xoxp-{user}",
    )  # fmt: skip


@both_backends
async def test_installation_store_contract(core: Paperpost):
    # Defects caught: find/delete not keyed by team or user (one team's bot found for
    # another, a user's token given to someone else, a delete taking other teams along),
    # a user's delete leaving no latest installation while others remain; on SQLite and
    # on PostgreSQL (the store's key-value tables).
    store = StoreInstallations(core.installations, Sealer(KEY))
    await store.async_save(installation("T1", "U1", "xoxb-t1-a"))
    await store.async_save(installation("T1", "U2", "xoxb-t1-b"))
    await store.async_save(installation("T2", "U3", "xoxb-t2"))

    async def find(team: str, user: str | None = None) -> tuple[str | None, str | None]:
        found = await store.async_find_installation(enterprise_id=None, team_id=team, user_id=user)
        return (found.bot_token, found.user_token) if found else (None, None)

    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-t1-b"  # the latest install's
    assert await find("T1") == ("xoxb-t1-b", "xoxp-U2")
    assert await find("T1", "U1") == ("xoxb-t1-a", "xoxp-U1")
    assert await find("T1", "U9") == (None, None)
    assert await store.async_find_bot(enterprise_id=None, team_id="T9") is None

    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert await find("T1", "U2") == (None, None)
    assert await find("T1") == ("xoxb-t1-a", "xoxp-U1")  # U1's is the latest now
    await store.async_delete_bot(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    await store.async_delete_all(enterprise_id=None, team_id="T1")
    assert await find("T1") == (None, None) and await find("T1", "U1") == (None, None)
    assert await find("T2") == ("xoxb-t2", "xoxp-U3")  # another team's kept
    assert store.teams() == ["T2"]


@both_backends
async def test_oauth_states_are_used_once_and_expire(core: Paperpost):
    # Defect caught: a state accepted after its ten minutes, or twice (both backends).
    now = [1_000_000.0]
    states = StoreStates(core.installations, secret=STATE_SECRET, clock=lambda: now[0])
    fresh, stale = await states.async_issue(), await states.async_issue()
    assert await states.async_consume(fresh) is True
    assert await states.async_consume(fresh) is False
    now[0] += 601
    assert await states.async_consume(stale) is False
    assert list(core.store.scan("oauth_states")) == []  # used or expired: gone


async def test_a_store_that_cannot_write_fails_the_install_in_one_line(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # Defect caught: a full or read-only disk during an install ending in a traceback
    # (aiohttp's 500) instead of Bolt's failure page / a 503 and one log line.
    def full(*_args: object, **_kwargs: object) -> None:
        raise StoreError("cannot write paperpost.sqlite: No space left on device")

    async with aiohttp.ClientSession() as http:
        location, cookie = await start_install(http, service.base)
        monkeypatch.setattr(InstallationRecords, "put", full)
        state = parse_qs(urlparse(location).query)["state"][0]
        async with http.get(
            f"{service.base}/slack/oauth_redirect",
            params={"code": service.api.grant("T0ALPHA"), "state": state},
            headers={"Cookie": f"{COOKIE}={cookie}"},
        ) as response:
            assert response.status == 500  # Bolt's failure page: storage_error
        monkeypatch.setattr(InstallationRecords, "issue_state", full)
        async with http.get(f"{service.base}/slack/install", allow_redirects=False) as response:
            assert response.status == 503
    monkeypatch.undo()
    assert list(service.core.store.scan("installations")) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage().split(":")[0] for r in errors] == ["Slack", "Slack OAuth"]
    assert all(r.exc_info is None and "No space left" in r.getMessage() for r in errors)


async def test_the_weekly_roundup_goes_out_with_the_teams_token(api: FakeSlackAPI, data: Path):
    # Defect caught: the weekly roundup posted with the app's token-less client (or one
    # team's) in OAuth mode, so it fails (invalid_auth) or lands with the wrong identity.
    clock = FakeClock(datetime(2026, 8, 24, 9, 0, tzinfo=UTC))  # a Monday
    config = oauth_config(api, data)
    core = await Paperpost.open(
        config, source=BundledSnapshot(), clock=clock, outbox_sleep=no_sleep
    )
    runtime = await start_slack(core, config, sleep=no_sleep)
    try:
        token = await install(Service(api, core, runtime, config), "T0ALPHA", "Alpha")
        paper = Paper("2608.99001", "Agents that plan", "A study.", ("A",), (date(2026, 8, 26),))
        core.library.add_day(date(2026, 8, 26), [paper])  # a featured day of that week
        key = ChannelKey("slack", "T0ALPHA", "C0ALPHA")
        for line in ("set tz Europe/Berlin", "set weekly fri 16:00", "like 2608.99001"):
            await core.handle(key, line, user="U0ANA0001")
        clock.now = datetime(2026, 8, 28, 14, 0, tzinfo=UTC)  # Friday 16:00 in Berlin
        done = await core.weekly.run_due(key)
        assert done is not None and done.outcome is RoundupOutcome.SENT
        roundups = [p for p in api.posts if (p.metadata or {}).get("event_type") == ROUNDUP]
        assert [(p.channel, p.token) for p in roundups] == [("C0ALPHA", token)]
    finally:
        await runtime.stop()
        core.close()


async def test_a_button_press_edits_the_digest_with_the_teams_token(service: Service):
    # Defect caught: 👍/🔖 edits (chat.update) sent with the app's token-less client in
    # OAuth mode: the vote is stored but the message never shows it (invalid_auth).
    token = await install(service, "T0ALPHA", "Alpha")
    await command(service, "subscribe agents", team="T0ALPHA", channel="C0ALPHA")
    assert [d.outcome for d in await service.core.post_digests(day=DAY)] == [Outcome.SENT]
    [message] = [
        m
        for m in service.api.messages("C0ALPHA")
        if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE
    ]
    payload = vote_click(message, papers_in(message["blocks"])[0], channel="C0ALPHA")
    payload["team"] = {"id": "T0ALPHA", "domain": "alpha"}
    payload["user"]["team_id"] = "T0ALPHA"
    body = action_body(payload)
    async with (
        aiohttp.ClientSession() as http,
        http.post(service.runtime.url or "", data=body, headers=sign(body)) as response,
    ):
        assert response.status == 200
    await service.api.wait_for(lambda: service.api.calls_of("chat.update"))
    assert [c.token for c in service.api.calls_of("chat.update")] == [token]


async def test_a_running_services_team_posts_book_their_slots_in_the_store(service: Service):
    # Defect caught: `paperpost run` with OAuth pacing each team in memory only, so
    # replicas multiply a workspace's SLACK_POSTS_PER_SECOND instead of sharing it.
    await install(service, "T0ALPHA", "Alpha")
    platform = service.runtime.platform
    assert isinstance(platform, SlackPlatform)
    _client, pacer = await platform._client_and_pacer("T0ALPHA")
    await pacer.wait("C0ALPHA")
    with service.core.store.db.connection() as conn:
        booked = [name for (name,) in conn.execute("SELECT name FROM rate_slots").fetchall()]
    assert booked == ["slack:T0ALPHA"]
