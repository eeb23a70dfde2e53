"""ktop's own GET /ktop/v1/sample and /ktop/v1/events (not Kinesis APIs), read as `ktop attach` reads them.

boto3 writes to one shard beyond its 1 MiB/s, so some records are throttled; the sample must show the
exact counts: IncomingRecords equal to what was acknowledged, WriteProvisionedThroughputExceeded equal
to what failed, bytes to the byte.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest

import kwire

if os.environ.get("KTOP_ENDPOINT"):
    pytest.skip("/ktop/v1/sample is ktop's, not part of the Kinesis API", allow_module_level=True)

MAX_HASH = 2**128 - 1


def get(endpoint: str, path: str, **params) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of one GET."""
    url = endpoint + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def sample_of(endpoint: str, stream: str) -> dict:
    status, headers, body = get(endpoint, "/ktop/v1/sample", stream=stream)
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    assert headers["x-ktop-api"] == "1"
    assert [s["name"] for s in body["streams"]] == [stream]
    return body["streams"][0]


def test_throttled_writes_show_as_exact_counts(endpoint, kinesis_noretry, make_stream):
    name = make_stream(shards=2)
    # Every record to shard 0: 3 KiB of data and a 3-byte key, 500 to a call, six calls: each call alone
    # (1.5 MiB) is over the shard's 1 MiB/s, so throttling does not hang on how fast a loaded machine sends.
    batch = [{"Data": b"r" * 3072, "PartitionKey": "hot", "ExplicitHashKey": "0"} for _ in range(500)]
    acked = failed = 0
    for _ in range(6):
        r = kinesis_noretry.put_records(StreamName=name, Records=batch)
        for entry in r["Records"]:
            if "ErrorCode" in entry:
                assert entry["ErrorCode"] == "ProvisionedThroughputExceededException"
                failed += 1
            else:
                assert entry["ShardId"] == kwire.shard_id(0)
                acked += 1
        assert r.get("FailedRecordCount", 0) == sum("ErrorCode" in e for e in r["Records"])
    assert failed > 0, "9 MiB to one shard in calls of 1.5 MiB was never throttled"
    assert acked + failed == 3000

    stream = sample_of(endpoint, name)
    shards = {s["shardId"]: s for s in stream["shards"]}
    hot, cold = shards[kwire.shard_id(0)], shards[kwire.shard_id(1)]
    c = hot["counters"]
    assert c["incomingRecords"] == acked
    assert c["incomingBytes"] == acked * (3072 + 3)
    assert c["writeThrottledRecords"] == failed
    assert c["writeThrottledBytes"] == failed * (3072 + 3)
    assert c["writeThrottledByBytes"] + c["writeThrottledByRecords"] == failed
    assert hot["retainedRecords"] == acked
    assert cold["counters"]["incomingRecords"] == 0 and cold["counters"]["writeThrottledRecords"] == 0
    totals = stream["counters"]
    assert totals["putRecordsCalls"] == 6
    assert totals["putRecordsTotalRecords"] == 3000
    assert totals["putRecordsSuccessfulRecords"] == acked
    assert totals["putRecordsThrottledRecords"] == failed
    assert totals["putRecordsBytes"] == acked * (3072 + 3)
    # The hash-key histogram counts every accepted record in its first bucket (hash key 0).
    histogram = hot["hashKeyHistogram"]
    assert histogram["records"][0] == acked and sum(histogram["records"]) == acked
    assert len(histogram["records"]) == len(histogram["bytes"])


def test_the_topology_matches_list_shards_with_decimal_hash_keys(endpoint, kinesis, make_stream):
    name = make_stream(shards=3)
    listed = kinesis.list_shards(StreamName=name)["Shards"]
    stream = sample_of(endpoint, name)
    assert stream["status"] == "ACTIVE" and stream["mode"] == "PROVISIONED"
    assert stream["arn"] == kwire.stream_arn(name)
    assert [
        (s["shardId"], s["startingHashKey"], s["endingHashKey"], s["parentShardId"], s["closedAt"])
        for s in stream["shards"]
    ] == [
        (s["ShardId"], s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"], None, None)
        for s in listed
    ]
    assert stream["shards"][-1]["endingHashKey"] == str(MAX_HASH)
    # Times are integer nanoseconds since the epoch.
    created = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamCreationTimestamp"]
    assert isinstance(stream["createdAt"], int)
    assert abs(stream["createdAt"] / 1e9 - created.timestamp()) < 1


def test_parameters_filter_and_bad_ones_are_400(endpoint, make_stream):
    name = make_stream(shards=1)
    status, _, body = get(endpoint, "/ktop/v1/sample", stream=name, region="us-east-1")
    assert status == 200 and [s["name"] for s in body["streams"]] == [name]
    status, _, body = get(endpoint, "/ktop/v1/sample", stream=name, region="eu-west-3")
    assert status == 200 and body["streams"] == []
    for params in ({"streams": name}, {"stream": ""}, {"region": "x" * 257}):
        status, headers, body = get(endpoint, "/ktop/v1/sample", **params)
        assert status == 400 and headers["x-ktop-api"] == "1"
        assert set(body) == {"message"} and body["message"]
    status, _, body = get(endpoint, "/ktop/v1/nothing")
    assert status == 404 and "/ktop/v1/sample" in body["message"]


def test_events_after_an_id(endpoint, make_stream):
    name = make_stream(shards=1)
    status, headers, body = get(endpoint, "/ktop/v1/events", stream=name)
    assert status == 200 and headers["x-ktop-api"] == "1"
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[:2] == ["streamCreating", "streamActive"]
    assert all(e["stream"] == name for e in body["events"])
    last = body["lastId"]
    assert last >= body["events"][-1]["id"]
    status, _, body = get(endpoint, "/ktop/v1/events", after=str(last), stream=name)
    assert status == 200 and body["events"] == [] and body["lastId"] >= last
    status, _, body = get(endpoint, "/ktop/v1/events", after=str(2**64 - 1))
    assert status == 200 and body["events"] == []
    for bad in ("-1", str(2**64), "1e3", "x"):
        status, _, body = get(endpoint, "/ktop/v1/events", after=bad)
        assert status == 400, bad
