"""Data plane: PutRecord/PutRecords/GetShardIterator/GetRecords (KINESIS.md §2.3, §4, §5)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

import kwire
from kwire import ACCOUNT, MAX_HASH, expect_error


def iterator(kinesis, name, shard, kind, **kw):
    return kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]


def test_put_get_round_trip(kinesis, make_stream):
    name = make_stream(shards=1)
    shard0 = kwire.shard_id(0)
    payloads = [b"hello", b"\x00\x01\xff binary \xfe", b"", "ünïcødé".encode()]
    before = time.time()
    puts = []
    for i, data in enumerate(payloads):
        r = kinesis.put_record(StreamName=name, Data=data, PartitionKey=f"pk-{i}")
        assert r["ShardId"] == shard0
        assert r["SequenceNumber"].isdigit()
        puts.append(r)
    after = time.time()
    seqs = [int(p["SequenceNumber"]) for p in puts]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "sequence numbers must increase per shard"

    resp = kinesis.get_records(ShardIterator=iterator(kinesis, name, shard0, "TRIM_HORIZON"))
    recs = resp["Records"]
    assert [r["Data"] for r in recs] == payloads
    assert [r["PartitionKey"] for r in recs] == [f"pk-{i}" for i in range(len(payloads))]
    assert [r["SequenceNumber"] for r in recs] == [p["SequenceNumber"] for p in puts]
    for r in recs:
        ts = r["ApproximateArrivalTimestamp"].timestamp()
        assert before - 2 <= ts <= after + 2, (before, ts, after)
    assert "NextShardIterator" in resp
    assert isinstance(resp["MillisBehindLatest"], int) and resp["MillisBehindLatest"] >= 0
    assert "ChildShards" not in resp or resp["ChildShards"] == []


def test_sequence_number_format_and_encryption_type(kinesis, make_stream):
    """56-digit v2 sequence numbers that encode version 2 and the shard index,
    above the shard's StartingSequenceNumber (§5); EncryptionType NONE (§2.3)."""
    name = make_stream(shards=1)
    shard0 = kwire.shard_id(0)
    start = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]["SequenceNumberRange"][
        "StartingSequenceNumber"
    ]
    kwire.assert_v2_sequence(start, shard0)
    r = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    assert r["EncryptionType"] == "NONE"
    kwire.assert_v2_sequence(r["SequenceNumber"], shard0)
    assert int(r["SequenceNumber"]) > int(start)
    pr = kinesis.put_records(StreamName=name, Records=[{"Data": b"y", "PartitionKey": "k"}] * 3)
    seqs = [e["SequenceNumber"] for e in pr["Records"]]
    for s in seqs:
        kwire.assert_v2_sequence(s, shard0)
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs) and int(seqs[0]) > int(r["SequenceNumber"])


def test_sequence_numbers_encode_shard_index(kinesis, make_stream):
    name = make_stream(shards=3)
    for i, (start, _end) in enumerate(kwire.expected_ranges(3)):
        r = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(start))
        assert r["ShardId"] == kwire.shard_id(i)
        kwire.assert_v2_sequence(r["SequenceNumber"], kwire.shard_id(i))


def test_sequence_for_ordering_gives_increasing_numbers(kinesis, make_stream):
    name = make_stream(shards=1)
    prev = kinesis.put_record(StreamName=name, Data=b"0", PartitionKey="k")["SequenceNumber"]
    for i in range(1, 5):
        cur = kinesis.put_record(
            StreamName=name, Data=str(i).encode(), PartitionKey="k", SequenceNumberForOrdering=prev
        )["SequenceNumber"]
        assert int(cur) > int(prev)
        prev = cur


