"""Registered (enhanced fan-out) consumers and SubscribeToShard over boto3's
event-stream parser (KINESIS.md §1.7, §2.2, §2.3)."""

from __future__ import annotations

import re
import time

import pytest
from botocore.exceptions import ClientError

import kwire
from kwire import ACCOUNT, expect_error, stream_arn


@pytest.fixture(scope="module")
def efo_client(endpoint):
    # SubscribeToShard keeps the response open: bound every read so a silent
    # server fails the test instead of hanging it.
    return kwire.make_client(endpoint, read_timeout=10, connect_timeout=5)


def register(kinesis, name, consumer):
    return kinesis.register_stream_consumer(StreamARN=stream_arn(name), ConsumerName=consumer)["Consumer"]


def test_register_describe_list_deregister(kinesis, make_stream):
    name = make_stream(shards=1)
    arn = stream_arn(name)
    before = int(time.time())
    c = register(kinesis, name, "app-1")
    after = int(time.time())
    assert c["ConsumerName"] == "app-1"
    m = re.fullmatch(
        rf"arn:aws:kinesis:us-east-1:123456789012:stream/{re.escape(name)}/consumer/app-1:(\d+)", c["ConsumerARN"]
    )
    assert m, c["ConsumerARN"]
    assert before - 2 <= int(m.group(1)) <= after + 2, "the ARN suffix is the creation time in epoch seconds"
    assert c["ConsumerStatus"] == "CREATING"
    assert abs(c["ConsumerCreationTimestamp"].timestamp() - int(m.group(1))) < 2

    desc = kwire.wait_consumer_status(kinesis, c["ConsumerARN"], "ACTIVE")
    assert desc["ConsumerName"] == "app-1"
    assert desc["ConsumerARN"] == c["ConsumerARN"]
    assert desc["StreamARN"] == arn
    # addressed by StreamARN + ConsumerName as well
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="app-1")["ConsumerDescription"]
    assert by_name["ConsumerARN"] == c["ConsumerARN"]

    listed = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [(x["ConsumerName"], x["ConsumerARN"], x["ConsumerStatus"]) for x in listed] == [
        ("app-1", c["ConsumerARN"], "ACTIVE")
    ]
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["ConsumerCount"] == 1

    kinesis.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    deadline = time.monotonic() + 10
    while True:
        try:
            st = kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]["ConsumerStatus"]
            assert st == "DELETING"
        except ClientError as e:
            assert kwire.error_of(e)[0] == "ResourceNotFoundException"
            break
        assert time.monotonic() < deadline, "consumer never went away"
        time.sleep(0.05)
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []


def test_duplicate_consumer_name_is_resource_in_use(kinesis, make_stream):
    name = make_stream(shards=1)
    register(kinesis, name, "dup")
    expect_error(lambda: register(kinesis, name, "dup"), "ResourceInUseException")


def test_unknown_consumer_is_not_found(kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: kinesis.describe_stream_consumer(StreamARN=stream_arn(name), ConsumerName="nobody"),
        "ResourceNotFoundException",
    )


def test_list_stream_consumers_paging(kinesis, make_stream):
    name = make_stream(shards=1)
    arn = stream_arn(name)
    names = {"c-a", "c-b", "c-c"}
    for n in sorted(names):
        register(kinesis, name, n)
    first = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=2)
    assert len(first["Consumers"]) == 2
    assert first.get("NextToken")
    second = kinesis.list_stream_consumers(StreamARN=arn, NextToken=first["NextToken"], MaxResults=2)
    got = [c["ConsumerName"] for c in first["Consumers"] + second["Consumers"]]
    assert sorted(got) == sorted(names)
    assert not second.get("NextToken")
    paged = [c["ConsumerName"] for p in kinesis.get_paginator("list_stream_consumers").paginate(
        StreamARN=arn, PaginationConfig={"PageSize": 1}) for c in p["Consumers"]]
    assert sorted(paged) == sorted(names)


