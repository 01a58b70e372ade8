"""The ``channels export`` document, and reading one back with the chat commands' parsers.

``{"version": N, "channels": {"slack:T:C": {field: value, ...}, ...}}``. Each
field belongs to the version that introduced it: a document of version N must
carry every field of versions 1..N (a record missing one is an error naming
it: a partial record must not silently reset a channel), and may leave out a
field added later (it takes its default). Every value goes through the parser
its ``/papers set`` (or ``subscribe``) command uses, so an import can hold
nothing a chat command would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from paperpost.bot.catalog.query import parse_query
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.settings import (
    MAX_SUBSCRIPTION_LENGTH,
    MAX_SUBSCRIPTIONS,
    WEEKDAYS,
    ChannelSettings,
    parse_days,
    parse_min_upvotes,
    parse_time,
    parse_timezone,
    parse_top_n,
    parse_weekly,
)
from paperpost.bot.errors import UserError

EXPORT_VERSION = 2
# The version that introduced each field of a channel record (named as ChannelSettings'
# attributes). A new field: add it here with the new version, and bump EXPORT_VERSION.
FIELD_VERSIONS = {
    "post_time": 1, "timezone": 1, "days": 1, "top_n": 1, "min_upvotes": 1,
    "threads": 1, "paused": 1, "paused_reason": 1, "subscriptions": 1,
    "weekly": 2,  # the weekly roundup: "fri 16:00" or null (off)
}  # fmt: skip
MAX_REASON_LENGTH = 500
_DEFAULTS = {f.name: getattr(ChannelSettings(), f.name) for f in fields(ChannelSettings)}


class FieldError(ValueError):
    """A value its field does not accept; the message says what would be accepted."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(f"expected text, got {json_type(value)}")
    return value


def _whole_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):  # True is an int in Python
        raise FieldError(f"expected a whole number, got {json_type(value)}")
    return str(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"expected true or false, got {json_type(value)}")
    return value


def _days(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        return parse_days(value)
    if not isinstance(value, list):
        raise FieldError(f"expected a list of days 0 (Monday) to 6, got {json_type(value)}")
    names = []
    for day in value:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day < len(WEEKDAYS):
            raise FieldError(f"{day!r} is not a day: use 0 (Monday) to 6 (Sunday)")
        names.append(WEEKDAYS[day])
    return parse_days(",".join(names))


def _reason(value: Any) -> str | None:
    if value is None:
        return None
    text = _text(value)
    if len(text) > MAX_REASON_LENGTH:
        raise FieldError(f"at most {MAX_REASON_LENGTH} characters")
    return text


def _subscriptions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise FieldError(f"expected a list of saved searches, got {json_type(value)}")
    if len(value) > MAX_SUBSCRIPTIONS:
        raise FieldError(f"{len(value)} saved searches; a channel has {MAX_SUBSCRIPTIONS} at most")
    canonical: dict[str, None] = {}
    for query in value:
        if len(_text(query)) > MAX_SUBSCRIPTION_LENGTH:
            raise FieldError(f"a saved search can be at most {MAX_SUBSCRIPTION_LENGTH} characters")
        try:
            canonical[str(parse_query(query))] = None
        except UserError as exc:
            raise FieldError(f"{query!r}: {exc}") from None
    return tuple(canonical)


PARSERS: dict[str, Callable[[Any], Any]] = {
    "post_time": lambda v: parse_time(_text(v)),
    "timezone": lambda v: parse_timezone(_text(v)),
    "days": _days,
    "top_n": lambda v: parse_top_n(_whole_number(v)),
    "min_upvotes": lambda v: parse_min_upvotes(_whole_number(v)),
    "threads": _flag,
    "paused": _flag,
    "paused_reason": _reason,
    "subscriptions": _subscriptions,
    "weekly": lambda v: None if v is None else parse_weekly(_text(v)),
}


def json_type(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    names |= {list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def export_document(channels: list[tuple[ChannelKey, ChannelSettings]]) -> dict[str, Any]:
    return {"version": EXPORT_VERSION, "channels": {str(k): s.to_json() for k, s in channels}}


def read_document(data: Any) -> list[tuple[ChannelKey, ChannelSettings]]:
    """Every channel of an export document, validated; UserError (one line) on the first fault."""
    if not isinstance(data, dict) or not isinstance(data.get("channels"), dict):
        raise UserError('not a Paperpost channels export: expected {"version": N, "channels": …}')
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserError("not a Paperpost channels export: it has no version number")
    if version > EXPORT_VERSION:
        raise UserError(
            f"this channels export has version {version}, but this Paperpost reads versions up "
            f"to {EXPORT_VERSION}: upgrade Paperpost to import it"
        )
    return [_read_channel(key, record, version) for key, record in data["channels"].items()]


def _read_channel(key: str, record: Any, version: int) -> tuple[ChannelKey, ChannelSettings]:
    try:
        channel = ChannelKey.parse(key)
    except UserError as exc:
        raise UserError(f"channels import: {exc}") from None
    if not isinstance(record, dict):
        raise UserError(f"channels import: channel {channel}: expected an object of settings")
    unknown = sorted(set(record) - set(FIELD_VERSIONS))
    if unknown:
        raise UserError(
            f"channels import: channel {channel}: unknown field {unknown[0]!r} "
            f"(fields: {', '.join(FIELD_VERSIONS)})"
        )
    values: dict[str, Any] = {}
    for name, since in FIELD_VERSIONS.items():
        if name not in record:
            if since <= version:
                raise UserError(
                    f"channels import: channel {channel}: field {name!r} is missing "
                    f"(an export of version {version} has it)"
                )
            values[name] = _DEFAULTS[name]
            continue
        try:
            values[name] = PARSERS[name](record[name])
        except (UserError, FieldError) as exc:
            raise UserError(f"channels import: channel {channel}, field {name!r}: {exc}") from None
    return channel, ChannelSettings(**values)