def test_routing_by_md5_of_partition_key(kinesis, make_stream):
    name = make_stream(shards=4)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    assert kwire.md5_hash_key("a") == 16955237001963240173058271559858726497
    r = kinesis.put_record(StreamName=name, Data=b"a", PartitionKey="a")
    assert r["ShardId"] == kwire.shard_for_hash(shards, 16955237001963240173058271559858726497)

    keys = ["a", "123", "partitionKey-0"] + [f"user-{i}" for i in range(40)] + ["ключ", "鍵"]
    resp = kinesis.put_records(StreamName=name, Records=[{"Data": k.encode(), "PartitionKey": k} for k in keys])
    assert resp["FailedRecordCount"] == 0
    for k, entry in zip(keys, resp["Records"]):
        assert entry["ShardId"] == kwire.shard_for_hash(shards, kwire.md5_hash_key(k)), k
    # the keys above spread over all four shards
    assert {e["ShardId"] for e in resp["Records"]} == {kwire.shard_id(i) for i in range(4)}


def test_routing_by_explicit_hash_key(kinesis, make_stream):
    name = make_stream(shards=4)
    ranges = kwire.expected_ranges(4)
    cases = [(0, 0), (MAX_HASH, 3)]
    for i, (start, end) in enumerate(ranges):
        cases += [(start, i), (end, i)]
    for ehk, want in cases:
        # the partition key alone would route elsewhere for most cases
        r = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="a", ExplicitHashKey=str(ehk))
        assert r["ShardId"] == kwire.shard_id(want), ehk
    resp = kinesis.put_records(
        StreamName=name,
        Records=[{"Data": b"y", "PartitionKey": "a", "ExplicitHashKey": str(ranges[i][0])} for i in range(4)],
    )
    assert [e["ShardId"] for e in resp["Records"]] == [kwire.shard_id(i) for i in range(4)]


def test_explicit_hash_key_out_of_range(kinesis, make_stream):
    name = make_stream(shards=1)
    too_big = str(2**128)
    expect_error(
        lambda: kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=too_big),
        "InvalidArgumentException",
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was "
        "340282366920938463463374607431768211456",
    )


def test_all_iterator_types(kinesis, make_stream):
    name = make_stream(shards=1)
    shard0 = kwire.shard_id(0)
    t_before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2)
    seqs = [
        kinesis.put_record(StreamName=name, Data=f"r{i}".encode(), PartitionKey="k")["SequenceNumber"] for i in range(3)
    ]

    def data(it, limit=100):
        return [r["Data"] for r in kinesis.get_records(ShardIterator=it, Limit=limit)["Records"]]

    assert data(iterator(kinesis, name, shard0, "TRIM_HORIZON")) == [b"r0", b"r1", b"r2"]
    assert data(iterator(kinesis, name, shard0, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1])) == [b"r1", b"r2"]
    assert data(iterator(kinesis, name, shard0, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[1])) == [b"r2"]
    assert data(iterator(kinesis, name, shard0, "AT_TIMESTAMP", Timestamp=t_before)) == [b"r0", b"r1", b"r2"]

    latest = iterator(kinesis, name, shard0, "LATEST")
    assert data(latest) == []
    kinesis.put_record(StreamName=name, Data=b"r3", PartitionKey="k")
    assert data(latest) == [b"r3"]


def test_get_records_limit_and_next_iterator(kinesis, make_stream):
    name = make_stream(shards=1)
    shard0 = kwire.shard_id(0)
    kinesis.put_records(StreamName=name, Records=[{"Data": f"{i}".encode(), "PartitionKey": "k"} for i in range(5)])
    it = iterator(kinesis, name, shard0, "TRIM_HORIZON")
    got = []
    for _ in range(3):
        resp = kinesis.get_records(ShardIterator=it, Limit=2)
        assert len(resp["Records"]) <= 2
        got.extend(r["Data"] for r in resp["Records"])
        it = resp["NextShardIterator"]
    assert got == [b"0", b"1", b"2", b"3", b"4"]


