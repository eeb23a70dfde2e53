"""Fault injection of `ktop serve --faults` (issue 14): what SDK clients see, and that
/metrics counts exactly what was injected."""

from __future__ import annotations

import math
import re
import subprocess
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError, EventStreamError

import kwire


@pytest.fixture
def serve():
    servers = []

    def start(spec: str, *args: str) -> kwire.ServerProcess:
        s = kwire.ServerProcess(["--limits", "off", "--delay-ms", "0", "--seed", "7", "--faults", spec, *args])
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def injected(endpoint: str) -> dict[tuple[str, str], int]:
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
        text = r.read().decode()
    assert "# TYPE ktop_faults_injected_total counter" in text
    pattern = r'^ktop_faults_injected_total\{kind="([^"]+)",operation="([^"]+)"\} (\d+)$'
    return {(k, op): int(n) for k, op, n in re.findall(pattern, text, re.M)}


def read_all(client, stream: str, shards: int) -> list[bytes]:
    out = []
    for i in range(shards):
        records, _ = kwire.read_shard_fully(client, stream, kwire.shard_id(i))
        out.extend(r["Data"] for r in records)
    return out


def test_record_failures_rate_and_an_application_retry_delivers_everything(serve):
    s = serve("record-failure=0.1")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1})
    c.create_stream(StreamName="f", ShardCount=4)
    entries = [{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(2000)]
    first_round = 0
    seen = 0
    for start in range(0, len(entries), 500):
        pending = entries[start:start + 500]
        for attempt in range(20):
            out = c.put_records(StreamName="f", Records=pending)
            failed = [(e, r) for e, r in zip(pending, out["Records"]) if "ErrorCode" in r]
            assert out["FailedRecordCount"] == len(failed)
            for _, r in failed:
                assert r["ErrorCode"] == "InternalFailure"
                assert r["ErrorMessage"] == "Internal service failure."
                assert "SequenceNumber" not in r and "ShardId" not in r
            for _, r in [(e, r) for e, r in zip(pending, out["Records"]) if "ErrorCode" not in r]:
                kwire.assert_v2_sequence(r["SequenceNumber"], r["ShardId"])
            seen += len(failed)
            if attempt == 0:
                first_round += len(failed)
            pending = [e for e, _ in failed]
            if not pending:
                break
        assert not pending, "entries still failing after 20 rounds at p=0.1"
    # 2,000 Bernoulli(0.1) draws: mean 200, sd 13.4; a 5-sigma band.
    sd = math.sqrt(2000 * 0.1 * 0.9)
    assert abs(first_round - 200) <= 5 * sd, first_round
    # Each record stored exactly once: a failed entry was never stored.
    data = read_all(c, "f", 4)
    assert sorted(data) == sorted(e["Data"] for e in entries)
    assert injected(s.endpoint) == {("record-failure", "PutRecords"): seen}


def test_boto3_retries_whole_call_faults_and_metrics_match(serve):
    s = serve("internal-error:PutRecord=0.06,unavailable:PutRecord=0.06,reset:PutRecord=0.04")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 12, "mode": "standard"},
                          read_timeout=5, connect_timeout=5)
    c.create_stream(StreamName="w", ShardCount=2)
    retries = 0
    for i in range(200):
        out = c.put_record(StreamName="w", Data=f"w{i}".encode(), PartitionKey=f"k{i}")
        retries += out["ResponseMetadata"]["RetryAttempts"]
    counts = injected(s.endpoint)
    # Every injected whole-call fault cost the client exactly one retry, and nothing else did.
    assert sum(counts.values()) == retries
    assert set(counts) <= {("internal-error", "PutRecord"), ("unavailable", "PutRecord"), ("reset", "PutRecord")}
    assert all(counts.get(k, 0) > 0 for k in [("internal-error", "PutRecord"), ("unavailable", "PutRecord")])
    # A refused or reset call was not applied: no duplicates.
    assert sorted(read_all(c, "w", 2)) == sorted(f"w{i}".encode() for i in range(200))


def test_whole_call_faults_as_kinesis_sends_them(serve):
    s = serve("internal-error:ListStreams=1,unavailable:DescribeStreamSummary=1,reset:ListShards=1")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1}, read_timeout=5)
    kwire.expect_error(lambda: c.list_streams(), "InternalFailureException", "Internal service failure.", status=500)
    kwire.expect_error(lambda: c.describe_stream_summary(StreamName="x"), "ServiceUnavailableException", status=503)
    with pytest.raises(Exception) as e:
        c.list_shards(StreamName="x")
    assert "Connection" in type(e.value).__name__ or "connection" in str(e.value).lower(), repr(e.value)
    # Operations not named are untouched.
    c.create_stream(StreamName="ok", ShardCount=1)
    assert injected(s.endpoint) == {("internal-error", "ListStreams"): 1, ("unavailable", "DescribeStreamSummary"): 1,
                                    ("reset", "ListShards"): 1}


def test_latency_delays_the_reply_without_blocking_other_calls(serve):
    s = serve("latency:ListStreams=1@400ms")
    c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1})
    # Far more slow calls at once than the server has event-loop threads: scheduled, not slept.
    durations = []

    def slow():
        t = time.monotonic()
        kwire.make_client(s.endpoint, retries={"total_max_attempts": 1}).list_streams()
        durations.append(time.monotonic() - t)

    threads = [threading.Thread(target=slow) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.1)
    t = time.monotonic()
    c.create_stream(StreamName="fast", ShardCount=1)
    fast = time.monotonic() - t
    for t in threads:
        t.join(timeout=10)
    total = time.monotonic() - started
    assert len(durations) == 8 and min(durations) >= 0.4, durations
    # Not queued behind the sleeping calls: done before the quickest of them (each also builds its client).
    assert fast < min(durations), (fast, durations)
    # 8 x 400 ms would be 3.2 s if serialized; boto3 builds its 8 clients slowly on a loaded machine.
    assert total < 3.0, total
    assert injected(s.endpoint) == {("latency", "ListStreams"): 8}


def test_subscribe_end_ends_the_stream_with_internal_failure(serve):
    s = serve("subscribe-end=1")
    c = kwire.make_client(s.endpoint, read_timeout=10, connect_timeout=5)
    c.create_stream(StreamName="e", ShardCount=1)
    arn = c.describe_stream_summary(StreamName="e")["StreamDescriptionSummary"]["StreamARN"]
    consumer = c.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
    resp = c.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId=kwire.shard_id(0),
                                StartingPosition={"Type": "TRIM_HORIZON"})
    with pytest.raises(EventStreamError) as e:
        for _ in resp["EventStream"]:
            pass
    assert e.value.response["Error"]["Code"] == "InternalFailureException"
    assert injected(s.endpoint) == {("subscribe-end", "SubscribeToShard"): 1}


@pytest.mark.parametrize("spec,names", [
    ("bogus=0.1", "bogus"), ("record-failure=1.01", "1.01"), ("unavailable=-0.1", "-0.1"),
    ("reset=nan", "nan"), ("latency=0.1@fast", "fast"), ("latency=0.1", "latency"),
    ("internal-error:Nope=0.1", "Nope"), ("latency=0.1@61s", "61s"), ("", "empty"),
])
def test_bad_spec_exits_64_naming_the_part(spec, names):
    binary = kwire.find_ktop_binary()
    for command in (["serve", "--port", "0"], ["--headless", "--duration", "1"]):
        p = subprocess.run([binary, *command, "--faults", spec], capture_output=True, text=True, timeout=30)
        assert p.returncode == 64, (command, p.stderr)
        assert names in p.stderr.strip().splitlines()[0], p.stderr
