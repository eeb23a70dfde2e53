"""Per-shard throughput limits (KINESIS.md §3, §2.3): 1 MiB/s and 1,000 records/s
write, 5 GetRecords calls/s read, surfaced as ProvisionedThroughputExceededException.

All clients here have retries disabled, and every burst is sent back to back so
that the whole burst falls inside one second; nothing waits for a bucket to refill.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

import kwire
from kwire import ACCOUNT, expect_error


def hot_and_cold(n_shards: int, key: str):
    ranges = kwire.expected_ranges(n_shards)
    h = kwire.md5_hash_key(key)
    hot = next(i for i, (a, b) in enumerate(ranges) if a <= h <= b)
    cold = (hot + 1) % n_shards
    return kwire.shard_id(hot), kwire.shard_id(cold), ranges[cold][0]


def burst(client, name, records, max_calls):
    """Send the same PutRecords batch back to back until some record fails."""
    responses = []
    t0 = time.monotonic()
    for _ in range(max_calls):
        r = client.put_records(StreamName=name, Records=records)
        responses.append(r)
        if r["FailedRecordCount"]:
            break
    return responses, time.monotonic() - t0


def check_failures(responses, name, hot):
    accepted = failed = 0
    for r in responses:
        entries = r["Records"]
        errs = [e for e in entries if "ErrorCode" in e]
        assert r["FailedRecordCount"] == len(errs)
        for e in entries:
            if "ErrorCode" in e:
                failed += 1
                assert e["ErrorCode"] == "ProvisionedThroughputExceededException"
                assert e["ErrorMessage"] == f"Rate exceeded for shard {hot} in stream {name} under account {ACCOUNT}."
                assert "SequenceNumber" not in e and "ShardId" not in e
            else:
                accepted += 1
                assert e["ShardId"] == hot
                kwire.assert_v2_sequence(e["SequenceNumber"], hot)
    return accepted, failed


def test_put_records_over_shard_limit_is_throttled_per_record(kinesis_noretry, make_stream):
    name = make_stream(shards=2)
    hot, cold, cold_start = hot_and_cold(2, "hot")
    # Small records, so that a loaded machine still sends more than 1,000 a second (the records limit binds).
    batch = [{"Data": b"r" * 16, "PartitionKey": "hot"} for _ in range(500)]
    responses, elapsed = burst(kinesis_noretry, name, batch, max_calls=12)
    assert responses[0]["FailedRecordCount"] == 0, "the first 500 records (0.5 MiB) fit in one second"
    assert responses[-1]["FailedRecordCount"] > 0, (
        f"{len(responses) * 500} records of 16 B to one shard in {elapsed:.2f}s were never throttled"
    )
    accepted, failed = check_failures(responses, name, hot)
    # neither limit may be exceeded: at most 1,000 records (1 MiB) per second, plus refill
    assert accepted <= 1000 * (1 + elapsed) + 1, (accepted, elapsed)
    assert accepted >= 950, f"only {accepted} records accepted before throttling"

    # PutRecord to the hot shard is throttled too: HTTP 400, same message. The
    # record is 900 KiB so that the ~1 KiB/ms refill since the burst cannot
    # cover it on a slow machine (the bucket holds one second, 1 MiB).
    expect_error(
        lambda: kinesis_noretry.put_record(StreamName=name, Data=b"r" * (900 * 1024), PartitionKey="hot"),
        "ProvisionedThroughputExceededException",
        f"Rate exceeded for shard {hot} in stream {name} under account {ACCOUNT}.",
        status=400,
    )

    # the other shard is not throttled
    r = kinesis_noretry.put_records(
        StreamName=name,
        Records=[{"Data": b"c" * 1024, "PartitionKey": "hot", "ExplicitHashKey": str(cold_start)} for _ in range(200)],
    )
    assert r["FailedRecordCount"] == 0
    assert {e["ShardId"] for e in r["Records"]} == {cold}
    r = kinesis_noretry.put_record(StreamName=name, Data=b"c", PartitionKey="x", ExplicitHashKey=str(cold_start))
    assert r["ShardId"] == cold


def test_record_count_limit_with_tiny_records(kinesis_noretry, make_stream):
    """1,000 records/s applies even when the bytes are far below 1 MiB."""
    name = make_stream(shards=1)
    hot = kwire.shard_id(0)
    batch = [{"Data": b"t", "PartitionKey": "k"} for _ in range(500)]
    responses, elapsed = burst(kinesis_noretry, name, batch, max_calls=5)
    assert responses[-1]["FailedRecordCount"] > 0, (
        f"{len(responses) * 500} tiny records in {elapsed:.2f}s not throttled"
    )
    accepted, _ = check_failures(responses, name, hot)
    assert accepted <= 1000 * (1 + elapsed) + 1, (accepted, elapsed)


def test_a_fresh_shard_takes_exactly_the_limit_in_its_first_second(kinesis_noretry, make_stream):
    """No trailing second accepts more than 1,000 records, the shard's first included (the old
    bucket started full and refilled meanwhile: ~1,000 per second more)."""
    name = make_stream(shards=1)
    batch = [{"Data": b"t", "PartitionKey": "k"} for _ in range(500)]
    t0 = time.monotonic()
    responses = [kinesis_noretry.put_records(StreamName=name, Records=batch) for _ in range(3)]
    elapsed = time.monotonic() - t0
    if elapsed >= 1:
        pytest.skip(f"1,500 records took {elapsed:.2f} s to send: the burst did not fall within one second")
    accepted, failed = check_failures(responses, name, kwire.shard_id(0))
    assert (accepted, failed) == (1000, 500)


def test_a_fresh_shard_serves_five_get_records_in_its_first_second(kinesis, kinesis_noretry, make_stream):
    """GetRecords' 5 calls per second hold in a shard's first second too: calls spread over most of a second
    get exactly five answers (a bucket that starts full and refills would have answered about nine)."""
    name = make_stream(shards=1)
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=kwire.shard_id(0), ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    ok, calls = 0, 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.8 and calls < 200:
        calls += 1
        try:
            kinesis_noretry.get_records(ShardIterator=it)
            ok += 1
        except ClientError as e:
            assert kwire.error_of(e)[0] == "ProvisionedThroughputExceededException"
    elapsed = time.monotonic() - t0
    # Every call reached the server within [t0, t0 + elapsed): one trailing second holds them all.
    if elapsed >= 1 or calls < 10:
        pytest.skip(f"{calls} calls took {elapsed:.2f} s: too slow a machine to keep them within one second")
    assert ok == 5, (ok, calls, elapsed)


def test_byte_limit_with_few_large_records(kinesis_noretry, make_stream):
    """1 MiB/s applies even when far fewer than 1,000 records are written."""
    name = make_stream(shards=1)
    hot = kwire.shard_id(0)
    batch = [{"Data": b"B" * (100 * 1024), "PartitionKey": "k"} for _ in range(12)]  # 1.2 MiB per call
    responses, elapsed = burst(kinesis_noretry, name, batch, max_calls=3)
    assert responses[-1]["FailedRecordCount"] > 0, f"{len(responses) * 1.2:.1f} MiB in {elapsed:.2f}s not throttled"
    accepted, _ = check_failures(responses, name, hot)
    accepted_bytes = accepted * (100 * 1024 + 1)
    assert accepted_bytes <= 1024 * 1024 * (1 + elapsed) + 1, (accepted_bytes, elapsed)
    assert accepted >= 9, f"only {accepted} x 100 KiB accepted before throttling"


def test_get_records_over_5_calls_per_second(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=2)
    s0, s1 = kwire.shard_id(0), kwire.shard_id(1)
    kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey="0")
    it0 = kinesis.get_shard_iterator(StreamName=name, ShardId=s0, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    it1 = kinesis.get_shard_iterator(StreamName=name, ShardId=s1, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    ok = 0
    throttled = []
    t0 = time.monotonic()
    for _ in range(10):
        try:
            kinesis_noretry.get_records(ShardIterator=it0)
            ok += 1
        except ClientError as e:
            throttled.append(e)
    elapsed = time.monotonic() - t0
    assert ok >= 1
    assert throttled, f"10 GetRecords calls on one shard in {elapsed:.2f}s were never throttled"
    for e in throttled:
        code, _msg, status = kwire.error_of(e)
        assert (code, status) == ("ProvisionedThroughputExceededException", 400)
    assert ok <= 5 * (1 + elapsed) + 1, (ok, elapsed)

    # the other shard's read budget is untouched
    resp = kinesis_noretry.get_records(ShardIterator=it1)
    assert resp["Records"] == []