def test_iterator_is_reusable(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.put_record(StreamName=name, Data=b"once", PartitionKey="k")
    it = iterator(kinesis, name, kwire.shard_id(0), "TRIM_HORIZON")
    first = kinesis.get_records(ShardIterator=it)["Records"]
    second = kinesis.get_records(ShardIterator=it)["Records"]
    assert [r["SequenceNumber"] for r in first] == [r["SequenceNumber"] for r in second]
    assert len(first) == 1


def test_iterator_argument_errors(kinesis, make_stream):
    name = make_stream(shards=2)
    shard0, shard1 = kwire.shard_id(0), kwire.shard_id(1)
    expect_error(
        lambda: iterator(kinesis, name, shard0, "AT_TIMESTAMP"),
        "InvalidArgumentException",
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
        "Current request has no timestamp parameter.",
    )
    expect_error(
        lambda: iterator(kinesis, name, shard0, "AT_SEQUENCE_NUMBER"),
        "InvalidArgumentException",
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
        "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no "
        "StartingSequenceNumber.",
    )
    seq1 = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(kwire.MAX_HASH))[
        "SequenceNumber"
    ]
    expect_error(
        lambda: iterator(kinesis, name, shard0, "TRIM_HORIZON", StartingSequenceNumber=seq1),
        "InvalidArgumentException",
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
        "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified TRIM_HORIZON and also a "
        "StartingSequenceNumber.",
    )
    expect_error(
        lambda: iterator(kinesis, name, shard0, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq1),
        "InvalidArgumentException",
        f"Invalid StartingSequenceNumber. It encodes {shard1}, while it was used in a call to a shard with {shard0}",
    )
    missing = kwire.shard_id(7)
    expect_error(
        lambda: iterator(kinesis, name, missing, "TRIM_HORIZON"),
        "ResourceNotFoundException",
        f"Shard {missing} in stream {name} under account {ACCOUNT} does not exist",
    )


def test_future_timestamp_is_rejected(kinesis, make_stream):
    name = make_stream(shards=1)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    expect_error(
        lambda: iterator(kinesis, name, kwire.shard_id(0), "AT_TIMESTAMP", Timestamp=future),
        "InvalidArgumentException",
        message_startswith="The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
        f"timestampInMillis: {int(future.timestamp()) * 1000}, currentTimestampInMillis: ",
    )


def test_record_size_limit(kinesis, make_stream):
    name = make_stream(shards=2)
    # data + partition key = 1 MiB + 1 byte: rejected (KINESIS.md §2.3, §3)
    expect_error(
        lambda: kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024), PartitionKey="k"),
        {"ValidationException", "InvalidArgumentException"},
    )
    expect_error(
        lambda: kinesis.put_records(StreamName=name, Records=[{"Data": b"x" * (1024 * 1024), "PartitionKey": "k"}]),
        {"ValidationException", "InvalidArgumentException"},
    )
    # exactly 1 MiB including the partition key is accepted
    r = kinesis.put_record(StreamName=name, Data=b"y" * (1024 * 1024 - 1), PartitionKey="k", ExplicitHashKey="0")
    assert r["ShardId"] == kwire.shard_id(0)


def test_put_records_501_is_validation_error(kinesis, make_stream):
    name = make_stream(shards=1)
    _code, msg = expect_error(
        lambda: kinesis.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": "k"}] * 501),
        "ValidationException",
        message_startswith="1 validation error detected: Value ",
    )
    assert "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500" in msg


def test_put_records_empty_is_validation_error(kinesis, make_stream):
    name = make_stream(shards=1)
    raw = kwire.make_client(kinesis.meta.endpoint_url, parameter_validation=False)
    _code, msg = expect_error(lambda: raw.put_records(StreamName=name, Records=[]), "ValidationException")
    assert "at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1" in msg


