"""The spool keeps every batch, in order, across re-opens, failed deliveries, kill -9 and two writers."""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import pytest

from hotspotctl.errors import SinkError
from hotspotctl.sinks import spool as spool_module
from hotspotctl.sinks.spool import Spool, SpoolBusyError, SpoolFullError, gzip_compress, is_gzip

REPO = Path(__file__).resolve().parents[2]


def cycle(tag: str, n: int = 3) -> list[str]:
    """A small batch whose lines say which batch they belong to."""
    return [f"ap_status,ap=CDMX-{i:05d},batch={tag} up=1i,clients={i}i 1712345678" for i in range(n)]


def tags(body: bytes) -> list[str]:
    return [line.split(b"batch=")[1].split(b" ")[0].decode() for line in body.splitlines()]


def run_child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_append_status_batches_ack_across_reopen(tmp_path: Path, compress: bool) -> None:
    spool = Spool(tmp_path / "spool", compress=compress)
    infos = [spool.append(cycle("a", 3)), spool.append(cycle("b", 5), precision="ms"), spool.append(cycle("c", 2))]
    assert [i.seq for i in infos] == [1, 2, 3]
    assert [i.points for i in infos] == [3, 5, 2]

    status = spool.status()
    assert (status.batches, status.points, status.bytes) == (3, 10, sum(i.bytes for i in infos))
    assert status.oldest == infos[0].created_at and status.newest == infos[2].created_at
    assert json.loads(json.dumps(status.to_json()))["points"] == 10

    found = list(spool.batches())
    assert [b.seq for b in found] == [1, 2, 3]
    assert [b.precision for b in found] == ["s", "ms", "s"]
    assert [tags(b.read()) for b in found] == [["a"] * 3, ["b"] * 5, ["c"] * 2]
    assert [b.gzipped for b in found] == [compress] * 3
    assert all(b.created_at == i.created_at and b.bytes == i.bytes for b, i in zip(found, infos, strict=True))

    spool.ack(found[0])
    reopened = Spool(tmp_path / "spool", compress=compress)
    assert [b.seq for b in reopened.batches()] == [2, 3]
    assert reopened.append(cycle("d")).seq == 4  # continues after the highest existing seq

    for batch in list(reopened.batches()):
        reopened.ack(batch)
    assert reopened.status().batches == 0
    assert reopened.status().oldest is None
    assert Spool(tmp_path / "spool").append(cycle("e")).seq == 5  # a drained spool does not restart at 1


