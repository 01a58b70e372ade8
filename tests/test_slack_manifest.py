"""slack/manifest.yaml asks for what the adapter uses (checked as text: no YAML parser needed)."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yaml"


def active_lines() -> list[str]:
    return [line.split("#")[0].rstrip() for line in MANIFEST.read_text("utf-8").splitlines()]


def test_manifest_scopes_command_and_socket_mode() -> None:
    lines = active_lines()
    scopes = {m.group(1) for line in lines if (m := re.match(r"^\s+- ([a-z.:]+)$", line))}
    needed = {"commands", "chat:write", "channels:history", "groups:history"}
    assert needed | {"channels:read", "groups:read"} <= scopes
    assert "    - command: /papers" in lines
    assert "  socket_mode_enabled: true" in lines
    assert "    is_enabled: true" in lines  # interactivity, for "Share in channel"


def test_manifest_asks_for_link_cards() -> None:
    """Without the domains, the event and both scopes, Slack never sends link_shared."""
    text = "\n".join(active_lines())
    assert re.search(r"unfurl_domains:\n\s+- arxiv\.org\n\s+- huggingface\.co", text)
    assert re.search(r"bot_events:\n\s+- link_shared", text)
    assert {"      - links:read", "      - links:write"} <= set(active_lines())


def test_manifest_asks_for_feedback_buttons_and_reactions() -> None:
    """Without interactivity no press arrives; without the scope and the events, no
    reaction does (defect caught: buttons and reactions built, the app never told)."""
    lines = set(active_lines())
    assert "    is_enabled: true" in lines
    assert "      - reactions:read" in lines
    assert {"      - reaction_added", "      - reaction_removed"} <= lines


def test_manifest_subscribes_to_channel_deletion() -> None:
    """Without these events a deleted channel's votes and settings would stay for ever."""
    text = "\n".join(active_lines())
    assert re.search(r"bot_events:\n(\s+- \w+\n)*\s+- channel_deleted\n\s+- group_deleted", text)
