"""``tail`` and ``follow`` on container log files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sailmesh.runtime.supervisor import follow, tail


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    assert tail(log) == []
    log.write_text("a\nb\nc")
    assert tail(log, 2) == ["b", "c"]
    assert tail(log, 10) == ["a", "b", "c"]
    assert tail(log, 0) == []
    log.write_text("".join(f"line {i}\n" for i in range(5000)))  # spans many read blocks
    assert tail(log, 3) == ["line 4997", "line 4998", "line 4999"]


def test_follow_yields_tail_then_new_lines_until_stopped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nold 2\nold 3\n")
    stop = threading.Event()
    lines = follow(log, lines=2, stop=stop, interval=0.02)
    assert [next(lines), next(lines)] == ["old 2", "old 3"]

    def writer() -> None:
        with open(log, "a") as out:
            for i in range(3):
                out.write(f"new {i}\n")
                out.flush()
                time.sleep(0.05)
            out.write("partial")

    thread = threading.Thread(target=writer)
    thread.start()
    assert [next(lines) for _ in range(3)] == ["new 0", "new 1", "new 2"]
    thread.join()
    stop.set()
    assert list(lines) == ["partial"]


def test_follow_waits_for_the_file_and_reads_truncation(tmp_path: Path) -> None:
    log = tmp_path / "late.log"
    stop = threading.Event()
    lines = follow(log, stop=stop, interval=0.02)
    threading.Timer(0.1, lambda: log.write_text("first\nsecond\n")).start()
    assert [next(lines), next(lines)] == ["first", "second"]
    log.write_text("x\n")  # truncated and rewritten (shorter)
    assert next(lines) == "x"
    stop.set()
    assert list(lines) == []


def test_follow_can_be_closed(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one\n")
    lines = follow(log, interval=0.01)
    assert next(lines) == "one"
    lines.close()
