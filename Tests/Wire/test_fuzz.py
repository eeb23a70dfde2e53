"""Fuzzing the HTTP/JSON front door with hypothesis: random and mutated bodies
and headers. Every reply must be a well-formed Kinesis answer (KINESIS.md
§1.3–§1.5) and the server must keep answering."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kwire

T = "Kinesis_20131202."
JSON11 = "application/x-amz-json-1.1"
PRINTABLE = st.characters(min_codepoint=33, max_codepoint=126)

OPS = [
    "AddTagsToStream", "CreateStream", "DecreaseStreamRetentionPeriod", "DeleteResourcePolicy", "DeleteStream",
    "DeregisterStreamConsumer", "DescribeAccountSettings", "DescribeLimits", "DescribeStream",
    "DescribeStreamConsumer", "DescribeStreamSummary", "DisableEnhancedMonitoring", "EnableEnhancedMonitoring",
    "GetRecords", "GetResourcePolicy", "GetShardIterator", "IncreaseStreamRetentionPeriod", "ListShards",
    "ListStreamConsumers", "ListStreams", "ListTagsForResource", "ListTagsForStream", "MergeShards", "PutRecord",
    "PutRecords", "PutResourcePolicy", "RegisterStreamConsumer", "RemoveTagsFromStream", "SplitShard",
    "StartStreamEncryption", "StopStreamEncryption", "TagResource", "UntagResource",
    "UpdateAccountSettings", "UpdateMaxRecordSize", "UpdateShardCount", "UpdateStreamMode",
    "UpdateStreamWarmThroughput",
]  # SubscribeToShard is left out: its success answer is an open event stream

FUZZ_PREFIX = "fuzz-" + uuid.uuid4().hex[:8]
NAMES = [f"{FUZZ_PREFIX}-{i}" for i in range(3)]
ARNS = [kwire.stream_arn(n) for n in NAMES]


def base_bodies():
    """One plausible request per operation, for mutation."""
    n, a = NAMES[0], ARNS[0]
    shard = kwire.shard_id(0)
    b64 = base64.b64encode(b"fuzz").decode()
    return {
        "AddTagsToStream": {"StreamName": n, "Tags": {"k": "v"}},
        "CreateStream": {"StreamName": n, "ShardCount": 1},
        "DecreaseStreamRetentionPeriod": {"StreamName": n, "RetentionPeriodHours": 24},
        "DeleteResourcePolicy": {"ResourceARN": a},
        "DeleteStream": {"StreamName": n},
        "DeregisterStreamConsumer": {"StreamARN": a, "ConsumerName": "c"},
        "DescribeAccountSettings": {},
        "DescribeLimits": {},
        "DescribeStream": {"StreamName": n, "Limit": 10},
        "DescribeStreamConsumer": {"StreamARN": a, "ConsumerName": "c"},
        "DescribeStreamSummary": {"StreamName": n},
        "DisableEnhancedMonitoring": {"StreamName": n, "ShardLevelMetrics": ["ALL"]},
        "EnableEnhancedMonitoring": {"StreamName": n, "ShardLevelMetrics": ["IncomingBytes"]},
        "GetRecords": {"ShardIterator": "AAAAAAAAAAE" + "A" * 40, "Limit": 10},
        "GetResourcePolicy": {"ResourceARN": a},
        "GetShardIterator": {"StreamName": n, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"},
        "IncreaseStreamRetentionPeriod": {"StreamName": n, "RetentionPeriodHours": 48},
        "ListShards": {"StreamName": n, "MaxResults": 5},
        "ListStreamConsumers": {"StreamARN": a},
        "ListStreams": {"Limit": 5},
        "ListTagsForResource": {"ResourceARN": a},
        "ListTagsForStream": {"StreamName": n},
        "MergeShards": {"StreamName": n, "ShardToMerge": shard, "AdjacentShardToMerge": kwire.shard_id(1)},
        "PutRecord": {"StreamName": n, "Data": b64, "PartitionKey": "pk"},
        "PutRecords": {"StreamName": n, "Records": [{"Data": b64, "PartitionKey": "pk"}]},
        "PutResourcePolicy": {"ResourceARN": a, "Policy": "{}"},
        "RegisterStreamConsumer": {"StreamARN": a, "ConsumerName": "c"},
        "RemoveTagsFromStream": {"StreamName": n, "TagKeys": ["k"]},
        "SplitShard": {"StreamName": n, "ShardToSplit": shard, "NewStartingHashKey": str(2**127)},
        "StartStreamEncryption": {"StreamName": n, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        "StopStreamEncryption": {"StreamName": n, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        "TagResource": {"ResourceARN": a, "Tags": {"k": "v"}},
        "UntagResource": {"ResourceARN": a, "TagKeys": ["k"]},
        "UpdateAccountSettings": {"MinimumThroughputBillingCommitment": {"Status": "ENABLED"}},
        "UpdateMaxRecordSize": {"StreamARN": a, "MaxRecordSizeInKiB": 2048},
        "UpdateShardCount": {"StreamName": n, "TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"},
        "UpdateStreamMode": {"StreamARN": a, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
        "UpdateStreamWarmThroughput": {"StreamARN": a, "WarmThroughputMiBps": 10},
    }


BASE = base_bodies()

# Small or extreme integers only: mid-size shard counts would eat the account's shard quota.
small_ints = st.integers(-3, 3) | st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**40, 10001])
scalars = (
    st.none()
    | st.booleans()
    | small_ints
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=40)
    | st.sampled_from(NAMES + ARNS + ["", "x" * 300, "shardId-000000000000", "ALL", "ON_DEMAND", "LATEST", "-1"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_body(draw):
    op = draw(st.sampled_from(OPS))
    body = dict(BASE[op])
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "drop", "add", "rename"]))
        keys = list(body)
        if action == "replace" and keys:
            body[draw(st.sampled_from(keys))] = draw(json_values)
        elif action == "drop" and keys:
            body.pop(draw(st.sampled_from(keys)))
        elif action == "rename" and keys:
            k = draw(st.sampled_from(keys))
            body[k.lower()] = body.pop(k)
        else:
            body[draw(st.text(min_size=1, max_size=15))] = draw(json_values)
    return T + op, json.dumps(body).encode()


@st.composite
def random_request(draw):
    target = draw(
        st.sampled_from([T + op for op in OPS])
        | st.text(alphabet=PRINTABLE, max_size=40).map(lambda s: T + s)
        | st.text(alphabet=PRINTABLE, max_size=40)
    )
    body = draw(
        st.binary(max_size=300)
        | json_values.map(lambda v: json.dumps(v).encode())
        | st.sampled_from([b"", b"{}", b"[]", b"null", b'{"StreamName":', b"\xff\xfe{", b"{" * 200 + b"}" * 200])
    )
    return target, body


requests_ = mutated_body() | random_request()
content_types = st.sampled_from([JSON11, JSON11, JSON11, "application/json", "text/plain", "", None])
extra_headers = st.dictionaries(
    st.sampled_from(["x-amz-date", "x-amz-security-token", "accept", "x-amz-content-sha256", "x-foo"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=2,
)


def check_reply(status, headers, body, ctype):
    assert status == 200 or 400 <= status < 500 or status == 500, f"unexpected HTTP status {status}: {body[:200]!r}"
    if ctype not in (JSON11, "application/json"):
        return  # other content types may legitimately get CBOR/XML answers
    if status == 200:
        if body:
            assert isinstance(json.loads(body), dict), body[:200]
        return
    doc = json.loads(body)
    assert isinstance(doc, dict) and isinstance(doc.get("__type"), str) and doc["__type"], body[:300]


def send(endpoint, target, body, ctype, extra):
    hdrs = dict(extra)
    if ctype is None:
        hdrs["content-type"] = None
    else:
        hdrs["content-type"] = ctype
    return kwire.raw_post(endpoint, target, body, headers=hdrs, sign=True, timeout=15)


@pytest.fixture(scope="module")
def fuzz_cleanup(kinesis):
    yield
    for page in kinesis.get_paginator("list_streams").paginate():
        for n in page["StreamNames"]:
            if isinstance(n, str) and n.startswith(FUZZ_PREFIX):
                try:
                    kinesis.delete_stream(StreamName=n, EnforceConsumerDeletion=True)
                except ClientError:
                    pass


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(req=requests_, ctype=content_types, extra=extra_headers)
def test_fuzz_requests_get_well_formed_answers(endpoint, fuzz_cleanup, req, ctype, extra):
    target, body = req
    status, headers, data = send(endpoint, target, body, ctype, extra)
    check_reply(status, headers, data, ctype)


def test_server_answers_after_fuzzing(kinesis, fuzz_cleanup):
    assert "StreamNames" in kinesis.list_streams()


def raw_exchange(endpoint, payload: bytes, read: bool = True) -> bytes:
    u = urlsplit(endpoint)
    with socket.create_connection((u.hostname, u.port), timeout=2) as s:
        s.sendall(payload)
        if not read:
            return b""
        got = b""
        try:  # read until the end of a response head, EOF or 2 s of silence
            while b"\r\n\r\n" not in got:
                c = s.recv(65536)
                if not c:
                    break
                got += c
        except socket.timeout:
            pass
        return got


@pytest.mark.parametrize(
    "payload",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS ClientHello
        b"GARBAGE GARBAGE GARBAGE\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"partial\":",  # body cut short
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n"
        b"Content-Type: application/x-amz-json-1.1\r\n\r\nzz\r\n",
    ],
    ids=["tls", "garbage", "short-body", "negative-length", "huge-header", "bad-chunk"],
)
def test_malformed_http_does_not_kill_the_server(endpoint, kinesis, payload):
    try:
        reply = raw_exchange(endpoint, payload)
    except OSError:
        reply = b""  # the server may reset the connection: fine
    if reply:
        assert reply.startswith(b"HTTP/1."), reply[:100]
    assert "StreamNames" in kinesis.list_streams(Limit=1)


def test_many_half_open_connections(endpoint, kinesis):
    u = urlsplit(endpoint)
    socks = []
    try:
        for _ in range(50):
            s = socket.create_connection((u.hostname, u.port), timeout=5)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        t0 = time.monotonic()
        assert "StreamNames" in kinesis.list_streams(Limit=1)
        assert time.monotonic() - t0 < 5
    finally:
        for s in socks:
            s.close()