def test_replay_stops_at_first_failure_and_resumes_there(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for n in range(6):
        spool.append(cycle(str(n), n + 1))
    delivered: list[tuple[list[str], str]] = []
    calls = 0

    def flaky(body: bytes, precision: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionError("influxdb down")
        delivered.append((tags(body), precision))

    first = spool.replay(flaky)
    assert (first.batches, first.points, first.ok) == (2, 1 + 2, False)
    assert isinstance(first.error, ConnectionError)
    assert first.failed is not None and first.failed.seq == 3
    assert [b.seq for b in spool.batches()] == [3, 4, 5, 6]  # the failed batch was not acked
    assert first.to_json()["failed_seq"] == 3

    second = spool.replay(flaky, limit=2)
    assert (second.batches, second.points, second.ok) == (2, 3 + 4, True)
    third = spool.replay(flaky)
    assert (third.batches, third.points) == (2, 5 + 6)

    assert [t[0][0] for t in delivered] == ["0", "1", "2", "3", "4", "5"]  # in order, none twice, none skipped
    assert sum(len(t[0]) for t in delivered) == sum(range(1, 7))
    assert {t[1] for t in delivered} == {"s"}
    assert spool.status().batches == 0
    assert spool.replay(flaky).batches == 0


def test_replay_can_hand_over_the_gzip_body(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "gz")
    spool.append(cycle("g"), precision="ns")
    bodies: list[bytes] = []
    spool.replay(lambda body, precision: bodies.append(body), gzip=True)
    assert is_gzip(bodies[0]) and tags(gzip.decompress(bodies[0])) == ["g"] * 3

    plain = Spool(tmp_path / "plain", compress=False)
    plain.append(cycle("p"))
    plain.replay(lambda body, precision: bodies.append(body), gzip=True)
    assert not is_gzip(bodies[1]) and tags(bodies[1]) == ["p"] * 3


def test_a_second_replay_is_refused_while_status_still_works(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(cycle("x"))
    seen: list[int] = []

    def deliver(body: bytes, precision: str) -> None:
        other = Spool(tmp_path)  # as another process would: its own descriptors, so flock excludes it
        seen.append(other.status().batches)
        with pytest.raises(SpoolBusyError, match="another process is replaying"):
            other.replay(deliver)

    assert spool.replay(deliver).batches == 1
    assert seen == [1]


def test_points_are_counted_without_blank_or_comment_lines(tmp_path: Path) -> None:
    spool = Spool(tmp_path, compress=False)
    body = b"# written by a test\nm,t=a v=1i 1\n\nm,t=b v=2i 2\n   \nm,t=c v=3i 3"
    info = spool.append(body)
    assert info.points == 3
    (batch,) = spool.batches()
    assert batch.read().endswith(b"v=3i 3\n")  # a final newline is added
    with pytest.raises(ValueError, match="precision"):
        spool.append(cycle("x"), precision="h")
    with pytest.raises(ValueError, match="empty batch"):
        spool.append([])


def test_leftover_temp_files_are_ignored_and_removed_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(cycle("a"))
    leftover = tmp_path / ".tmp-99999-deadbeef"
    leftover.write_bytes(b"m v=1i 1\nm v=")  # a crash mid-append
    assert [b.seq for b in spool.batches()] == [1]
    assert spool.status().points == 3
    Spool(tmp_path)
    assert not leftover.exists()
    assert spool.append(cycle("b")).seq == 2


def test_near_full_warns_and_over_limit_refuses_writing_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = cycle("w", 10)
    size = len(("\n".join(lines) + "\n").encode())
    spool = Spool(tmp_path, max_bytes=size * 3, warn_fraction=0.6, compress=False, limit_name="HOTSPOTCTL_TEST_MAX")

    with caplog.at_level(logging.WARNING, logger="hotspotctl.spool"):
        spool.append(lines)  # 33%: quiet
        assert not caplog.records
        spool.append(lines)  # 67%: loud
    (record,) = caplog.records
    assert record.name == "hotspotctl.spool" and record.levelno == logging.WARNING
    message = record.getMessage()
    for needed in ("67% full", str(tmp_path), "InfluxDB", "hotspotctl spool flush", "HOTSPOTCTL_TEST_MAX"):
        assert needed in message

    spool.append(lines)  # exactly full is allowed
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(SpoolFullError) as refused:
        spool.append(["one_more v=1i 1"])
    assert isinstance(refused.value, SinkError)
    for needed in ("is full", "NOT stored", str(tmp_path), "hotspotctl spool flush", "HOTSPOTCTL_TEST_MAX"):
        assert needed in str(refused.value)
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, nothing deleted
    assert [b.seq for b in spool.batches()] == [1, 2, 3]


KILL_CHILD = """
    import sys
    from pathlib import Path
    from hotspotctl.sinks.spool import Spool

    spool = Spool(Path(sys.argv[1]), compress=sys.argv[2] == "gzip")
    lines = [f"ap_traffic,ap=CDMX-{i:05d},batch=TAG in_bps={i * 7}.5,out_bps=3.25 1712345678\\n" for i in range(20000)]
    n = 0
    while True:  # built outside the loop, so most of the time goes to writing and the kill often lands there
        n += 1
        body = "".join(lines[: n % 7 * 3000 + 1]).replace("TAG", f"k{n}").encode()
        print(spool.append(body).seq, flush=True)
"""


def test_kill_9_mid_append_leaves_only_whole_batches_and_no_gaps(tmp_path: Path) -> None:
    rng = random.Random(20250405)
    acknowledged: set[int] = set()
    for round_ in range(6):
        child = run_child(KILL_CHILD, str(tmp_path), "gzip" if round_ % 2 else "plain")
        time.sleep(rng.uniform(0.3, 1.2))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        acknowledged |= {int(line) for line in out.split()}

        spool = Spool(tmp_path)  # re-open after the crash: removes its temp file, if any
        assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]
        seqs = []
        for batch in spool.batches():
            body = batch.read()  # a torn gzip would fail its CRC here
            assert body.endswith(b"\n")
            assert body.count(b"\n") == batch.points, batch.path.name
            assert len(set(tags(body))) == 1
            seqs.append(batch.seq)
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free, in order
        assert acknowledged <= set(seqs)  # everything the child was told is written is there
        assert len(seqs) - max(acknowledged, default=0) <= 1  # at most the one it had no time to print
    assert len(acknowledged) > 6


CONCURRENT_CHILD = """
    import sys
    from pathlib import Path
    from hotspotctl.sinks.spool import Spool

    spool = Spool(Path(sys.argv[1]), compress=False)
    for n in range(int(sys.argv[3])):
        print(spool.append([f"m,batch={sys.argv[2]}-{n} v={n}i 1"] * 50).seq, flush=True)
"""


def test_two_appending_processes_never_collide(tmp_path: Path) -> None:
    per_child = 60
    children = [run_child(CONCURRENT_CHILD, str(tmp_path), name, str(per_child)) for name in ("p", "q")]
    spool = Spool(tmp_path)
    counts = []
    while any(c.poll() is None for c in children):
        counts.append(spool.status().batches)  # a reader during the appends sees whole batches only
    outputs = [c.communicate()[0] for c in children]
    assert all(c.returncode == 0 for c in children)
    assert counts == sorted(counts)

    printed = [int(s) for out in outputs for s in out.split()]
    assert len(printed) == len(set(printed)) == 2 * per_child
    found = list(spool.batches())
    assert [b.seq for b in found] == list(range(1, 2 * per_child + 1))
    assert set(printed) == {b.seq for b in found}
    batch_tags = [tags(b.read())[0] for b in found]
    assert all(b.points == 50 for b in found)
    for name in ("p", "q"):
        assert [t for t in batch_tags if t.startswith(name)] == [f"{name}-{n}" for n in range(per_child)]


# -- issue 15: sequence numbers, rejected/, privacy, a failed write ---------------------------------------


def test_a_rejected_newest_batch_never_lends_its_sequence_number(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for tag in "abc":
        spool.append(cycle(tag))
    first, second, newest = spool.batches()
    spool.ack(first)
    spool.ack(second)
    spool.reject(newest, "HTTP 422: partial write: points beyond retention policy dropped=3")
    assert spool.append(cycle("d")).seq == 4  # not 3: batch 3 is in rejected/
    assert Spool(tmp_path / "spool").append(cycle("e")).seq == 5  # nor after a re-open

    # a spool whose newest batch was set aside by hand (or by an older version, which left no high-water mark)
    d, e = spool.batches()
    spool.ack(d)
    os.replace(e.path, tmp_path / "spool" / "rejected" / e.path.name)
    assert spool.append(cycle("f")).seq == 6

    assert spool.requeue_rejected() == 2
    found = list(spool.batches())
    assert [b.seq for b in found] == [3, 5, 6]
    assert [tags(b.read())[0] for b in found] == ["c", "e", "f"]
    assert len({b.path.name for b in found}) == 3


def test_rejected_batches_count_against_the_size_bound_and_show_in_status(tmp_path: Path) -> None:
    lines = cycle("w", 10)
    size = len(("\n".join(lines) + "\n").encode())
    reason = "InfluxDB refused the batch: HTTP 400: partial write: field type conflict dropped=10"
    spool = Spool(tmp_path, max_bytes=size * 3 + 50, compress=False)
    for _ in range(3):
        spool.append(lines)
    first, second, _third = spool.batches()
    spool.reject(first, reason)
    spool.ack(second)  # delivered: one batch of room again, were rejected/ free
    on_disk = sum(p.stat().st_size for p in (tmp_path / "rejected").iterdir())
    assert on_disk > size + 50  # the batch and its .reason file

    status = spool.status()
    assert (status.batches, status.points, status.bytes) == (1, 10, size)
    assert (status.rejected, status.rejected_points, status.rejected_bytes) == (1, 10, on_disk)
    assert status.used_bytes == size + on_disk
    assert status.fraction == pytest.approx((size + on_disk) / (size * 3 + 50))
    listed = status.to_json()
    assert (listed["rejected"], listed["rejected_points"], listed["rejected_bytes"], listed["used_bytes"]) == (
        1, 10, on_disk, size + on_disk)
    assert listed["rejected_directory"] == str(tmp_path / "rejected")

    before = sorted(os.listdir(tmp_path))
    with pytest.raises(SpoolFullError) as refused:
        spool.append(lines)  # rejected/ takes the room the delivered batch freed
    for needed in ("is full", "refused by InfluxDB", str(tmp_path / "rejected"), ".reason", "--requeue"):
        assert needed in str(refused.value)
    assert sorted(os.listdir(tmp_path)) == before
    (kept,) = spool.rejected()
    assert tags(kept.read()) == ["w"] * 10
    assert reason in kept.path.with_name(kept.path.name + ".reason").read_text()


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_the_spool_is_private_to_its_user_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    old = os.umask(umask)
    try:
        spool = Spool(tmp_path / "data" / "spool")
        for tag in "abc":
            spool.append(cycle(tag))
        first, _second, third = spool.batches()
        spool.reject(first, "HTTP 400: bad")
        spool.ack(third)  # the newest: writes the high-water mark
        spool.replay(lambda body, precision: None, limit=0)  # takes the replay lock
        plain = Spool(tmp_path / "data" / "spool", compress=False)
        plain.append(cycle("d"))
        # a spool an older version made 0755, with a rejected/ 0755: tightened on open
        legacy = tmp_path / "legacy"
        (legacy / "rejected").mkdir(parents=True, mode=0o755)
        os.chmod(legacy, 0o755)
        os.chmod(legacy / "rejected", 0o755)
        Spool(legacy)
    finally:
        os.umask(old)
    root = tmp_path / "data" / "spool"
    assert mode(root) == 0o700 and mode(root / "rejected") == 0o700
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert len([f for f in files if f.startswith("rejected/")]) == 2  # the batch and its .reason
    assert {".append.lock", ".replay.lock", ".last_seq"} <= set(files)
    assert {f: mode(root / f) for f in files} == dict.fromkeys(files, 0o600)
    assert (mode(legacy), mode(legacy / "rejected")) == (0o700, 0o700)


FULL_DISK_CHILD = """
    import resource, signal, sys
    from pathlib import Path
    from hotspotctl.sinks.spool import Spool, SpoolFullError

    spool = Spool(Path(sys.argv[1]), compress=False)
    spool.append(["m v=1i 1"])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then a write past the limit fails with EFBIG, as a full disk does
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        spool.append([f"m,i={i} v={i}i 1" for i in range(2000)])
    except OSError as exc:
        print(type(exc).__name__, exc.errno, isinstance(exc, SpoolFullError), str(exc), sep="|")
"""


def test_a_failed_append_raises_an_os_error_and_leaves_no_half_batch(tmp_path: Path) -> None:
    """The cycle's contract: when the spool cannot take a batch, append raises (SpoolFullError, or an OSError
    for a full disk) and stores nothing, so the counters are not advanced past unspooled points."""
    import errno

    child = run_child(FULL_DISK_CHILD, str(tmp_path))
    out, _ = child.communicate(timeout=120)
    name, code, full, message = out.strip().split("|")
    assert (name, int(code), full) == ("SpoolWriteError", errno.EFBIG, "False")
    assert "nothing was stored" in message and str(tmp_path) in message
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith(".") or n.startswith(".tmp")) == [
        next(n for n in os.listdir(tmp_path) if n.startswith("000000000001_"))]
    assert [b.points for b in Spool(tmp_path).batches()] == [1]


@pytest.mark.parametrize("lines", [
    ["m v=1i 1", "m v=2i 2"],
    ["m v=1i 1", "m v=2i 2\n"],  # the last line's own newline
    ["m v=1i 1", ""],  # a blank line: not a point
    ["", "m v=1i 1"],
    ["# a comment", "m v=1i 1"],
    ["m v=1i 1", "  m v=2i 2"],  # leading spaces: still a point, as the text scan says
    ["m v=1i 1", "\tm v=2i 2"],
    ["m v=1i 1\n\nm v=2i 2"],  # a blank line inside one string
    ["m v=1i 1\n# c\nm v=2i 2"],
    ["m v=1i 1\r", "m v=2i 2"],
    ["m v=1i 1\nm v=2i 2", "m v=3i 3"],
])
def test_a_batch_given_as_lines_counts_its_points_as_its_text_would(tmp_path, lines):
    """append() counts the points of a list of lines from the lines (a cycle's batches), and must find
    what the scan of the joined text finds, whatever the lines hold."""
    spool = Spool(tmp_path / "spool")
    text = ("\n".join(lines) + ("" if "\n".join(lines).endswith("\n") else "\n")).encode()
    expected = sum(1 for line in text.split(b"\n") if line.strip() and not line.lstrip().startswith(b"#"))
    assert spool.append(lines).points == expected
    assert spool.append(text).points == expected  # the same batch as bytes: the text scan
    assert [b.points for b in spool.batches()] == [expected, expected]
    assert [b.read() for b in spool.batches()] == [text, text]


@pytest.mark.parametrize("count", [1, 511, 512, 513, 10_000])
def test_a_batch_of_lines_is_stored_as_gzip_of_their_text_without_the_text(tmp_path: Path, count: int) -> None:
    """A cycle's batch (a list of regular lines) is compressed a chunk at a time (spool._gzip_lines) rather than
    joined whole: the stored body must be one gzip member that the standard library's readers inflate to the
    whole text, across the chunks' edges, no larger than the spool's one-shot gzip of that text (a flush at each
    chunk's edge would add bytes at every edge). ISA-L's stream for one line fed in two pieces is not bytewise
    its one-shot stream (the same length), so the bytes themselves are not compared."""
    lines = [f"ap_status,ap=CDMX-{i:05d},district=Tlalpan up=1i,clients={i % 40}i 1796500000" for i in range(count)]
    text = ("\n".join(lines) + "\n").encode()
    spool = Spool(tmp_path / "spool")
    info = spool.append(lines)
    (batch,) = spool.batches()
    assert info.points == batch.points == count
    raw = batch.read_raw()
    assert len(raw) <= len(gzip_compress(text))
    assert raw[:4] == b"\x1f\x8b\x08\x00" and raw[4:8] == bytes(4)  # a gzip member, deflate, no flags, mtime 0
    member = zlib.decompressobj(31)
    assert member.decompress(raw) == text and member.eof and member.unused_data == b""  # one member, nothing after
    assert gzip.decompress(raw) == text
    assert batch.read() == text


def test_status_follows_other_writers_and_readers_while_it_remembers_the_batches_it_has_seen(tmp_path: Path) -> None:
    """A batch's name and size are read once (its file never changes); what another process appends, acks or
    sets aside in the meantime still shows at once, and the size bound still counts every byte."""
    mine, other = Spool(tmp_path / "spool"), Spool(tmp_path / "spool")  # two processes on one directory
    for n in range(3):
        mine.append([f"m v={n} {n}", f"m w={n} {n}"])
    first = mine.status()
    assert (first.batches, first.points) == (3, 6)
    other.append(["m v=9 9"])
    assert (mine.status().batches, mine.status().points, mine.status().bytes) == (4, 7, other.status().bytes)
    delivered: list[bytes] = []
    assert other.replay(lambda body, precision: delivered.append(body), limit=2).batches == 2
    now = mine.status()
    assert (now.batches, now.points, now.oldest) == (2, 3, next(b.created_at for b in other.batches()))
    assert [b.seq for b in mine.batches()] == [3, 4]
    assert now.bytes == sum(p.stat().st_size for p in (tmp_path / "spool").iterdir() if p.name.startswith("0"))
    assert mine.append(["m v=10 10"]).seq == 5
    assert (mine.status().batches, mine.status().points) == (3, 4)


class _CountingPattern:
    """The spool's batch-name pattern, counting the names it is asked to parse."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.parsed = 0

    def match(self, name: str) -> re.Match[str] | None:
        self.parsed += 1
        return self.pattern.match(name)


def test_a_backlog_is_parsed_once_not_on_every_append_and_status(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With InfluxDB away the backlog grows to thousands of batches while every cycle appends and asks status():
    each name is parsed the first time it is seen, so those cost the same at 300 batches waiting as at none."""
    spool = Spool(tmp_path / "spool")
    for n in range(300):
        spool.append([f"m v={n} {n}"])
    assert spool.status().batches == 300
    counting = _CountingPattern(spool_module._NAME)
    monkeypatch.setattr(spool_module, "_NAME", counting)
    info = spool.append(cycle("new"))
    status = spool.status()
    assert (info.seq, status.batches, status.points) == (301, 301, 303)
    assert counting.parsed == 1  # the new batch's name: not the 300 before it, at every look


def test_a_replay_lists_the_directory_a_few_times_not_once_per_batch_it_acks(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Acking a batch older than one already seen needs no listing (the high-water mark is safe: see ``ack``),
    so a replay of a backlog is linear in it, not quadratic; and seqs still never repeat afterwards."""
    spool = Spool(tmp_path / "spool")
    for n in range(200):
        spool.append([f"m v={n} {n}"])
    listings = []
    real_listdir = os.listdir
    monkeypatch.setattr(spool_module.os, "listdir", lambda path: listings.append(path) or real_listdir(path))
    delivered: list[bytes] = []
    result = spool.replay(lambda body, precision: delivered.append(body))
    assert (result.batches, result.points, len(delivered)) == (200, 200, 200)
    # the replay's own listing, then the newest batch's ack twice (is it the newest? then again under the append
    # lock, before the high-water mark is raised): not one a batch
    assert listings == [tmp_path / "spool"] * 3
    monkeypatch.undo()
    assert spool.status().batches == 0
    assert spool.append(cycle("after")).seq == 201
    assert Spool(tmp_path / "spool").append(cycle("reopened")).seq == 202  # the newest's ack kept the mark


def test_what_another_process_acks_requeues_or_appends_shows_in_the_next_append(tmp_path: Path) -> None:
    """The listing is taken again on every look: the size bound and the seqs follow what another process did."""
    ours, theirs = (Spool(tmp_path / "spool", max_bytes=9_000, compress=False) for _ in range(2))
    assert ours.append(cycle("a", 40)).bytes == 2_430
    theirs.append(cycle("b", 40))
    assert ours.append(cycle("c", 40)).seq == 3  # 7,290 bytes used: another batch of 2,430 does not fit
    with pytest.raises(SpoolFullError):
        ours.append(cycle("d", 40))
    batches = list(theirs.batches())
    for batch in batches[:-1]:  # another process delivers all but the newest
        theirs.ack(batch)
    theirs.reject(batches[-1], "HTTP 400: field type conflict")
    after = ours.status()
    assert (after.batches, after.rejected, after.rejected_points) == (0, 1, 40)
    assert after.used_bytes == sum(p.stat().st_size for p in (tmp_path / "spool" / "rejected").iterdir())
    info = ours.append(cycle("e", 40))  # room again: the acks were seen
    assert info.seq == 4  # above the rejected newest, whose seq is never lent
    assert theirs.requeue_rejected() == 1
    again = ours.status()
    assert ([b.seq for b in ours.batches()], again.rejected, again.points) == ([batches[-1].seq, info.seq], 0, 80)
