"""CBOR (`application/x-amz-cbor-1.1`), the AWS SDK for Java's default wire for Kinesis
(KINESIS.md §1.6; the quirks and their sources are listed in Sources/KinesisAPI/KinesisCBOR.swift).

Requests are built with cbor2 the way the Java SDK's Jackson generator writes them
(indefinite-length maps and arrays, timestamps as tag 1 + integer epoch milliseconds,
blobs as byte strings), signed with SigV4 over the CBOR bytes, and POSTed with the
operation's X-Amz-Target. Each of the 39 operations is compared with the same call made
through boto3 (JSON 1.1): read-only calls on the same resources must give the same reply
exactly (timestamps compared to the millisecond, blobs byte for byte), mutating calls are
made on twin streams (CBOR on one, boto3 on the other) and both the replies and the
resulting state must match once the names are masked. Byte-level tests pin the encodings
the Java SDK relies on, and boto3's JSON must be unchanged by all of it.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import re
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import botocore.session
import cbor2
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError

import kwire
from kwire import ACCOUNT, stream_arn

CBOR11 = "application/x-amz-cbor-1.1"
JSON11 = "application/x-amz-json-1.1"
T = "Kinesis_20131202."
ALL_OPERATIONS = sorted(botocore.session.get_session().get_service_model("kinesis").operation_names)


# --------------------------------------------------------------------------
# CBOR as the Java SDK writes and reads it


@dataclass(frozen=True)
class Tag1:
    """A CBOR tag 1 item as read from a reply (its content kept as it was on the wire)."""

    value: object


def loads(body: bytes):
    """Decodes a reply, keeping tag 1 visible (cbor2 would read it as seconds)."""
    return cbor2.loads(body, semantic_decoders={1: lambda value, immutable: Tag1(value)})


def java_value(v):
    """A boto3-style argument as the Java SDK would send it: datetimes as tag 1 + epoch ms."""
    if isinstance(v, dt.datetime):
        return cbor2.CBORTag(1, round(v.timestamp() * 1000))
    if isinstance(v, dict):
        return {k: java_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [java_value(x) for x in v]
    return v


def dumps(payload) -> bytes:
    """Jackson's CBORGenerator writes every map and array with an indefinite length."""
    return cbor2.dumps(java_value(payload), indefinite_containers=True)


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def doc(self):
        return loads(self.body) if self.body else {}


THROTTLED = (b"LimitExceededException", b"ProvisionedThroughputExceededException")


def cbor_post(endpoint: str, op: str | None, payload=None, *, body: bytes | None = None, sign: bool = True,
              headers: dict | None = None, timeout: float = 10.0) -> Reply:
    """One CBOR request, retried like an SDK while a quota (KINESIS.md §3) says it was throttled."""
    if body is None:
        body = dumps(payload if payload is not None else {})
    target = T + op if op is not None else None
    host = urlsplit(endpoint).netloc
    for attempt in range(8):
        h = (
            kwire.signed_headers_for(host=host, target=target, body=body, content_type=CBOR11)
            if sign
            else {"content-type": CBOR11}
        )
        if not sign and target is not None:
            h["x-amz-target"] = target
        h.update(headers or {})
        status, hdrs, data = kwire.raw_post(endpoint, target, body, headers=h, sign=False, timeout=timeout,
                                            retry_throttled=False)
        if not (status == 400 and any(t in data for t in THROTTLED)):
            break
        time.sleep(0.25 * (attempt + 1))
    return Reply(status, hdrs, data)


def cbor_ok(endpoint: str, op: str, payload=None):
    r = cbor_post(endpoint, op, payload)
    assert r.status == 200, f"{op}: HTTP {r.status} {r.doc if r.body else ''}"
    assert r.headers.get("content-type") == CBOR11
    return r.doc


def millis(v) -> int:
    return round(v.timestamp() * 1000)


def norm(x, names: dict[str, str] | None = None, volatile: frozenset = frozenset(), exact_times: bool = True):
    """A reply in comparable form: boto3's datetimes and CBOR's tag-1 milliseconds both become
    ("ts", ms) (or ("ts",) when instants may differ), blobs stay bytes, ResponseMetadata goes,
    twin names are masked, and `volatile` members keep only their type."""
    names = names or {}
    if isinstance(x, Tag1):
        assert isinstance(x.value, int) and not isinstance(x.value, bool), f"tag 1 on {x.value!r}: must be an integer"
        return ("ts", x.value) if exact_times else ("ts",)
    if isinstance(x, dt.datetime):
        return ("ts", millis(x)) if exact_times else ("ts",)
    if isinstance(x, dict):
        return {
            k: (type(v).__name__ if k in volatile else norm(v, names, volatile, exact_times))
            for k, v in x.items()
            if k != "ResponseMetadata"
        }
    if isinstance(x, list):
        return [norm(v, names, volatile, exact_times) for v in x]
    if isinstance(x, str):
        for real, mask in names.items():
            x = x.replace(real, mask)
        return x
    return x


