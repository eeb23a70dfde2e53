"""Durable streams: `ktop serve --data-dir DIR` (issue 13) against its contract, on a real server process.

The contract (the lead's durability spec): an acked record survives kill -9 with its sequence number, bytes and
arrival time; a sequence number is never issued twice; a torn last entry is dropped, a damaged one is reported
(stderr and a `storageDamaged` event) and the rest still serves; a put that cannot be written fails with
InternalFailure and is not acked; a second ktop on the same DIR and a read-only DIR are refused with one line;
records older than the memory window are read back from disk. Segment entries are
`u32 bodyLength | u32 crc32(body) | body`, body `i64 seqIndex | i64 arrivalMillis | u8 flags | u16 keyLength |
key | data`, little-endian, in `<DIR>/services/<account>/<region>/streams/<stream>/shard-<12 digits>/<20 digits>.seg`.

The crash test prints its seed; KTOP_DURABILITY_SEED=<seed> replays the same kill schedule. The tests that mount
file systems (tmpfs, a loop-mounted ext4) need root and skip without it.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import struct
import subprocess
import threading
import time
import urllib.request
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

import kwire  # noqa: E402  (Tests/Wire, put on sys.path by conftest.py)

FAST = ["--limits", "off", "--delay-ms", "0"]  # no quota or state delay is under test here
LISTENING = re.compile(r"Kinesis API on http://[^\s:]+:(\d+)")
# "recovered 1 stream, 2 shards, 123 records (12196 bytes) in 7 ms": streams, records, milliseconds.
RECOVERED = re.compile(r"recovered (\d+) streams?, (?:\d+ shards?, )?(\d+) records?(?: \([^)]*\))? in (\d+) ms")
PUT_FAILURES = {"InternalFailure", "InternalFailureException", "ServiceUnavailable", "ServiceUnavailableException"}
CRASH_SIGNS = ("Fatal error", "Stack dump", "Backtrace", "Segmentation fault")


# --------------------------------------------------------------------------
# the server on a data dir


class DurableServer:
    """`ktop serve --data-dir DIR`, restartable on the same DIR; each life's stderr goes to its own file.

    The first life picks a free port (`--port 0`, read back from the "Kinesis API on" line); later lives take the
    same port again (the server binds with SO_REUSEADDR), so clients keep their endpoint across kills.
    """

    def __init__(self, data_dir: Path, *args: str, logs: Path):
        self.data_dir, self.args, self.logs = data_dir, list(args), logs
        self.port = 0
        self.lives = 0
        self.proc: subprocess.Popen | None = None
        self.log: Path | None = None
        self._clients: dict[str, object] = {}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def command(self, port: int) -> list[str]:
        return [kwire.find_ktop_binary(), "serve", "--host", "127.0.0.1", "--port", str(port),
                "--data-dir", str(self.data_dir), *self.args]

    def start(self, timeout: float = 30.0) -> DurableServer:
        for port in dict.fromkeys([self.port, 0]):  # the same port again, else any free one
            self.lives += 1
            self.log = self.logs / f"ktop-life-{self.lives}.stderr"
            with open(self.log, "wb") as err:
                self.proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.monotonic() + timeout
            while True:
                found = LISTENING.search(self.stderr())
                if found:
                    self.port = int(found.group(1))
                    return self
                if self.proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    self.kill9()
                    raise AssertionError(f"ktop did not listen within {timeout} s:\n{self.stderr()}")
                time.sleep(0.02)
            if "cannot listen" not in self.stderr():
                break
        raise AssertionError(f"ktop exited {self.proc.returncode} while starting on {self.data_dir}:\n{self.stderr()}")

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM (a graceful stop), SIGKILL after 15 s; the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.proc.returncode

    def client(self):
        """A boto3 client (5 attempts) for the current endpoint."""
        if self.endpoint not in self._clients:
            self._clients[self.endpoint] = kwire.make_client(self.endpoint)
        return self._clients[self.endpoint]


def one_shot_client(endpoint: str):
    """No retries and short timeouts: a call either answers or fails fast (the server may be dead)."""
    return kwire.make_client(endpoint, retries={"total_max_attempts": 1, "mode": "legacy"},
                             connect_timeout=2, read_timeout=15)


def run_to_exit(data_dir: Path, *args: str, command: str = "serve", timeout: float = 20.0):
    """Runs ktop expecting it to exit by itself (a refusal); fails if it is still running after `timeout` s."""
    argv = [kwire.find_ktop_binary(), command, *(["--host", "127.0.0.1", "--port", "0"] if command == "serve" else []),
            "--data-dir", str(data_dir), *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{' '.join(argv)} kept running instead of refusing; stderr:\n{e.stderr}") from None


def error_lines(stderr: str) -> list[str]:
    """stderr without ArgumentParser's usage hint, which follows an `Error:` line."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith("Usage:") and not line.startswith("  See '")]


