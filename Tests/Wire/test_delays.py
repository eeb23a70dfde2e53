"""State-change delays of `ktop serve` (issue 14): `--delay-ms` sets every transition,
`--create-stream-ms` and friends one each; bad values exit 64 with one line."""

from __future__ import annotations

import subprocess
import time

import pytest

import kwire


@pytest.fixture
def server_factory():
    servers = []

    def start(*args: str) -> kwire.ServerProcess:
        s = kwire.ServerProcess(["--limits", "aws", *args])
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def test_zero_delay_makes_create_stream_active_at_once(server_factory):
    s = server_factory("--delay-ms", "0")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1})
    c.create_stream(StreamName="z", ShardCount=1)
    # No wait of any kind: the very next call finds the stream ACTIVE and writable.
    out = c.put_record(StreamName="z", Data=b"x", PartitionKey="k")
    assert out["ShardId"] == "shardId-000000000000"
    assert c.describe_stream_summary(StreamName="z")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    c.delete_stream(StreamName="z")
    with pytest.raises(Exception) as e:
        c.describe_stream_summary(StreamName="z")
    assert "ResourceNotFoundException" in str(e.value)


def test_create_stream_ms_keeps_creating_for_the_set_time(server_factory):
    s = server_factory("--delay-ms", "0", "--create-stream-ms", "300")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1})
    started = time.monotonic()
    c.create_stream(StreamName="d", ShardCount=1)
    seen_creating_at = []
    while True:  # bounded polling of the real server's wall clock
        status = c.describe_stream_summary(StreamName="d")["StreamDescriptionSummary"]["StreamStatus"]
        elapsed = time.monotonic() - started
        if status == "ACTIVE":
            break
        assert status == "CREATING"
        seen_creating_at.append(elapsed)
        assert elapsed < 5, "still CREATING after 5 s with --create-stream-ms 300"
        time.sleep(0.02)
    assert seen_creating_at, "never saw CREATING"
    assert elapsed >= 0.3, f"ACTIVE after {elapsed:.3f} s, before the 300 ms set"
    # The other transitions stayed immediate: a split is done by the next call.
    c.update_shard_count(StreamName="d", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert c.describe_stream_summary(StreamName="d")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"


def test_update_and_consumer_delays(server_factory):
    s = server_factory("--delay-ms", "0", "--update-stream-ms", "300", "--consumer-ms", "300")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1})
    c.create_stream(StreamName="u", ShardCount=1)
    c.update_shard_count(StreamName="u", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert c.describe_stream_summary(StreamName="u")["StreamDescriptionSummary"]["StreamStatus"] == "UPDATING"
    kwire.wait_stream_status(c, "u", "ACTIVE", timeout=5)
    arn = c.describe_stream_summary(StreamName="u")["StreamDescriptionSummary"]["StreamARN"]
    consumer = c.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
    assert consumer["ConsumerStatus"] == "CREATING"
    kwire.wait_consumer_status(c, consumer["ConsumerARN"], "ACTIVE", timeout=5)


@pytest.mark.parametrize("flag,value", [
    ("--delay-ms", "-1"), ("--delay-ms", "nan"), ("--create-stream-ms", "3600001"),
    ("--consumer-ms", "1e300"), ("--update-stream-ms", "inf"), ("--delete-stream-ms", "abc"),
])
def test_bad_delay_exits_64_with_one_clear_line(flag, value):
    binary = kwire.find_ktop_binary()
    for command in (["serve", "--port", "0"], ["--headless", "--duration", "1"]):
        p = subprocess.run([binary, *command, flag, value], capture_output=True, text=True, timeout=30)
        assert p.returncode == 64, (command, p.stderr)
        first = p.stderr.strip().splitlines()[0]
        assert flag in first, p.stderr
