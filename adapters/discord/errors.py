"""Discord failures translated into the core's ``DeliveryError``."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from paperpost.bot.errors import DeliveryError

# Retrying these is useless until a person fixes the channel or the bot's role.
PERMANENT_CODES = {
    10003: "the channel no longer exists (Unknown Channel)",
    50001: "the bot cannot see the channel (Missing Access)",
    50013: "the bot lacks a permission there (Missing Permissions)",
}
TRANSIENT_EXCEPTIONS = (discord.HTTPException, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def delivery_error(exc: BaseException) -> DeliveryError:
    """Classify any failure of a Discord call; discord.py already waited out 429s."""
    if isinstance(exc, discord.RateLimited):  # the wait was over max_ratelimit_timeout
        return DeliveryError(
            f"Discord rate limit: {exc}", permanent=False, retry_after=exc.retry_after
        )
    if isinstance(exc, discord.HTTPException):
        if exc.code in PERMANENT_CODES:
            return DeliveryError(
                f"Discord {exc.status}/{exc.code}: {PERMANENT_CODES[exc.code]}", permanent=True
            )
        return DeliveryError(f"Discord {exc.status}/{exc.code}: {exc.text[:200]}", permanent=False)
    return DeliveryError(f"Discord unreachable: {type(exc).__name__}: {exc}", permanent=False)