def boto(kinesis, op: str, args: dict):
    return getattr(kinesis, botocore_name(op))(**args)


def botocore_name(op: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower().replace("a_r_n", "arn")


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def world(kinesis):
    """A 2-shard stream with binary records, tags, a resource policy and two ACTIVE
    consumers: the resources the read-only operations are compared on."""
    name = kwire.unique_name("cbor")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kwire.wait_stream_status(kinesis, name)
    arn = stream_arn(name)
    # Three records on shard 0, two on shard 1.
    hash_keys = [0, 1, 2, 2**127, 2**127 + 1]
    for i, data in enumerate([b"\x00\x01\x02", bytes(range(256)), b"", "π".encode(), b"\xff" * 1000]):
        kinesis.put_record(StreamName=name, Data=data, PartitionKey=f"pk{i}", ExplicitHashKey=str(hash_keys[i]))
    kinesis.add_tags_to_stream(StreamName=name, Tags={"team": "wire", "empty": ""})
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy_for(arn))
    consumers = [kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=c)["Consumer"] for c in ("c1", "c2")]
    for c in consumers:
        kwire.wait_consumer_status(kinesis, c["ConsumerARN"])
    yield {"name": name, "arn": arn, "consumers": [c["ConsumerARN"] for c in consumers]}
    try:
        kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    except ClientError:
        pass


def policy_for(arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "r", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                       "Action": ["kinesis:GetRecords"], "Resource": arn}],
    })


# --------------------------------------------------------------------------
# read-only operations: the same call, the same reply


def shard_iterator(kinesis, name, shard=0, kind="TRIM_HORIZON", **kw):
    return kinesis.get_shard_iterator(StreamName=name, ShardId=kwire.shard_id(shard), ShardIteratorType=kind,
                                      **kw)["ShardIterator"]


def same_read(endpoint, kinesis, op, args, volatile=frozenset(), attempts=1):
    """CBOR and boto3 make the same call; their replies must be equal."""
    for attempt in range(attempts):
        c = norm(cbor_ok(endpoint, op, args), volatile=volatile)
        j = norm(boto(kinesis, op, args), volatile=volatile)
        if c == j or attempt == attempts - 1:
            assert c == j, f"{op}: CBOR and JSON replies differ"
            return c
        time.sleep(0.1)  # another test's stream finished deleting in between: ask again


def read_ops():
    def describe_stream(e, k, w):
        r = same_read(e, k, "DescribeStream", {"StreamName": w["name"]})
        assert isinstance(r["StreamDescription"]["StreamCreationTimestamp"], tuple)

    def get_records(e, k, w):
        it = shard_iterator(k, w["name"], shard=1)
        r = same_read(e, k, "GetRecords", {"ShardIterator": it}, volatile=frozenset({"NextShardIterator"}))
        assert [rec["Data"] for rec in r["Records"]] == ["π".encode(), b"\xff" * 1000]

    def get_shard_iterator(e, k, w):
        # Iterators carry their own creation time, so compare what they read, not their text.
        first = k.get_records(ShardIterator=shard_iterator(k, w["name"]))["Records"]
        # Whole seconds: botocore writes a JSON timestamp as an integer (KINESIS.md §1.9), CBOR in milliseconds.
        at = first[1]["ApproximateArrivalTimestamp"].replace(microsecond=0)
        args = {"StreamName": w["name"], "ShardId": kwire.shard_id(0), "ShardIteratorType": "AT_TIMESTAMP",
                "Timestamp": at}
        c = cbor_ok(e, "GetShardIterator", args)
        assert set(c) == {"ShardIterator"}
        via_cbor = k.get_records(ShardIterator=c["ShardIterator"])["Records"]
        via_json = k.get_records(ShardIterator=k.get_shard_iterator(**args)["ShardIterator"])["Records"]
        assert norm(via_cbor) == norm(via_json)
        assert via_cbor and via_cbor[-1]["SequenceNumber"] == first[-1]["SequenceNumber"]

    def list_shards(e, k, w):
        same_read(e, k, "ListShards", {"StreamName": w["name"]})
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)  # whole seconds, as botocore sends
        r = same_read(e, k, "ListShards", {"StreamName": w["name"], "ShardFilter": {"Type": "AT_TIMESTAMP",
                                                                                   "Timestamp": now}})
        assert len(r["Shards"]) == 2

    def subscribe(e, k, w):
        subscribe_and_compare(e, k, w)

    return {
        "DescribeStream": describe_stream,
        "DescribeStreamSummary": lambda e, k, w: same_read(e, k, "DescribeStreamSummary", {"StreamName": w["name"]}),
        "DescribeStreamConsumer": lambda e, k, w: same_read(e, k, "DescribeStreamConsumer",
                                                            {"ConsumerARN": w["consumers"][0]}),
        "DescribeLimits": lambda e, k, w: same_read(e, k, "DescribeLimits", {}, attempts=5),
        "DescribeAccountSettings": lambda e, k, w: same_read(e, k, "DescribeAccountSettings", {}),
        "ListShards": list_shards,
        "ListStreamConsumers": lambda e, k, w: same_read(e, k, "ListStreamConsumers", {"StreamARN": w["arn"]}),
        "ListStreams": lambda e, k, w: same_read(e, k, "ListStreams", {"Limit": 10000}, attempts=10),
        "ListTagsForStream": lambda e, k, w: same_read(e, k, "ListTagsForStream", {"StreamName": w["name"]}),
        "ListTagsForResource": lambda e, k, w: same_read(e, k, "ListTagsForResource", {"ResourceARN": w["arn"]}),
        "GetRecords": get_records,
        "GetShardIterator": get_shard_iterator,
        "GetResourcePolicy": lambda e, k, w: same_read(e, k, "GetResourcePolicy", {"ResourceARN": w["arn"]}),
        "SubscribeToShard": subscribe,
    }


