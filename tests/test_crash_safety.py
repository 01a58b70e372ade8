"""Crash safety: ``paperpost digest`` SIGKILLed at seeded moments of a fan-out to
40 Slack channels (a loopback fake), restarted each time, then run to the end:
no digest part posted twice, none missing, every ledger entry "sent".

The experiment lives in benchmarks/crash_kill.py (also a script). 8 kills by
default; ``PAPERPOST_CRASH_KILLS=20`` (or more) for the full run,
``PAPERPOST_CRASH_SEED`` to pick another seed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from tests.fakes.slack_api import Posted

ROOT = Path(__file__).resolve().parent.parent


def _load_crash_kill():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "crash_kill", ROOT / "benchmarks" / "crash_kill.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_kill", module)
    spec.loader.exec_module(module)
    return module


from tests.scale import rounds  # noqa: E402

crash_kill = _load_crash_kill()


def test_killed_digest_runs_post_every_part_exactly_once():
    kills = int(os.environ.get("PAPERPOST_CRASH_KILLS", rounds(small=2, full=20)))
    seed = int(os.environ.get("PAPERPOST_CRASH_SEED", "7"))
    lines: list[str] = []
    # 24 channels: one wave of the 32 deliveries in flight (40 took two, twice the time)
    report = crash_kill.run_crash_kill(channels=24, kills=kills, seed=seed, say=lines.append)
    summary = "\n".join(lines + report.lines())
    assert report.kills >= kills, summary
    assert report.duplicates == [], summary
    assert report.missing_channels == [], summary
    assert report.misses == [], summary
    assert report.misthreaded == [], summary
    assert [r.final_exit for r in report.rounds] == [0] * len(report.rounds), summary
    assert dict(report.ledger) == {"sent": 24 * len(report.rounds)}, summary
    assert report.ok, summary


def _post(marker: str, part: int, ts: str, thread_ts: str | None = None) -> Posted:
    metadata = {
        "event_type": crash_kill.EVENT_TYPE,
        "event_payload": {"marker": marker, "part": part, "parts": 3},
    }
    return Posted("C1", ts, "", [], thread_ts, metadata, {})


def test_the_count_sees_duplicates_misses_and_stray_replies():
    """The checker itself: a clean run passes only because it would have failed."""
    result = crash_kill.RoundResult()
    posts = [
        _post("a", 0, "1.0"),
        _post("a", 1, "1.1", thread_ts="1.0"),
        _post("a", 1, "1.2", thread_ts="1.0"),  # the same part twice
        _post("a", 2, "1.3", thread_ts="9.9"),  # a reply outside its digest's thread
        _post("b", 0, "2.0"),  # b's part 1 never posted
    ]
    crash_kill._count(result, posts, {"a": 3, "b": 2, "c": 1})
    assert result.duplicates == [("a", 1, 2)]
    assert result.missing_parts == [("b", 1), ("c", 0)]
    assert result.missing_channels == ["c"]
    assert result.misthreaded == [("a", 2)]