def no_crash(stderr: str) -> None:
    assert not any(sign in stderr for sign in CRASH_SIGNS), stderr[-5000:]


def make_stream(server: DurableServer, name: str, shards: int) -> None:
    server.client().create_stream(StreamName=name, ShardCount=shards)
    kwire.wait_stream_status(server.client(), name)


def recovered(stderr: str) -> tuple[str, str] | None:
    """(streams, records) of the start's recovery line."""
    found = RECOVERED.search(stderr)
    return found.group(1, 2) if found else None


def ktop_events(endpoint: str) -> list[dict]:
    """Every retained engine event (GET /ktop/v1/events, ktop's own route)."""
    with urllib.request.urlopen(endpoint + "/ktop/v1/events", timeout=5) as reply:
        assert reply.headers["x-ktop-api"] == "1"
        return json.loads(reply.read())["events"]


# --------------------------------------------------------------------------
# records: putting, reading, checking


@dataclass(frozen=True)
class Ack:
    shard: str
    seq: str
    data: bytes

    def __repr__(self) -> str:
        return f"Ack({self.shard}, {self.seq}, {self.data[:24]!r}{'...' if len(self.data) > 24 else ''})"


def put(client, stream: str, records: list[tuple[str, bytes]]) -> list[Ack]:
    """PutRecords of (partition key, data) pairs that must all be acked."""
    out = client.put_records(StreamName=stream, Records=[{"PartitionKey": k, "Data": d} for k, d in records])
    assert out.get("FailedRecordCount", 0) == 0, [e for e in out["Records"] if "ErrorCode" in e][:3]
    return [Ack(e["ShardId"], e["SequenceNumber"], d) for e, (_, d) in zip(out["Records"], records)]


def read_all(client, stream: str, shard: str, kind: str = "TRIM_HORIZON", timeout: float = 60.0, **at) -> list:
    """GetRecords from an iterator of `kind` until a closed shard's end or an open shard's tip (an empty page,
    0 ms behind)."""
    it = iterator(client, stream, shard, kind, **at)
    records, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get_records(ShardIterator=it, Limit=10000)
        records.extend(page["Records"])
        it = page.get("NextShardIterator")
        if it is None or (not page["Records"] and page.get("MillisBehindLatest", 0) == 0):
            return records
    raise AssertionError(f"{shard} not read to its end within {timeout} s ({len(records)} records so far)")


def iterator(client, stream: str, shard: str, kind: str, **at) -> str:
    return client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **at)["ShardIterator"]


def iterator_at_millis(endpoint: str, stream: str, shard: str, millis: int) -> str:
    """An AT_TIMESTAMP iterator to the millisecond (boto3 sends whole seconds)."""
    body = json.dumps({"StreamName": stream, "ShardId": shard, "ShardIteratorType": "AT_TIMESTAMP"})
    body = body[:-1] + f', "Timestamp": {millis // 1000}.{millis % 1000:03d}}}'
    status, _, reply = kwire.raw_post(endpoint, "Kinesis_20131202.GetShardIterator", body.encode())
    assert status == 200, reply
    return json.loads(reply)["ShardIterator"]


def first_records(client, it: str, n: int) -> list:
    """The first n records from an iterator (a page may come back short, even empty)."""
    records = []
    for _ in range(50):
        page = client.get_records(ShardIterator=it, Limit=n - len(records))
        records.extend(page["Records"])
        it = page.get("NextShardIterator")
        if len(records) >= n or it is None:
            break
    return records


def read_stream(client, stream: str) -> dict[str, list]:
    shards = client.list_shards(StreamName=stream)["Shards"]
    return {s["ShardId"]: read_all(client, stream, s["ShardId"]) for s in shards}