def read_event_stream(endpoint, body: bytes, want_records: int, timeout: float = 10.0):
    """POSTs a CBOR SubscribeToShard and reads frames until `want_records` records came (or the deadline)."""
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    messages = []
    try:
        conn.request(
            "POST",
            "/",
            body=body,
            headers=kwire.signed_headers_for(
                host=u.netloc, target=T + "SubscribeToShard", body=body, content_type=CBOR11
            ),
        )
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        assert resp.getheader("content-type") == "application/vnd.amazon.eventstream"
        buf = EventStreamBuffer()
        deadline = time.monotonic() + timeout
        records = 0
        while records < want_records and time.monotonic() < deadline:
            chunk = resp.read1(65536)
            if not chunk:
                break
            buf.add_data(chunk)
            for m in buf:
                messages.append(m)
                if m.headers.get(":event-type") == "SubscribeToShardEvent":
                    records += len(loads(m.payload)["Records"])
    finally:
        conn.close()
    return messages


def subscribe_and_compare(endpoint, kinesis, w):
    """The same shard from TRIM_HORIZON through CBOR (consumer c1) and boto3 (consumer c2)."""
    args = {"ShardId": kwire.shard_id(0), "StartingPosition": {"Type": "TRIM_HORIZON"}}
    messages = read_event_stream(endpoint, dumps({"ConsumerARN": w["consumers"][0], **args}), want_records=3)
    assert messages[0].headers[":event-type"] == "initial-response"
    assert loads(messages[0].payload) == {}
    events = [m for m in messages[1:] if m.headers.get(":message-type") == "event"]
    assert events, [m.headers for m in messages]
    for m in events:
        assert m.headers[":event-type"] == "SubscribeToShardEvent"
        assert m.headers[":content-type"] == CBOR11
        assert m.payload[:1] == b"\xbf"  # an indefinite map, as AWS writes replies
    cbor_records = [r for m in events for r in loads(m.payload)["Records"]]
    client = kwire.make_client(endpoint, read_timeout=10, connect_timeout=5)
    resp = client.subscribe_to_shard(ConsumerARN=w["consumers"][1], **args)
    json_records = []
    try:
        for event in resp["EventStream"]:
            json_records.extend(event["SubscribeToShardEvent"]["Records"])
            if len(json_records) >= 3:
                break
    finally:
        resp["EventStream"].close()
    assert norm(cbor_records) == norm(json_records)
    assert [r["Data"] for r in cbor_records] == [b"\x00\x01\x02", bytes(range(256)), b""]


# --------------------------------------------------------------------------
# mutating operations: twin streams, one driven in CBOR and one through boto3


class Twin:
    """What one operation needs on each twin: optional setup, the call's arguments, and a
    probe of the state it leaves (read through boto3)."""

    def __init__(self, args, setup=None, probe=None, volatile=(), on_demand=False, shards=2, settle=True):
        self.args, self.setup, self.probe = args, setup, probe
        self.volatile = frozenset(volatile)
        self.on_demand, self.shards, self.settle = on_demand, shards, settle


def summary(k, n):
    return k.describe_stream_summary(StreamName=n)["StreamDescriptionSummary"]


def shards(k, n):
    return [{key: s[key] for key in ("ShardId", "ParentShardId", "AdjacentParentShardId", "HashKeyRange") if key in s}
            for s in k.list_shards(StreamName=n)["Shards"]]


def tags(k, n):
    return k.list_tags_for_stream(StreamName=n)["Tags"]


