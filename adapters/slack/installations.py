"""Slack installations and OAuth states in Paperpost's store, through slack_sdk's
``AsyncInstallationStore`` / ``AsyncOAuthStateStore`` interfaces (what Bolt's
OAuth flow saves to and its ``authorize`` reads from).

Each installation (and bot) is one row of the store's ``installations`` table:
the ids it is looked up by in the clear, the whole slack_sdk document (bot and
user tokens, refresh tokens, webhook URL) sealed with ``PAPERPOST_SECRET_KEY``.
Rows are keyed by team (or by enterprise, for an org-wide install):

    slack:bot:T123                  the team's bot (token, scopes)
    slack:installation:T123:*       the team's latest installation
    slack:installation:T123:U456    the one U456 made

OAuth states are random, signed with ``SLACK_STATE_SECRET`` (a forged one is
refused before the store is asked), kept in ``oauth_states`` until used once or
expired.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from paperpost.bot.catalog.installations import InstallationRecords
from paperpost.bot.catalog.sealed import Sealer, SealError
from paperpost.bot.errors import StoreError

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # an install started must finish within ten minutes (Bolt's default)
LATEST = "*"


def scope_of(enterprise_id: str | None, team_id: str | None, org_wide: bool | None) -> str:
    """The row key's owner: the team, or the enterprise of an org-wide install."""
    if team_id and not org_wide:
        return team_id
    return f"enterprise-{enterprise_id or ''}"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class StoreInstallations(AsyncInstallationStore):
    def __init__(self, records: InstallationRecords, sealer: Sealer) -> None:
        self.records = records
        self.sealer = sealer
        self.on_saved: Callable[[str], Awaitable[None]] | None = None  # the team's scope

    @property
    def logger(self) -> logging.Logger:
        return log

    # -- rows ----------------------------------------------------------------------
    def _row(self, document: dict[str, Any], kind: str) -> dict[str, Any]:
        plain = {k: _plain(v) for k, v in document.items()}
        public = {k: plain.get(k) for k in ("enterprise_id", "team_id", "team_name", "user_id")}
        sealed = self.sealer.seal(json.dumps(plain, separators=(",", ":")))
        return {"kind": kind, **public, "installed_at": time.time(), "sealed": sealed}

    def _document(self, key: str, *, strict: bool = False) -> dict[str, Any] | None:
        """The row's document. One the key cannot open is ``SealError`` when ``strict``,
        else logged and taken as absent (Bolt then tells the user to install again)."""
        row = self.records.get(key)
        if row is None:
            return None
        try:
            document = json.loads(self.sealer.open(str(row.get("sealed", ""))))
        except SealError:
            if strict:
                raise
            log.error("Slack: PAPERPOST_SECRET_KEY cannot open the stored %s", key)
            return None
        return document if isinstance(document, dict) else None

    # -- AsyncInstallationStore ---------------------------------------------------
    async def async_save(self, installation: Installation) -> None:
        scope = scope_of(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        row = self._row(installation.to_dict_for_copying(), "installation")
        rows = {f"slack:installation:{scope}:{LATEST}": row}
        if installation.user_id:
            rows[f"slack:installation:{scope}:{installation.user_id}"] = row
        if installation.bot_token:
            rows[f"slack:bot:{scope}"] = self._row(installation.to_bot().to_dict(), "bot")
        try:
            self.records.put(rows)
        except StoreError as exc:  # Bolt shows its failure page (500) for a BoltError
            log.error("Slack: the installation of %s was not stored: %s", scope, exc)
            raise BoltError(f"the installation was not stored: {exc}") from None
        log.info("Slack: installed in workspace %s (%s)", installation.team_name or "", scope)
        if self.on_saved is not None:
            await self.on_saved(scope)

    async def async_save_bot(self, bot: Bot) -> None:
        scope = scope_of(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        self.records.put({f"slack:bot:{scope}": self._row(bot.to_dict(), "bot")})

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        document = self._document(
            f"slack:bot:{scope_of(enterprise_id, team_id, is_enterprise_install)}"
        )
        return None if document is None else Bot(**document)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        scope = scope_of(enterprise_id, team_id, is_enterprise_install)
        document = self._document(f"slack:installation:{scope}:{user_id or LATEST}")
        if document is None:
            return None
        return Installation(**document)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._delete(lambda key: key == f"slack:bot:{scope_of(enterprise_id, team_id, False)}")

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        prefix = f"slack:installation:{scope_of(enterprise_id, team_id, False)}:"
        if user_id is None:
            self._delete(lambda key: key.startswith(prefix))
            return
        # The user's row; when the latest was theirs, the newest other one becomes it.
        latest = self.records.get(prefix + LATEST) or {}
        self._delete(lambda key: key == prefix + user_id)
        if latest.get("user_id") == user_id:
            self._delete(lambda key: key == prefix + LATEST)
            others = [row for key, row in self.records.rows() if key.startswith(prefix)]
            if others:
                newest = max(others, key=lambda row: float(row.get("installed_at", 0)))
                self.records.put({prefix + LATEST: newest})

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        scope = scope_of(enterprise_id, team_id, False)
        self._delete(
            lambda key: (
                key == f"slack:bot:{scope}" or key.startswith(f"slack:installation:{scope}:")
            )
        )

    def _delete(self, wanted: Callable[[str], bool]) -> None:
        self.records.delete(lambda key, _row: wanted(key))

    # -- for Paperpost ------------------------------------------------------------
    def teams(self) -> list[str]:
        """The scopes (teams) holding a bot."""
        return sorted(
            key.removeprefix("slack:bot:")
            for key, _ in self.records.rows()
            if key.startswith("slack:bot:")
        )

    def bot(self, scope: str) -> Bot | None:
        """The team's bot; ``SealError`` when the key cannot open it."""
        document = self._document(f"slack:bot:{scope}", strict=True)
        return None if document is None else Bot(**document)

    def check_key(self) -> None:
        """``SealError`` when a stored bot exists and the key cannot open it."""
        for team in self.teams()[:1]:
            self.bot(team)


class StoreStates(AsyncOAuthStateStore):
    """One-time OAuth states: ``random.signature``, the random part in the store."""

    def __init__(
        self,
        records: InstallationRecords,
        *,
        secret: str,
        seconds: float = STATE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = records
        self._secret = secret.encode("utf-8")
        self.seconds = seconds
        self.clock = clock

    def __repr__(self) -> str:
        return "StoreStates(<secret hidden>)"

    @property
    def logger(self) -> logging.Logger:
        return log

    def _signature(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        nonce = self.records.issue_state(now=self.clock(), ttl=self.seconds)
        return f"{nonce}.{self._signature(nonce)}"

    async def async_consume(self, state: str) -> bool:
        nonce, _, signature = state.partition(".")
        if not nonce or not hmac.compare_digest(signature, self._signature(nonce)):
            log.warning("Slack OAuth: a state that Paperpost did not sign was refused")
            return False
        if not self.records.consume_state(nonce, now=self.clock()):
            log.warning("Slack OAuth: an expired or already used state was refused")
            return False
        return True
