"""Loopback fakes of the services Paperpost talks to, for tests.

``hf_server``: the Hugging Face papers API (``FakeHFServer``, ``Fault``, real-day loaders
and the ``hf_server`` / ``hf_days`` pytest fixtures). Use the fixtures with
``pytest_plugins = ("tests.fakes.hf_server",)`` in a test module or the root conftest.
"""

import pytest

# Fakes hold assertion helpers and fixtures: let pytest rewrite their asserts too.
pytest.register_assert_rewrite("tests.fakes.hf_server")