def consumers(k, n, want: str | None = "ACTIVE", timeout: float = 10.0):
    """The stream's consumers once every one is `want` (None: once there are none)."""
    deadline = time.monotonic() + timeout
    while True:
        found = k.list_stream_consumers(StreamARN=stream_arn(n))["Consumers"]
        settled = not found if want is None else all(c["ConsumerStatus"] == want for c in found)
        if settled or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def policy(k, n):
    try:
        return json.loads(k.get_resource_policy(ResourceARN=stream_arn(n))["Policy"] or "{}")
    except ClientError as e:
        return kwire.error_of(e)[0]


def records(k, n):
    return kwire.read_shard_fully(k, n, kwire.shard_id(0))[0] + kwire.read_shard_fully(k, n, kwire.shard_id(1))[0]


def register(k, n):
    c = k.register_stream_consumer(StreamARN=stream_arn(n), ConsumerName="app")["Consumer"]
    kwire.wait_consumer_status(k, c["ConsumerARN"])


TWIN_OPS = {
    "AddTagsToStream": Twin(lambda n: {"StreamName": n, "Tags": {"k1": "v1", "k2": ""}}, probe=tags),
    "RemoveTagsFromStream": Twin(lambda n: {"StreamName": n, "TagKeys": ["a"]},
                                 setup=lambda k, n: k.add_tags_to_stream(StreamName=n, Tags={"a": "1", "b": "2"}),
                                 probe=tags),
    "TagResource": Twin(lambda n: {"ResourceARN": stream_arn(n), "Tags": {"t": "v"}},
                        probe=lambda k, n: k.list_tags_for_resource(ResourceARN=stream_arn(n))["Tags"]),
    "UntagResource": Twin(lambda n: {"ResourceARN": stream_arn(n), "TagKeys": ["t"]},
                          setup=lambda k, n: k.tag_resource(ResourceARN=stream_arn(n), Tags={"t": "v", "u": "w"}),
                          probe=lambda k, n: k.list_tags_for_resource(ResourceARN=stream_arn(n))["Tags"]),
    "IncreaseStreamRetentionPeriod": Twin(lambda n: {"StreamName": n, "RetentionPeriodHours": 48}, probe=summary),
    "DecreaseStreamRetentionPeriod": Twin(
        lambda n: {"StreamName": n, "RetentionPeriodHours": 30},
        setup=lambda k, n: k.increase_stream_retention_period(StreamName=n, RetentionPeriodHours=72),
        probe=summary),
    "EnableEnhancedMonitoring": Twin(lambda n: {"StreamName": n, "ShardLevelMetrics": ["IncomingBytes",
                                                                                       "OutgoingRecords"]},
                                     probe=summary),
    "DisableEnhancedMonitoring": Twin(lambda n: {"StreamName": n, "ShardLevelMetrics": ["IncomingBytes"]},
                                      setup=lambda k, n: k.enable_enhanced_monitoring(StreamName=n,
                                                                                      ShardLevelMetrics=["ALL"]),
                                      probe=summary),
    "StartStreamEncryption": Twin(lambda n: {"StreamName": n, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
                                  probe=summary),
    "StopStreamEncryption": Twin(
        lambda n: {"StreamName": n, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        setup=lambda k, n: k.start_stream_encryption(StreamName=n, EncryptionType="KMS", KeyId="alias/aws/kinesis"),
        probe=summary),
    "UpdateShardCount": Twin(lambda n: {"StreamName": n, "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"},
                             probe=shards),
    "SplitShard": Twin(lambda n: {"StreamName": n, "ShardToSplit": kwire.shard_id(0),
                                  "NewStartingHashKey": str(2**126)}, probe=shards),
    "MergeShards": Twin(lambda n: {"StreamName": n, "ShardToMerge": kwire.shard_id(0),
                                   "AdjacentShardToMerge": kwire.shard_id(1)}, probe=shards),
    "UpdateStreamMode": Twin(lambda n: {"StreamARN": stream_arn(n), "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
                             probe=summary),
    "UpdateMaxRecordSize": Twin(lambda n: {"StreamARN": stream_arn(n), "MaxRecordSizeInKiB": 2048}, probe=summary),
    "UpdateStreamWarmThroughput": Twin(
        lambda n: {"StreamARN": stream_arn(n), "WarmThroughputMiBps": 10},
        setup=lambda k, n: k.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"}),
        probe=summary, on_demand=True),
    "PutResourcePolicy": Twin(lambda n: {"ResourceARN": stream_arn(n), "Policy": policy_for(stream_arn(n))},
                              probe=policy),
    "DeleteResourcePolicy": Twin(lambda n: {"ResourceARN": stream_arn(n)},
                                 setup=lambda k, n: k.put_resource_policy(ResourceARN=stream_arn(n),
                                                                          Policy=policy_for(stream_arn(n))),
                                 probe=policy),
    "RegisterStreamConsumer": Twin(lambda n: {"StreamARN": stream_arn(n), "ConsumerName": "app"},
                                   probe=consumers, volatile={"ConsumerARN"}),
    "DeregisterStreamConsumer": Twin(lambda n: {"StreamARN": stream_arn(n), "ConsumerName": "app"},
                                     setup=register, probe=lambda k, n: consumers(k, n, want=None),
                                     volatile={"ConsumerARN"}),
    "PutRecord": Twin(lambda n: {"StreamName": n, "Data": bytes(range(256)), "PartitionKey": "pk",
                                 "ExplicitHashKey": str(2**127 + 5)},
                      probe=records, volatile={"SequenceNumber"}),
    "PutRecords": Twin(lambda n: {"StreamName": n, "Records": [
        {"Data": b"\x00", "PartitionKey": "a"}, {"Data": b"", "PartitionKey": "b", "ExplicitHashKey": "0"},
        {"Data": b"\xfe" * 5000, "PartitionKey": "c" * 256}]},
        probe=records, volatile={"SequenceNumber"}),
    "DeleteStream": Twin(lambda n: {"StreamName": n, "EnforceConsumerDeletion": True}, setup=register,
                         probe=lambda k, n: (kwire.wait_stream_gone(k, n), "gone")[1], settle=False),
}


def run_twins(endpoint, kinesis, make_stream, op):
    spec = TWIN_OPS[op]
    a = make_stream(shards=None if spec.on_demand else spec.shards, on_demand=spec.on_demand, wait=False, prefix="cb")
    b = make_stream(shards=None if spec.on_demand else spec.shards, on_demand=spec.on_demand, wait=False, prefix="cb")
    for n in (a, b):
        kwire.wait_stream_status(kinesis, n)
        if spec.setup:
            spec.setup(kinesis, n)
            kwire.wait_stream_status(kinesis, n)
    mask = {a: "<stream>", b: "<stream>"}
    c = cbor_ok(endpoint, op, spec.args(a))
    j = boto(kinesis, op, spec.args(b))
    assert norm(c, mask, spec.volatile, exact_times=False) == norm(j, mask, spec.volatile, exact_times=False), op
    if spec.settle:
        for n in (a, b):
            kwire.wait_stream_status(kinesis, n)
    probe_volatile = spec.volatile | {"SequenceNumber", "ConsumerARN", "StreamCreationTimestamp"}
    state_a = norm(spec.probe(kinesis, a), mask, probe_volatile, exact_times=False)
    state_b = norm(spec.probe(kinesis, b), mask, probe_volatile, exact_times=False)
    assert state_a == state_b, f"{op}: the state left by the CBOR call differs from the JSON call's"
    return c, state_a


def create_stream_twins(endpoint, kinesis, make_stream):
    """CreateStream (not a twin of an existing stream): both encodings create one, alike."""
    a, b = kwire.unique_name("cb"), kwire.unique_name("cb")
    args = lambda n: {"StreamName": n, "ShardCount": 3, "Tags": {"made": "by-cbor"}, "MaxRecordSizeInKiB": 2048}
    try:
        assert cbor_ok(endpoint, "CreateStream", args(a)) == {}
        assert norm(boto(kinesis, "CreateStream", args(b))) == {}
        mask = {a: "<stream>", b: "<stream>"}
        states = []
        for n in (a, b):
            kwire.wait_stream_status(kinesis, n)
            states.append(norm([summary(kinesis, n), shards(kinesis, n), tags(kinesis, n)], mask,
                               frozenset({"StreamCreationTimestamp"}), exact_times=False))
        assert states[0] == states[1]
    finally:
        for n in (a, b):
            try:
                kinesis.delete_stream(StreamName=n)
            except ClientError:
                pass


def account_settings_twins(endpoint, kinesis):
    """UpdateAccountSettings is account-wide: the same update through each door answers alike."""
    args = {"MinimumThroughputBillingCommitment": {"Status": "ENABLED"}}
    c = cbor_ok(endpoint, "UpdateAccountSettings", args)
    j = boto(kinesis, "UpdateAccountSettings", args)
    assert norm(c, exact_times=False) == norm(j, exact_times=False)
    commitment = c["MinimumThroughputBillingCommitment"]
    assert isinstance(commitment["StartedAt"], Tag1)
    assert commitment["StartedAt"].value == millis(j["MinimumThroughputBillingCommitment"]["StartedAt"])


# --------------------------------------------------------------------------
# every operation


def test_the_table_covers_all_39_operations():
    covered = set(read_ops()) | set(TWIN_OPS) | {"CreateStream", "UpdateAccountSettings"}
    assert len(ALL_OPERATIONS) == 39
    assert covered == set(ALL_OPERATIONS)


@pytest.mark.parametrize("op", ALL_OPERATIONS)
def test_operation_round_trip_matches_json(op, endpoint, kinesis, make_stream, world):
    if op in TWIN_OPS:
        run_twins(endpoint, kinesis, make_stream, op)
    elif op == "CreateStream":
        create_stream_twins(endpoint, kinesis, make_stream)
    elif op == "UpdateAccountSettings":
        account_settings_twins(endpoint, kinesis)
    else:
        read_ops()[op](endpoint, kinesis, world)


@pytest.mark.parametrize("op", ALL_OPERATIONS)
def test_empty_request_gets_the_same_answer_as_json(op, endpoint):
    """`{}` to every operation: the same status, error type and message in both encodings."""
    for attempt in range(5):
        c = cbor_post(endpoint, op, body=b"\xbf\xff")
        status, headers, body = kwire.raw_post(endpoint, T + op, b"{}")
        assert c.status == status, (op, c.doc, body)
        assert c.headers.get("content-type") == CBOR11
        j = json.loads(body) if body else {}
        if status != 200:
            assert c.doc == j, f"{op}: {c.doc} vs {j}"
            assert "__type" in j
            return
        # A success (ListStreams, DescribeLimits, DescribeAccountSettings): the same reply, unless
        # another test's stream changed state in between, which a second look settles.
        if norm(c.doc) == norm(j_times(j)) or attempt == 4:
            assert norm(c.doc) == norm(j_times(j)), op
            return
        time.sleep(0.1)


def j_times(x):
    """Raw JSON replies: epoch-second timestamps as boto3 would read them (only for comparison)."""
    if isinstance(x, dict):
        return {k: (dt.datetime.fromtimestamp(v, dt.timezone.utc) if k.endswith("At") or k.endswith("Timestamp")
                    else j_times(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [j_times(v) for v in x]
    return x


# --------------------------------------------------------------------------
# byte-level: what the Java SDK writes and reads


def member_bytes(body: bytes, name: str) -> bytes:
    """The raw bytes right after a text map key."""
    key = cbor2.dumps(name)
    at = body.index(key)
    return body[at + len(key):]


def test_reply_timestamps_are_tag1_integer_milliseconds(endpoint, kinesis, world):
    r = cbor_post(endpoint, "DescribeStreamSummary", {"StreamName": world["name"]})
    after = member_bytes(r.body, "StreamCreationTimestamp")
    assert after[:2] == b"\xc1\x1b", after[:10].hex()  # tag 1, then an 8-byte unsigned integer
    ms = struct.unpack(">Q", after[2:10])[0]
    json_ts = kinesis.describe_stream_summary(StreamName=world["name"])["StreamDescriptionSummary"][
        "StreamCreationTimestamp"]
    assert ms == millis(json_ts)
    assert b"\xc1\xfb" not in r.body and b"\xc1\xfa" not in r.body  # never a float (LocalStack's AWS-validated check)

    it = shard_iterator(kinesis, world["name"])
    body = cbor_post(endpoint, "GetRecords", {"ShardIterator": it}).body
    stamps = [struct.unpack(">Q", m.group(1))[0] for m in re.finditer(
        re.escape(cbor2.dumps("ApproximateArrivalTimestamp")) + rb"\xc1\x1b(.{8})", body, re.S)]
    json_stamps = [millis(r["ApproximateArrivalTimestamp"]) for r in kinesis.get_records(ShardIterator=it)["Records"]]
    assert stamps == json_stamps and len(stamps) == 3


def test_request_timestamps_are_milliseconds_tagged_or_not(endpoint, kinesis, world):
    first = kinesis.get_records(ShardIterator=shard_iterator(kinesis, world["name"]))["Records"]
    ms = millis(first[-1]["ApproximateArrivalTimestamp"])
    head = {"StreamName": world["name"], "ShardId": kwire.shard_id(0), "ShardIteratorType": "AT_TIMESTAMP"}
    prefix = cbor2.dumps(head, indefinite_containers=True)[:-1]  # reopen the map to add Timestamp by hand
    spellings = {
        "tag 1 + uint64 (the captured Java form)": b"\xc1\x1b" + struct.pack(">Q", ms),
        "untagged integer": cbor2.dumps(ms),
        "tag 1 + float": b"\xc1\xfb" + struct.pack(">d", float(ms)),
        "tag 1 + shortest integer": cbor2.dumps(cbor2.CBORTag(1, ms)),
    }
    # AT_TIMESTAMP: the records that arrived at or after the instant, to the millisecond (boto3 cannot
    # ask this: botocore sends whole seconds in JSON; the replies' timestamps carry milliseconds).
    expected = [r["SequenceNumber"] for r in first if millis(r["ApproximateArrivalTimestamp"]) >= ms]
    assert expected and expected[-1] == first[-1]["SequenceNumber"]
    for label, encoded in spellings.items():
        body = prefix + cbor2.dumps("Timestamp") + encoded + b"\xff"
        r = cbor_post(endpoint, "GetShardIterator", body=body)
        assert r.status == 200, (label, r.doc)
        got = [x["SequenceNumber"] for x in kinesis.get_records(ShardIterator=r.doc["ShardIterator"])["Records"]]
        assert got == expected, label
    # One millisecond later there is nothing left in the shard: the unit really is the millisecond.
    body = prefix + cbor2.dumps("Timestamp") + cbor2.dumps(cbor2.CBORTag(1, ms + 1)) + b"\xff"
    later = cbor_post(endpoint, "GetShardIterator", body=body)
    assert later.status == 200
    assert all(x["SequenceNumber"] != expected[0]
               for x in kinesis.get_records(ShardIterator=later.doc["ShardIterator"])["Records"])
    # Seconds where milliseconds belong land in January 1970, before every record: all of them.
    body = prefix + cbor2.dumps("Timestamp") + cbor2.dumps(cbor2.CBORTag(1, ms // 1000)) + b"\xff"
    early = cbor_post(endpoint, "GetShardIterator", body=body)
    assert len(kinesis.get_records(ShardIterator=early.doc["ShardIterator"])["Records"]) == len(first)


def test_blobs_are_byte_strings_both_ways(endpoint, kinesis, make_stream):
    name = make_stream(shards=1, prefix="cb")
    data = bytes(range(256))
    cbor_ok(endpoint, "PutRecord", {"StreamName": name, "Data": data, "PartitionKey": "k"})
    it = shard_iterator(kinesis, name)
    body = cbor_post(endpoint, "GetRecords", {"ShardIterator": it}).body
    assert member_bytes(body, "Data")[:3 + 256] == b"\x59\x01\x00" + data  # major type 2, 2-byte length
    assert kinesis.get_records(ShardIterator=it)["Records"][0]["Data"] == data
    # Base64 text where a blob belongs is read too (kinesis-mock and LocalStack accept it), same rules as JSON.
    cbor_ok(endpoint, "PutRecord", {"StreamName": name, "Data": "AAEC", "PartitionKey": "k"})
    assert kinesis.get_records(ShardIterator=it)["Records"][1]["Data"] == b"\x00\x01\x02"


def test_error_envelope_bytes(endpoint, kinesis):
    missing = kwire.unique_name("cb-missing")
    r = cbor_post(endpoint, "DescribeStream", {"StreamName": missing})
    assert r.status == 400
    assert r.headers.get("content-type") == CBOR11
    assert re.fullmatch(r"[0-9a-f-]{36}", r.headers.get("x-amzn-requestid", ""))
    message = f"Stream {missing} under account {ACCOUNT} not found."
    expected = (b"\xbf" + cbor2.dumps("__type") + cbor2.dumps("ResourceNotFoundException")
                + cbor2.dumps("message") + cbor2.dumps(message) + b"\xff")
    assert r.body == expected
    kwire.expect_error(lambda: kinesis.describe_stream(StreamName=missing), "ResourceNotFoundException",
                       message=message)
    # A type error is a SerializationException whose text is `Message`, as in JSON.
    r = cbor_post(endpoint, "DescribeStream", {"StreamName": 5})
    assert (r.status, r.doc) == (400, {"__type": "SerializationException", "Message": (
        "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String")})
    _s, _h, jbody = kwire.raw_post(endpoint, T + "DescribeStream", b'{"StreamName":5}')
    assert json.loads(jbody) == r.doc


def test_output_less_operations_answer_an_empty_cbor_reply(endpoint, kinesis, world):
    r = cbor_post(endpoint, "AddTagsToStream", {"StreamName": world["name"], "Tags": {"again": "1"}})
    assert (r.status, r.body, r.headers.get("content-type")) == (200, b"", CBOR11)
    assert r.headers.get("content-length") == "0"


def test_errors_before_dispatch_are_cbor(endpoint):
    cases = [
        (cbor_post(endpoint, "ListStreams", body=b"\xbf", sign=False), "SerializationException"),  # never ends
        (cbor_post(endpoint, "ListStreams", body=b'{"Limit": 1}', sign=False), "SerializationException"),  # JSON
        (cbor_post(endpoint, "NoSuchOperation", {}, sign=False), "UnknownOperationException"),
        (cbor_post(endpoint, "ListStreams", {}, sign=False), "MissingAuthenticationTokenException"),
        (cbor_post(endpoint, "ListStreams", {}, sign=False, headers={"authorization": "AWS4-HMAC-SHA256 x"}),
         "IncompleteSignatureException"),
    ]
    for reply, kind in cases:
        assert (reply.status, reply.headers.get("content-type")) == (400, CBOR11), kind
        assert reply.doc["__type"] == kind


def test_jackson_style_chunked_text_and_indefinite_lists(endpoint, kinesis, make_stream):
    name = make_stream(shards=1, prefix="cb")
    half = len(name) // 2
    chunked_name = b"\x7f" + cbor2.dumps(name[:half]) + cbor2.dumps(name[half:]) + b"\xff"
    body = (b"\xbf" + cbor2.dumps("StreamName") + chunked_name + cbor2.dumps("Records") + b"\x9f"
            + b"\xbf" + cbor2.dumps("Data") + b"\x5f\x41a\x41b\xff" + cbor2.dumps("PartitionKey") + cbor2.dumps("k")
            + b"\xff" + b"\xff" + b"\xff")
    r = cbor_post(endpoint, "PutRecords", body=body)
    assert r.status == 200, r.doc
    assert r.doc["FailedRecordCount"] == 0
    assert kinesis.get_records(ShardIterator=shard_iterator(kinesis, name))["Records"][0]["Data"] == b"ab"


@pytest.mark.parametrize("label,body", [
    ("integer beyond a long", b"\xbf" + cbor2.dumps("Limit") + b"\x1b" + b"\xff" * 8 + b"\xff"),
    ("negative beyond a long", b"\xbf" + cbor2.dumps("Limit") + b"\x3b\x80" + b"\x00" * 7 + b"\xff"),
    ("bignum 2^64", b"\xbf" + cbor2.dumps("Limit") + b"\xc2\x49\x01" + b"\x00" * 8 + b"\xff"),
    ("NaN", b"\xbf" + cbor2.dumps("Limit") + b"\xf9\x7e\x00\xff"),
    ("infinity", b"\xbf" + cbor2.dumps("Limit") + b"\xfb" + struct.pack(">d", math.inf) + b"\xff"),
    ("truncated", cbor2.dumps({"Limit": 10})[:-1]),
    ("bytes after the item", cbor2.dumps({}) + b"\x00"),
    ("a key that is not text", cbor2.dumps({1: 2})),
    ("deep nesting", b"\x81" * 100_000),
    ("a million one-byte items", b"\xbf" + cbor2.dumps("Limit") + b"\x9f" + b"\x00" * 2**20 + b"\xff\xff"),
    ("a length beyond the body", b"\xbf" + cbor2.dumps("StreamName") + b"\x7b" + b"\x7f" + b"\xff" * 7),
    ("a top level that is not a map", cbor2.dumps([1, 2])),
])
def test_hostile_bodies_are_bare_serialization_exceptions(label, body, endpoint, ktop_server):
    r = cbor_post(endpoint, "ListStreams", body=body)
    assert (r.status, r.doc) == (400, {"__type": "SerializationException"}), label
    if ktop_server is not None:
        assert ktop_server.alive(), ktop_server.stderr_text()
    # Within range the same construct is decoded, and the operation's own validation answers.
    r = cbor_post(endpoint, "ListStreams", {"Limit": 2**63 - 1})
    assert r.doc["__type"] == "ValidationException", r.doc


def test_boto3_json_is_unchanged(endpoint, kinesis, world):
    """After all the CBOR traffic, JSON is still JSON: seconds with three decimals, base64 blobs."""
    status, headers, body = kwire.raw_post(endpoint, T + "DescribeStreamSummary",
                                           json.dumps({"StreamName": world["name"]}).encode())
    assert status == 200 and headers.get("content-type") == JSON11
    assert re.search(rb'"StreamCreationTimestamp":\d{10}\.\d{3}[,}]', body), body
    it = shard_iterator(kinesis, world["name"])
    status, headers, body = kwire.raw_post(endpoint, T + "GetRecords", json.dumps({"ShardIterator": it}).encode())
    doc = json.loads(body)
    assert doc["Records"][0]["Data"] == "AAEC"  # base64 of 00 01 02
    assert re.search(rb'"ApproximateArrivalTimestamp":\d{10}\.\d{3}[,}]', body)
    assert kinesis.get_records(ShardIterator=it)["Records"][0]["Data"] == b"\x00\x01\x02"


@pytest.fixture(scope="module")
def sigv4_server(tmp_path_factory):
    if os.environ.get("KTOP_ENDPOINT"):
        pytest.skip("KTOP_ENDPOINT is set: this test starts its own `ktop serve --verify-sigv4`")
    creds = tmp_path_factory.mktemp("cbor-sigv4") / "credentials"
    creds.write_text(f"{kwire.ACCESS_KEY}:{kwire.SECRET_KEY}\n")
    server = kwire.ServerProcess(["--limits", "aws", "--verify-sigv4", "--credentials", str(creds)])
    yield server
    server.stop()


def test_signatures_cover_the_cbor_bytes(sigv4_server):
    endpoint = sigv4_server.endpoint
    body = dumps({"Limit": 5})
    assert cbor_post(endpoint, "ListStreams", body=body).status == 200
    host = urlsplit(endpoint).netloc
    headers = kwire.signed_headers_for(host=host, target=T + "ListStreams", body=body, content_type=CBOR11)
    tampered = body[:-2] + b"\x06" + body[-1:]  # Limit 5 -> 6 after signing
    status, h, data = kwire.raw_post(endpoint, T + "ListStreams", tampered, headers=headers, sign=False)
    assert status == 400 and h.get("content-type") == CBOR11
    assert loads(data)["__type"] == "InvalidSignatureException"
