"""Slack adapter: ``/papers`` slash commands in, Block Kit digests and replies out.

render.py          Digest/Reply → Block Kit messages within Slack's limits (pure)
cards.py           one paper as mrkdwn;  escape.py  mrkdwn escaping, safe links
client.py          AsyncWebClient with retries; Slack errors → DeliveryError
delivery.py        SlackPlatform: exactly-once digest posting (bot.ports.Platform)
pacer.py           chat.postMessage pacing per workspace and channel
slash_commands.py  Bolt listeners: /papers and "Share in channel"
link_cards.py      Bolt listener: pasted paper links → cards (link_shared → chat.unfurl)
server.py          HTTP mode on aiohttp;  runtime.py  start_slack / slack_platform
oauth.py           many workspaces: Bolt's OAuth install flow, each team's token, uninstalls
installations.py   slack_sdk's installation and OAuth state stores, in Paperpost's store (sealed)
"""

from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.adapters.slack.render import SlackMessage, render_digest, render_reply
from paperpost.adapters.slack.runtime import SlackRuntime, slack_platform, start_slack
from paperpost.adapters.slack.server import (
    EVENTS_PATH,
    LateBolt,
    add_late_slack_routes,
    add_slack_routes,
    build_web_app,
    serve,
)

__all__ = [
    "EVENTS_PATH",
    "LateBolt",
    "SlackMessage",
    "SlackPlatform",
    "SlackRuntime",
    "add_late_slack_routes",
    "add_slack_routes",
    "build_client",
    "build_web_app",
    "render_digest",
    "render_reply",
    "serve",
    "slack_platform",
    "start_slack",
]