def test_put_records_result_shape(kinesis, make_stream):
    name = make_stream(shards=2)
    records = [{"Data": f"d{i}".encode(), "PartitionKey": f"k{i}"} for i in range(10)]
    resp = kinesis.put_records(StreamName=name, Records=records)
    assert resp["FailedRecordCount"] == 0
    assert resp["EncryptionType"] == "NONE"
    assert len(resp["Records"]) == 10
    for e in resp["Records"]:
        assert set(e) == {"SequenceNumber", "ShardId"}
        kwire.assert_v2_sequence(e["SequenceNumber"], e["ShardId"])
    # read back: every record is in the shard PutRecords reported
    for shard in {e["ShardId"] for e in resp["Records"]}:
        recs, _ = kwire.read_shard_fully(kinesis, name, shard)
        want = {e["SequenceNumber"]: records[i]["Data"] for i, e in enumerate(resp["Records"]) if e["ShardId"] == shard}
        assert {r["SequenceNumber"]: r["Data"] for r in recs} == want


def test_invalid_shard_iterator(kinesis):
    expect_error(
        lambda: kinesis.get_records(ShardIterator="AAAAAAAAAAFnotARealIteratorAtAll0000000000000000=="),
        "InvalidArgumentException",
        "Invalid ShardIterator.",
    )


def test_closed_shard_read_to_end(kinesis, make_stream):
    name = make_stream(shards=1)
    parent = kwire.shard_id(0)
    for i in range(3):
        kinesis.put_record(StreamName=name, Data=f"p{i}".encode(), PartitionKey=f"k{i}")
    it = iterator(kinesis, name, parent, "TRIM_HORIZON")
    mid = 2**127
    kinesis.split_shard(StreamName=name, ShardToSplit=parent, NewStartingHashKey=str(mid))
    kwire.wait_stream_status(kinesis, name)

    got = []
    last = None
    for _ in range(10):
        last = kinesis.get_records(ShardIterator=it)
        assert "MillisBehindLatest" in last
        got.extend(r["Data"] for r in last["Records"])
        if "NextShardIterator" not in last:
            break
        it = last["NextShardIterator"]
    assert "NextShardIterator" not in last, "reading past the end of a closed shard must return no NextShardIterator"
    assert got == [b"p0", b"p1", b"p2"]
    children = sorted(last["ChildShards"], key=lambda c: c["ShardId"])
    assert children == [
        {
            "ShardId": kwire.shard_id(1),
            "ParentShards": [parent],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(mid - 1)},
        },
        {
            "ShardId": kwire.shard_id(2),
            "ParentShards": [parent],
            "HashKeyRange": {"StartingHashKey": str(mid), "EndingHashKey": str(MAX_HASH)},
        },
    ]
    # a fresh iterator on the closed shard still reads its records
    recs, last = kwire.read_shard_fully(kinesis, name, parent)
    assert [r["Data"] for r in recs] == [b"p0", b"p1", b"p2"]
    assert "NextShardIterator" not in last


def test_millis_behind_latest(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.put_records(StreamName=name, Records=[{"Data": b"m", "PartitionKey": "k"}] * 3)
    it = iterator(kinesis, name, kwire.shard_id(0), "TRIM_HORIZON")
    resp = kinesis.get_records(ShardIterator=it, Limit=3)
    assert len(resp["Records"]) == 3
    assert resp["MillisBehindLatest"] >= 0
    resp = kinesis.get_records(ShardIterator=resp["NextShardIterator"])
    assert resp["Records"] == []
    assert resp["MillisBehindLatest"] == 0


@pytest.mark.parametrize("op", ["put_record", "put_records"])
def test_writes_by_stream_arn(kinesis, make_stream, op):
    name = make_stream(shards=1)
    arn = kwire.stream_arn(name)
    if op == "put_record":
        r = kinesis.put_record(StreamARN=arn, Data=b"arn", PartitionKey="k")
        seq = r["SequenceNumber"]
    else:
        r = kinesis.put_records(StreamARN=arn, Records=[{"Data": b"arn", "PartitionKey": "k"}])
        seq = r["Records"][0]["SequenceNumber"]
    it = kinesis.get_shard_iterator(StreamARN=arn, ShardId=kwire.shard_id(0), ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    recs = kinesis.get_records(ShardIterator=it, StreamARN=arn)["Records"]
    assert [(x["SequenceNumber"], x["Data"]) for x in recs] == [(seq, b"arn")]
