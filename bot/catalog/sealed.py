"""Secrets at rest: values the store must hold but never show (the Slack
workspaces' bot and user tokens), encrypted with Fernet (AES-128-CBC + HMAC).

The key is ``PAPERPOST_SECRET_KEY``: one Fernet key, or several separated by
commas to rotate (the first seals, every one opens). A sealed value is opaque
text; without the key it is useless, so exports and backups can hold it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(Exception):
    """A sealed value that this key cannot open (another key, or tampered with)."""


class Sealer:
    def __init__(self, keys: str) -> None:
        """``ValueError`` for text that is not one or more Fernet keys."""
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("no key")
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in parts])
        except (ValueError, UnicodeEncodeError) as exc:  # binascii.Error is a ValueError
            raise ValueError("not a Fernet key") from exc

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SealError("PAPERPOST_SECRET_KEY cannot open this value") from exc
