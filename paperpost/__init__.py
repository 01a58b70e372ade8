"""The Paperpost application: the command line and the wiring of core and adapters.

``bot`` (the platform-neutral core) and ``adapters`` (Slack, Discord, console)
never import this package; it is the one place that knows them both.
"""