def test_delete_stream_with_consumers_needs_enforce(kinesis, make_stream):
    name = make_stream(shards=1)
    c = register(kinesis, name, "blocker")
    kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    expect_error(lambda: kinesis.delete_stream(StreamName=name), "ResourceInUseException")
    expect_error(
        lambda: kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=False), "ResourceInUseException"
    )
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    kwire.wait_stream_gone(kinesis, name)
    expect_error(lambda: kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"]), "ResourceNotFoundException")


def collect_subscription(resp, want, timeout=10.0):
    """Iterate the event stream until `want` records arrived (or the deadline)."""
    records = []
    events = []
    deadline = time.monotonic() + timeout
    stream = resp["EventStream"]
    try:
        for event in stream:
            assert set(event) == {"SubscribeToShardEvent"}, event
            ev = event["SubscribeToShardEvent"]
            events.append(ev)
            records.extend(ev["Records"])
            if len(records) >= want or time.monotonic() > deadline:
                break
    finally:
        stream.close()
    return records, events


def test_subscribe_to_shard_trim_horizon(kinesis, efo_client, make_stream):
    name = make_stream(shards=1)
    puts = [
        kinesis.put_record(StreamName=name, Data=f"efo-{i}".encode(), PartitionKey=f"k{i}")["SequenceNumber"]
        for i in range(3)
    ]
    c = register(kinesis, name, "efo")
    kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    resp = efo_client.subscribe_to_shard(
        ConsumerARN=c["ConsumerARN"], ShardId=kwire.shard_id(0), StartingPosition={"Type": "TRIM_HORIZON"}
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    records, events = collect_subscription(resp, 3)
    assert [r["Data"] for r in records] == [b"efo-0", b"efo-1", b"efo-2"]
    assert [r["SequenceNumber"] for r in records] == puts
    assert [r["PartitionKey"] for r in records] == ["k0", "k1", "k2"]
    for r in records:
        assert "ApproximateArrivalTimestamp" in r
    for ev in events:
        assert "ContinuationSequenceNumber" in ev and ev["ContinuationSequenceNumber"].isdigit()
        assert isinstance(ev["MillisBehindLatest"], int) and ev["MillisBehindLatest"] >= 0
    assert int(events[-1]["ContinuationSequenceNumber"]) >= int(puts[-1])


def test_subscribe_latest_then_put(kinesis, efo_client, make_stream):
    name = make_stream(shards=1)
    kinesis.put_record(StreamName=name, Data=b"old", PartitionKey="k")
    c = register(kinesis, name, "live")
    kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    resp = efo_client.subscribe_to_shard(
        ConsumerARN=c["ConsumerARN"], ShardId=kwire.shard_id(0), StartingPosition={"Type": "LATEST"}
    )
    seq = kinesis.put_record(StreamName=name, Data=b"new", PartitionKey="k")["SequenceNumber"]
    records, _ = collect_subscription(resp, 1)
    assert [(r["Data"], r["SequenceNumber"]) for r in records] == [(b"new", seq)]


def test_subscribe_at_sequence_number(kinesis, efo_client, make_stream):
    name = make_stream(shards=1)
    seqs = [
        kinesis.put_record(StreamName=name, Data=f"{i}".encode(), PartitionKey="k")["SequenceNumber"] for i in range(4)
    ]
    c = register(kinesis, name, "seq")
    kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    resp = efo_client.subscribe_to_shard(
        ConsumerARN=c["ConsumerARN"],
        ShardId=kwire.shard_id(0),
        StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seqs[1]},
    )
    records, _ = collect_subscription(resp, 2)
    assert [r["Data"] for r in records] == [b"2", b"3"]


@pytest.fixture(scope="module")
def efo_noretry(endpoint):
    # boto3 retries LimitExceededException for Kinesis: without retries the first answer is seen.
    return kwire.make_client(endpoint, retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=5)


def _subscribe_error(client, **args):
    """The error of a SubscribeToShard call, whether it comes as the HTTP response or as the first frame."""
    with pytest.raises(ClientError) as info:
        resp = client.subscribe_to_shard(**args)
        try:
            for _ in resp["EventStream"]:
                break
        finally:
            resp["EventStream"].close()
    return kwire.error_of(info.value)


def test_subscribe_more_than_once_per_second_is_limit_exceeded(kinesis, efo_noretry, make_stream):
    name = make_stream(shards=1)
    c = register(kinesis, name, "hasty")
    kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    args = dict(ConsumerARN=c["ConsumerARN"], ShardId=kwire.shard_id(0), StartingPosition={"Type": "LATEST"})
    first = efo_noretry.subscribe_to_shard(**args)
    try:
        code, message, status = _subscribe_error(efo_noretry, **args)
        assert (code, status) == ("LimitExceededException", 400)
        assert message == (f"Rate exceeded for SubscribeToShard by consumer {c['ConsumerARN']} "
                           "on shard shardId-000000000000.")
        # A second later the rate allows the call, and the 5-second rule answers it (the server's clock is real).
        time.sleep(1.05)
        assert _subscribe_error(efo_noretry, **args)[0] == "ResourceInUseException"
    finally:
        first["EventStream"].close()


def test_second_subscription_within_5s_is_resource_in_use(kinesis, efo_client, make_stream):
    name = make_stream(shards=1)
    kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    c = register(kinesis, name, "twice")
    kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    args = dict(ConsumerARN=c["ConsumerARN"], ShardId=kwire.shard_id(0), StartingPosition={"Type": "TRIM_HORIZON"})
    first = efo_client.subscribe_to_shard(**args)
    # One call per second per consumer and shard: wait out the rate so the 5-second rule is what answers.
    time.sleep(1.05)
    try:
        # the error may come as the HTTP response or as the first event-stream frame
        with pytest.raises(ClientError) as info:
            second = efo_client.subscribe_to_shard(**args)
            try:
                for _ in second["EventStream"]:
                    break
            finally:
                second["EventStream"].close()
        assert kwire.error_of(info.value)[0] == "ResourceInUseException"
    finally:
        first["EventStream"].close()


def test_subscribe_unknown_consumer(efo_client, make_stream):
    name = make_stream(shards=1)
    bogus = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}/consumer/ghost:1525898737"
    with pytest.raises(ClientError) as info:
        resp = efo_client.subscribe_to_shard(
            ConsumerARN=bogus, ShardId=kwire.shard_id(0), StartingPosition={"Type": "LATEST"}
        )
        for _ in resp["EventStream"]:
            break
    assert kwire.error_of(info.value)[0] == "ResourceNotFoundException"