def store_problems(served: dict[str, list], acked: list[Ack]) -> tuple[list[str], int]:
    """What breaks the guarantees: an acked record missing or changed, a sequence number issued twice (to two
    payloads, or served twice), numbers not strictly increasing in a shard, a payload stored twice.
    Returns (problems, how many records are stored but were never acked)."""
    problems: list[str] = []
    acked_by_seq: dict[str, Ack] = {}
    for a in acked:
        other = acked_by_seq.setdefault(a.seq, a)
        if other != a:
            problems.append(f"sequence number {a.seq} acked twice: {other} and {a}")
    stored: dict[str, tuple[str, bytes]] = {}
    payloads: Counter = Counter()
    for shard, records in served.items():
        seqs = [int(r["SequenceNumber"]) for r in records]
        problems += [f"{shard}: {b} follows {a}" for a, b in zip(seqs, seqs[1:]) if b <= a]
        for r in records:
            if r["SequenceNumber"] in stored:
                problems.append(f"sequence number {r['SequenceNumber']} served twice")
            stored[r["SequenceNumber"]] = (shard, r["Data"])
            payloads[r["Data"]] += 1
    problems += [f"payload {p[:20]!r} stored {n} times" for p, n in payloads.items() if n > 1]
    for a in acked_by_seq.values():
        got = stored.get(a.seq)
        if got is None:
            problems.append(f"acked {a.shard} {a.seq} ({a.data[:20]!r}) is missing")
        elif got != (a.shard, a.data):
            problems.append(f"acked {a.shard} {a.seq} ({a.data[:20]!r}) is served as {got[0]} {got[1][:20]!r}")
    return problems, len(set(stored) - set(acked_by_seq))


def assert_store_keeps(served: dict[str, list], acked: list[Ack], context: str = "") -> int:
    problems, unacked = store_problems(served, acked)
    assert not problems, f"{context}{len(problems)} problems, the first ones:\n" + "\n".join(problems[:15])
    return unacked


def seq_index(seq: str) -> int:
    """The per-shard counter inside a v2 sequence number (KINESIS.md §5: 16 hex digits above the low 80 bits)."""
    return (int(seq) >> 80) & 0x7FFF_FFFF_FFFF_FFFF


class Writer(threading.Thread):
    """PutRecords in batches of 20-50 unique payloads under random keys until stopped, through whichever server
    life is current; a call that fails (the server was killed) acks nothing and the writer goes on."""

    def __init__(self, server: DurableServer, stream: str, number: int, seed: int):
        super().__init__(daemon=True, name=f"writer-{number}")
        self.server, self.stream, self.number = server, stream, number
        self.rng = random.Random(f"{seed}/{number}")
        self.acked: list[Ack] = []
        self.failures: Counter = Counter()
        self.stopping = threading.Event()

    def run(self):
        endpoint, client, n = None, None, 0
        while not self.stopping.is_set():
            if endpoint != self.server.endpoint:
                endpoint = self.server.endpoint
                client = one_shot_client(endpoint)
            batch = []
            for _ in range(self.rng.randint(20, 50)):
                n += 1
                data = f"{self.number}:{n}:".encode() + self.rng.randbytes(self.rng.randint(0, 150))
                batch.append({"PartitionKey": f"k{self.rng.getrandbits(48)}", "Data": data})
            try:
                out = client.put_records(StreamName=self.stream, Records=batch)
            except (BotoCoreError, ClientError) as e:
                self.failures[type(e).__name__] += 1
                self.stopping.wait(0.01)
                continue
            for record, entry in zip(batch, out["Records"]):
                if "ErrorCode" in entry:
                    self.failures[entry["ErrorCode"]] += 1
                else:
                    self.acked.append(Ack(entry["ShardId"], entry["SequenceNumber"], record["Data"]))

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)
        assert not self.is_alive(), f"{self.name} did not stop"


# --------------------------------------------------------------------------
# segment files, as the spec lays them out


@dataclass
class Entry:
    offset: int
    size: int
    seq_index: int
    arrival_millis: int
    flags: int
    key: str
    data: bytes

    @property
    def data_offset(self) -> int:
        return self.offset + 8 + 19 + len(self.key.encode())


def shard_dir(data_dir: Path, stream: str, index: int) -> Path:
    return data_dir / "services" / kwire.ACCOUNT / kwire.REGION / "streams" / stream / f"shard-{index:012d}"


def segments(data_dir: Path, stream: str, index: int = 0) -> list[Path]:
    found = sorted(shard_dir(data_dir, stream, index).glob("*.seg"))
    assert found, f"no segment in {shard_dir(data_dir, stream, index)}: {sorted(data_dir.rglob('*'))[:30]}"
    return found


def read_segment(path: Path) -> list[Entry]:
    """Every entry of a whole, undamaged segment; anything else is an assertion naming the byte."""
    raw, offset, entries = path.read_bytes(), 0, []
    while offset < len(raw):
        assert len(raw) - offset >= 8, f"{path}: {len(raw) - offset} stray bytes at {offset}"
        length, crc = struct.unpack_from("<II", raw, offset)
        body = raw[offset + 8:offset + 8 + length]
        assert len(body) == length >= 19, f"{path}: entry at {offset} claims {length} bytes, {len(body)} there"
        assert zlib.crc32(body) == crc, f"{path}: entry at {offset} fails its crc32"
        index, arrival, flags, key_length = struct.unpack_from("<qqBH", body)
        key = body[19:19 + key_length].decode()
        entries.append(Entry(offset, 8 + length, index, arrival, flags, key, body[19 + key_length:]))
        offset += 8 + length
    return entries


