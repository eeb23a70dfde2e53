"""On-demand capacity over the wire (issue 14, part 3): a new ON_DEMAND stream takes 4 MiB/s;
it accommodates twice its peak write throughput, so traffic past half its capacity plans more
shards, which arrive after `--on-demand-scaling-ms` (AWS: within 15 minutes); the engine's
events say so. ktop's own server, with every delay at 0 so that nothing waits on its clock."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import kwire

if os.environ.get("KTOP_ENDPOINT"):
    pytest.skip("starts ktop serve with its own flags", allow_module_level=True)

RECORD = 1000 * 1024  # four of them fit a PutRecords call (5 MiB); one fills most of a shard's second


@pytest.fixture
def server():
    s = kwire.ServerProcess(["--limits", "aws", "--delay-ms", "0", "--on-demand-scaling-ms", "0"])
    yield s
    s.stop()


def events(endpoint: str, stream: str) -> list[dict]:
    url = endpoint + "/ktop/v1/events?" + urllib.parse.urlencode({"stream": stream})
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())["events"]


def metrics(endpoint: str) -> str:
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
        return r.read().decode()


def one_record_per_shard(client, name: str, shards: list[dict]) -> list[dict]:
    """RECORD bytes to each shard, as four records of four hash keys (a split can part them;
    one hash key alone above half a shard's limit is not split), one PutRecords per four shards."""
    out = []
    for i in range(0, len(shards), 4):
        records = [{"Data": b"o" * (RECORD // 4 - 1), "PartitionKey": "k",
                    "ExplicitHashKey": str(int(s["HashKeyRange"]["StartingHashKey"]) + j)}
                   for s in shards[i:i + 4] for j in range(4)]
        out += client.put_records(StreamName=name, Records=records)["Records"]
    return out


def open_shards(client, name: str) -> list[dict]:
    shards = client.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    return sorted(shards, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))


def test_a_burst_past_half_the_capacity_grows_the_stream(server):
    c = kwire.make_client(server.endpoint, retries={"total_max_attempts": 1})
    name = kwire.unique_name("od")
    c.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    shards = open_shards(c, name)
    assert len(shards) == 4
    # The engine takes an on-demand stream's first sample (the baseline its rates are measured from) at
    # the server's first once-a-second tick after creation; writes sent before it count as old. Wait for
    # that tick: it has run once /metrics (refreshed right after it) lists the stream. Sent at once, the
    # bursts raced the tick, and once PutRecords got faster (issue 16) they won every time.
    deadline = time.monotonic() + 10
    while f'stream="{name}"' not in metrics(server.endpoint):
        assert time.monotonic() < deadline, "the server never ticked"
        time.sleep(0.1)

    # 4 MiB/s is the new stream's capacity: the first ~4 MB go in; the same again within the second
    # is throttled, unless the server's once-a-second tick already split the shards in between
    # (new shards, a quota of their own). Sent, that is ~8 MB/s: twice the peak needs 8 shards or more.
    first = one_record_per_shard(c, name, shards)
    second = one_record_per_shard(c, name, shards)
    assert all("SequenceNumber" in r for r in first)
    assert all("SequenceNumber" in r or r["ErrorCode"] == "ProvisionedThroughputExceededException" for r in second)

    deadline = time.monotonic() + 10
    while len(open_shards(c, name)) < 8:  # bounded polling: the server ticks once a second
        assert time.monotonic() < deadline, "the stream never grew past 4 shards"
        time.sleep(0.1)
    grown = open_shards(c, name)
    summary = c.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] >= 8
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"

    said = events(server.endpoint, name)
    planned = [e for e in said if e["kind"] == "onDemandScalingPlanned"]
    scaled = [e for e in said if e["kind"] == "onDemandScaled"]
    assert planned and "twice the peak" in planned[0]["message"]
    assert "AWS: within 15 minutes" in planned[0]["message"]
    assert scaled and all("open shards" in e["message"] for e in scaled)

    # The capacity is there now: a RECORD on each of the new shards within one second, all accepted.
    time.sleep(1.0)  # leave the burst's trailing second
    assert all("SequenceNumber" in r for r in one_record_per_shard(c, name, grown))


def test_scaling_flag_bounds():
    binary = kwire.find_ktop_binary()

    for bad in ("-1", "900001", "nan", "x"):
        p = subprocess.run([binary, "serve", "--on-demand-scaling-ms", bad, "--port", "1"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 64, (bad, p.returncode, p.stderr)
        assert "--on-demand-scaling-ms" in p.stderr