def relative(path: Path, data_dir: Path) -> str:
    """The part of a file's path that any spelling of it names (absolute or as given)."""
    return str(path.relative_to(data_dir))


def lines_saying(stderr: str, word: str, data_dir: Path) -> list[str]:
    """The lines with `word` outside the data dir's own path (which holds the test's name)."""
    return [line for line in stderr.splitlines() if re.search(rf"\b(?:{word})\b", line.replace(str(data_dir), ""))]


# --------------------------------------------------------------------------
# mounts (root only)


def sh(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)}: {done.stderr.strip()}")


@pytest.fixture
def mount_tmpfs(tmp_path):
    """mount_tmpfs(options) -> a fresh tmpfs directory; unmounted afterwards."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        try:
            sh("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point))
        except OSError as e:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {e}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=60)


@pytest.fixture
def ext4(tmp_path):
    """A 32 MiB ext4 on a loop device, mounted errors=remount-ro: (mount point, its trigger_fs_error file).
    Writing the trigger makes the kernel turn the file system read-only under open files, as a disk error does."""
    image, point = tmp_path / "ext4.img", tmp_path / "ext4"
    point.mkdir()
    with open(image, "wb") as f:
        f.truncate(32 << 20)
    device = None
    try:
        sh("mkfs.ext4", "-q", str(image))
        device = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True, text=True,
                                timeout=60, check=True).stdout.strip()
        sh("mount", "-o", "errors=remount-ro", device, str(point))
    except (OSError, subprocess.CalledProcessError) as e:
        if device:
            subprocess.run(["losetup", "-d", device], capture_output=True, timeout=60)
        pytest.skip(f"cannot loop-mount an ext4 here (needs root): {e}")
    trigger = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
    try:
        if not trigger.exists():
            pytest.skip(f"this kernel has no {trigger}")
        yield point, trigger
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=60)
        subprocess.run(["losetup", "-d", device], capture_output=True, timeout=60)


# --------------------------------------------------------------------------
# 1. kill -9, again and again


KILLS = 12


@pytest.mark.parametrize("fsync", ["always", "interval:50"])
def test_kill_9_at_random_moments_loses_no_acked_record(tmp_path, fsync):
    seed = int(os.environ.get("KTOP_DURABILITY_SEED") or random.randrange(1, 10**9))
    print(f"test_kill_9 seed {seed} (KTOP_DURABILITY_SEED={seed} replays the kill schedule)")
    rng = random.Random(seed)
    data = tmp_path / "data"
    data.mkdir()
    server = DurableServer(data, *FAST, "--fsync", fsync, logs=tmp_path).start()
    started = time.monotonic()
    writers: list[Writer] = []
    acks_per_life = []
    try:
        assert f"data dir {data} (fsync {fsync})" in server.stderr(), server.stderr()
        make_stream(server, "orders", 2)
        writers = [Writer(server, "orders", i, seed) for i in range(4)]
        for w in writers:
            w.start()
        for kill in range(1, KILLS + 1):
            before = sum(len(w.acked) for w in writers)
            time.sleep(rng.uniform(0.2, 1.5))
            acks_per_life.append(sum(len(w.acked) for w in writers) - before)
            server.kill9()
            server.start()
            assert RECOVERED.search(server.stderr()), f"life {server.lives}: no recovery line\n{server.stderr()}"
            if kill == 3:  # between two kills, a reshard, which must survive the kills after it
                parent = server.client().list_shards(StreamName="orders")["Shards"][0]
                low, high = kwire.shard_range(parent)
                server.client().split_shard(StreamName="orders", ShardToSplit=parent["ShardId"],
                                            NewStartingHashKey=str((low + high + 1) // 2))
                kwire.wait_stream_status(server.client(), "orders")
        time.sleep(0.5)
    finally:
        for w in writers:
            w.stop()
    acked = [a for w in writers for a in w.acked]
    failures = sum((w.failures for w in writers), Counter())
    print(f"{len(acked)} acked over {server.lives} lives, acks per life {acks_per_life}, failed calls {failures}")
    try:
        shards = server.client().list_shards(StreamName="orders")["Shards"]
        closed = [s for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]]
        children = [s for s in shards if closed and s.get("ParentShardId") == closed[0]["ShardId"]]
        assert len(shards) == 4 and len(closed) == 1 and len(children) == 2, (seed, shards)
        served = read_stream(server.client(), "orders")
        unacked = assert_store_keeps(served, acked, f"seed {seed}, fsync {fsync}: ")
        print(f"stored {sum(map(len, served.values()))} records, {unacked} of them in flight at a kill (never acked)")
        # The test proves something only if the writers got through in most lives, and after the split.
        assert len(acked) >= 1000, (seed, len(acked), failures)
        assert sum(n > 0 for n in acks_per_life) >= KILLS // 2, (seed, acks_per_life)
        assert any(a.shard in {c["ShardId"] for c in children} for a in acked), "no ack after the split"
        for life in range(1, server.lives + 1):
            no_crash((tmp_path / f"ktop-life-{life}.stderr").read_text(errors="replace"))
    finally:
        server.stop()
    print(f"fsync {fsync}: {time.monotonic() - started:.1f} s")


# --------------------------------------------------------------------------
# 2. a torn last entry


@pytest.mark.parametrize("tear", ["partial entry appended", "last entry cut short"])
def test_a_torn_last_entry_is_dropped_and_the_rest_serves(tmp_path, tear):
    data = tmp_path / "data"
    data.mkdir()
    server = DurableServer(data, *FAST, logs=tmp_path).start()
    try:
        make_stream(server, "torn", 1)
        acked = []
        for batch in range(3):
            acked += put(server.client(), "torn", [(f"k{batch}-{i}", os.urandom(50 + i)) for i in range(40)])
        server.kill9()
        newest = segments(data, "torn")[-1]
        entries = read_segment(newest)
        # The segment holds the acked records as the spec lays them out.
        assert [(e.seq_index, e.data) for e in entries] == [(seq_index(a.seq), a.data) for a in acked[-len(entries):]]
        raw = newest.read_bytes()
        if tear == "partial entry appended":
            newest.write_bytes(raw + raw[:11])  # the first 11 bytes of a valid entry: header and 3 body bytes
            expected = acked
        else:
            newest.write_bytes(raw[:-3])
            expected = acked[:-1]

        server.start()
        err = server.stderr()
        assert any(relative(newest, data) in line for line in lines_saying(err, "torn", data)), err
        no_crash(err)
        served = read_all(server.client(), "torn", kwire.shard_id(0))
        assert [(r["SequenceNumber"], r["Data"]) for r in served] == [(a.seq, a.data) for a in expected]

        new = put(server.client(), "torn", [("after", b"after the tear")])[0]
        assert int(new.seq) > max(int(a.seq) for a in expected)
        # The next recovery finds the new record too: it was not written after the torn bytes.
        assert server.stop() == 0, server.stderr()
        server.start()
        assert not lines_saying(server.stderr(), "torn|damaged", data), server.stderr()
        served = read_all(server.client(), "torn", kwire.shard_id(0))
        assert [(r["SequenceNumber"], r["Data"]) for r in served] == [(a.seq, a.data) for a in expected + [new]]
    finally:
        server.stop()


def test_interval_never_reissues_a_sequence_number_a_power_loss_took(tmp_path):
    """With interval:MS a power loss may lose the last acks, never their numbers: simulated here by cutting the
    acked entries that only the page cache held (no sync for a minute) off the segment after a kill -9."""
    data = tmp_path / "data"
    data.mkdir()
    server = DurableServer(data, *FAST, "--fsync", "interval:60000", logs=tmp_path).start()
    try:
        make_stream(server, "lossy", 1)
        acked = []
        for batch in range(3):
            acked += put(server.client(), "lossy", [(f"k{batch}-{i}", os.urandom(40)) for i in range(40)])
        server.kill9()
        newest = segments(data, "lossy")[-1]
        entries = read_segment(newest)
        assert len(entries) > 40, entries[:3]
        newest.write_bytes(newest.read_bytes()[:entries[-40].offset])  # the last batch never reached the disk
        kept, lost = acked[:-40], acked[-40:]

        server.start()
        no_crash(server.stderr())
        served = read_all(server.client(), "lossy", kwire.shard_id(0))
        assert [(r["SequenceNumber"], r["Data"]) for r in served] == [(a.seq, a.data) for a in kept]
        new = put(server.client(), "lossy", [(f"n{i}", b"after the power loss") for i in range(40)])
        reissued = {a.seq for a in new} & {a.seq for a in lost}
        assert not reissued, f"{len(reissued)} sequence numbers of lost acks issued again, e.g. {min(reissued)}"
        assert min(seq_index(a.seq) for a in new) > max(seq_index(a.seq) for a in lost)
        assert min(int(a.seq) for a in new) > max(int(a.seq) for a in acked)
    finally:
        server.stop()


# --------------------------------------------------------------------------
# 3. a damaged entry in the middle


def test_a_damaged_entry_is_reported_and_the_records_around_it_serve(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = DurableServer(data, *FAST, "--segment-size", "64KiB", logs=tmp_path).start()
    try:
        make_stream(server, "dented", 1)
        acked = []
        for batch in range(6):  # 300 KB of records: at least 4 segments of 64 KiB
            acked += put(server.client(), "dented", [(f"k{batch}-{i}", os.urandom(1000)) for i in range(50)])
        assert server.stop() == 0, server.stderr()
        segs = segments(data, "dented")
        assert len(segs) >= 3, segs
        for seg in segs:  # named by the seqIndex of their first entry
            assert seg.name == f"{read_segment(seg)[0].seq_index:020d}.seg", seg
        victim = segs[(len(segs) - 1) // 2]
        assert victim != segs[-1]
        entries = read_segment(victim)
        hit = entries[len(entries) // 2]
        flip = hit.data_offset + len(hit.data) // 2
        raw = bytearray(victim.read_bytes())
        raw[flip] ^= 0x5A
        victim.write_bytes(raw)

        server.start()
        err = server.stderr()
        no_crash(err)
        said = [line for line in lines_saying(err, "damaged", data) if relative(victim, data) in line]
        assert said and "ktop serve: storage: " in said[0], err
        at = re.search(r"damaged at byte (\d+)", said[0])
        assert at and hit.offset <= int(at.group(1)) <= flip, (said[0], hit.offset, flip)
        events = [e for e in ktop_events(server.endpoint) if e["kind"] == "storageDamaged"]
        assert any(relative(victim, data) in e["message"] for e in events), events

        served = read_all(server.client(), "dented", kwire.shard_id(0))
        by_seq = {r["SequenceNumber"]: r["Data"] for r in served}
        acked_data = {a.seq: a.data for a in acked}
        assert all(acked_data.get(seq) == d for seq, d in by_seq.items()), "a record is served with other bytes"
        seqs = [int(r["SequenceNumber"]) for r in served]
        assert seqs == sorted(set(seqs))
        later = {e.seq_index for seg in segs[segs.index(victim) + 1:] for e in read_segment(seg)}
        must = [a for a in acked if seq_index(a.seq) < hit.seq_index or seq_index(a.seq) in later]
        missing = [a.seq for a in must if a.seq not in by_seq]
        assert not missing, f"{len(missing)} records before the damage or in later segments are not served"
        assert len(must) >= len(acked) - len(entries)

        new = put(server.client(), "dented", [("after", b"after the damage")])[0]
        assert int(new.seq) > max(seqs)
        assert read_all(server.client(), "dented", kwire.shard_id(0), "AT_SEQUENCE_NUMBER",
                        StartingSequenceNumber=new.seq)[0]["Data"] == b"after the damage"
    finally:
        server.stop()


# --------------------------------------------------------------------------
# 4. a full disk


def put_until_refused(client, stream: str, calls: int, deadline: float) -> tuple[list[Ack], Counter]:
    """Puts 50 x 2 KiB a call; returns the acks and the refusals by code. Every refusal must be a Kinesis
    InternalFailure / ServiceUnavailable, never a dropped connection or a hang."""
    acked, refused = [], Counter()
    for call in range(calls):
        assert time.monotonic() < deadline, f"still putting after {call} calls: a hang?"
        batch = [{"PartitionKey": f"k{call}-{i}", "Data": f"{call}:{i}:".encode() + os.urandom(2048)}
                 for i in range(50)]
        try:
            out = client.put_records(StreamName=stream, Records=batch)
        except ClientError as e:
            code, message, status = kwire.error_of(e)
            assert code in PUT_FAILURES and status in (500, 503), (code, message, status)
            refused[code] += len(batch)
            continue
        for record, entry in zip(batch, out["Records"]):
            if "ErrorCode" in entry:
                assert entry["ErrorCode"] == "InternalFailure", entry
                refused[entry["ErrorCode"]] += 1
            else:
                acked.append(Ack(entry["ShardId"], entry["SequenceNumber"], record["Data"]))
    return acked, refused


def test_a_full_disk_refuses_puts_with_internal_failure_and_keeps_what_it_acked(mount_tmpfs, tmp_path):
    disk = mount_tmpfs("size=2m")
    server = DurableServer(disk, *FAST, "--segment-size", "64KiB", logs=tmp_path).start()
    try:
        make_stream(server, "full", 2)
        client = one_shot_client(server.endpoint)
        acked, refused = put_until_refused(client, "full", 40, time.monotonic() + 120)  # 4 MiB onto 2 MiB
        print(f"acked {len(acked)}, refused {dict(refused)}, {subprocess.getoutput(f'df -k {disk}')}")
        assert refused, "4 MiB of records fit on a 2 MiB tmpfs?"
        assert len(acked) * 2048 >= 512 << 10, f"only {len(acked)} records acked before the disk was full"
        assert server.alive(), server.stderr()
        assert_store_keeps(read_stream(server.client(), "full"), acked, "while full: ")
        more, again = put_until_refused(client, "full", 3, time.monotonic() + 60)
        assert not more and again, (len(more), again)  # still full, still a clean refusal

        server.stop()
        server.start()
        no_crash(server.stderr())
        assert_store_keeps(read_stream(server.client(), "full"), acked, "after a restart: ")
    finally:
        server.stop()


# --------------------------------------------------------------------------
# 5. read-only


def test_a_disk_turned_read_only_refuses_puts_and_keeps_serving_reads(ext4, tmp_path):
    """A disk error remounts ext4 read-only under the running server (`mount -o remount,ro` of a tmpfs is
    refused with EBUSY while a file is open for writing, so the kernel's own error path does it here)."""
    point, trigger = ext4
    data = point / "data"  # not the mount point itself, which holds lost+found
    data.mkdir()
    server = DurableServer(data, *FAST, logs=tmp_path).start()
    try:
        make_stream(server, "frozen", 1)
        acked = put(server.client(), "frozen", [(f"k{i}", os.urandom(100)) for i in range(100)])
        trigger.write_text("ktop test: read-only from here")
        with pytest.raises(OSError):
            (point / "probe").write_text("x")
        client = one_shot_client(server.endpoint)
        late, refused = put_until_refused(client, "frozen", 5, time.monotonic() + 90)
        assert not late and sum(refused.values()) == 250, (late, refused)
        assert server.alive(), server.stderr()
        served = read_all(server.client(), "frozen", kwire.shard_id(0))
        assert [(r["SequenceNumber"], r["Data"]) for r in served] == [(a.seq, a.data) for a in acked]
        server.stop()
        no_crash(server.stderr())

        # 5b on a data dir that holds streams: the next start is refused.
        done = run_to_exit(data)
        assert_refused_read_only(done)
    finally:
        server.stop()


def assert_refused_read_only(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr)
    said = [line for line in done.stderr.splitlines() if re.search("read-only|not writable", line, re.IGNORECASE)]
    assert len(said) == 1, done.stderr
    no_crash(done.stderr)


def test_a_read_only_data_dir_is_refused_at_start(mount_tmpfs):
    done = run_to_exit(mount_tmpfs("ro,size=1m"))
    assert_refused_read_only(done)


# --------------------------------------------------------------------------
# 6. one ktop per data dir


def test_a_second_ktop_on_the_same_data_dir_exits_1_and_the_first_keeps_serving(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = DurableServer(data, *FAST, logs=tmp_path).start()
    try:
        make_stream(first, "owned", 1)
        before = put(first.client(), "owned", [("a", b"before")])
        assert str(first.pid) in (data / "LOCK").read_text(), (data / "LOCK").read_text()
        done = run_to_exit(data, *FAST)
        assert done.returncode == 1, (done.returncode, done.stderr)
        said = [line for line in done.stderr.splitlines() if "in use by another ktop" in line]
        assert len(said) == 1 and str(first.pid) in said[0], done.stderr
        no_crash(done.stderr)
        assert first.alive()
        after = put(first.client(), "owned", [("b", b"after")])
        served = read_all(first.client(), "owned", kwire.shard_id(0))
        assert [(r["SequenceNumber"], r["Data"]) for r in served] == [(a.seq, a.data) for a in before + after]
    finally:
        first.stop()


# --------------------------------------------------------------------------
# 7. records beyond the memory window come from disk


def test_records_beyond_the_memory_window_are_read_from_disk_before_and_after_a_restart(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = DurableServer(data, *FAST, "--memory-budget", "1MiB", logs=tmp_path).start()
    try:
        make_stream(server, "deep", 1)
        acked = []
        for batch in range(12):  # 6 MiB in 3,000 records of 2 KiB, six times the window
            acked += put(server.client(), "deep", [(f"k{batch}-{i}", os.urandom(2048)) for i in range(250)])
        shard = kwire.shard_id(0)
        with urllib.request.urlopen(server.endpoint + "/ktop/v1/sample", timeout=5) as reply:
            sample = json.loads(reply.read())
        # The window is a window: what stays in memory fits the budget, the rest is read from disk.
        assert sample["retainedBytesBudget"] == 1 << 20 and sample["retainedBytes"] <= 1 << 20, sample

        def check_reads(when: str) -> list:
            served = read_all(server.client(), "deep", shard)
            assert [(r["SequenceNumber"], r["Data"]) for r in served] == [(a.seq, a.data) for a in acked], when
            early, c = acked[7], server.client()
            at = first_records(c, iterator(c, "deep", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=early.seq), 3)
            assert [r["SequenceNumber"] for r in at] == [a.seq for a in acked[7:10]], when
            after = first_records(c, iterator(c, "deep", shard, "AFTER_SEQUENCE_NUMBER",
                                              StartingSequenceNumber=early.seq), 3)
            assert [r["SequenceNumber"] for r in after] == [a.seq for a in acked[8:11]], when
            # AT_TIMESTAMP of the first record of an early batch that arrived 2 ms or more after the one before.
            millis = [round(r["ApproximateArrivalTimestamp"].timestamp() * 1000) for r in served]
            k = next(i for i in range(1, len(millis) // 3) if millis[i] - millis[i - 1] >= 2)
            by_time = first_records(c, iterator_at_millis(server.endpoint, "deep", shard, millis[k]), 3)
            assert [r["SequenceNumber"] for r in by_time] == [a.seq for a in acked[k:k + 3]], (when, k)
            return served

        before = check_reads("before the restart")
        server.kill9()
        server.start()
        after = check_reads("after kill -9 and a restart")
        assert [r["ApproximateArrivalTimestamp"] for r in after] == [r["ApproximateArrivalTimestamp"] for r in before]
        assert [r["PartitionKey"] for r in after] == [r["PartitionKey"] for r in before]
    finally:
        server.stop()


# --------------------------------------------------------------------------
# 8. the command line


def test_start_lines_name_the_dir_the_fsync_mode_and_what_was_recovered(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = DurableServer(data, *FAST, logs=tmp_path).start()
    try:
        assert f"ktop serve: data dir {data} (fsync always)" in server.stderr(), server.stderr()
        assert recovered(server.stderr()) == ("0", "0"), server.stderr()
        make_stream(server, "counted", 2)
        put(server.client(), "counted", [(f"k{i}", b"x") for i in range(123)])
        assert server.stop() == 0
        server.args += ["--fsync", "interval:60000"]  # the largest interval is accepted
        server.start()
        assert f"ktop serve: data dir {data} (fsync interval:60000)" in server.stderr(), server.stderr()
        assert recovered(server.stderr()) == ("1", "123"), server.stderr()
    finally:
        server.stop()
    server.args[-1] = "interval:1"  # and the smallest
    server.start()
    try:
        assert "(fsync interval:1)" in server.stderr(), server.stderr()
    finally:
        server.stop()


@pytest.mark.parametrize("args,names", [
    (["--fsync", "sometimes"], "--fsync"),
    (["--fsync", "interval:0"], "--fsync"),
    (["--fsync", "interval:60001"], "--fsync"),
    (["--fsync", "interval:-5"], "--fsync"),
    (["--fsync", "interval:1.5"], "--fsync"),
    (["--fsync", "interval:"], "--fsync"),
    (["--segment-size", "1KiB"], "--segment-size"),
    (["--segment-size", "65535"], "--segment-size"),  # one byte under the 64 KiB minimum
    (["--segment-size", "lots"], "--segment-size"),
])
def test_bad_storage_options_are_one_line_and_a_nonzero_exit(tmp_path, args, names):
    done = run_to_exit(tmp_path, *args)
    assert done.returncode != 0, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and names in lines[0], done.stderr


@pytest.mark.parametrize("command", ["serve", "run"])
def test_fsync_without_a_data_dir_is_one_line_and_a_nonzero_exit(command):
    argv = [kwire.find_ktop_binary(), command, "--fsync", "always"]
    if command == "run":
        argv += ["--headless", "--duration", "1"]
    else:
        argv += ["--port", "0"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{' '.join(argv)} ran instead of refusing") from None
    assert done.returncode != 0, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and "--data-dir" in lines[0], done.stderr


def test_run_takes_the_storage_options_too(tmp_path):
    done = run_to_exit(tmp_path, "--fsync", "sometimes", "--headless", "--duration", "1", command="run")
    assert done.returncode != 0 and len(error_lines(done.stderr)) == 1 and "--fsync" in done.stderr, done.stderr
