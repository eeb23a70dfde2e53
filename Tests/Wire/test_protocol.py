"""The JSON 1.1 envelope itself, checked with raw HTTP requests (KINESIS.md §1.1–§1.5)."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest

import kwire
from kwire import ACCOUNT

JSON11 = "application/x-amz-json-1.1"
T = "Kinesis_20131202."


def error_type(body: bytes) -> str:
    doc = json.loads(body)
    t = doc["__type"]
    return t.split("#")[-1].split(":")[0]


def error_message(body: bytes) -> str | None:
    doc = json.loads(body)
    return doc.get("message", doc.get("Message"))


def test_success_envelope(endpoint):
    status, headers, body = kwire.raw_post(endpoint, T + "ListStreams", b"{}")
    assert status == 200, body
    assert headers.get("content-type", "").startswith(JSON11)
    assert headers.get("x-amzn-requestid")
    doc = json.loads(body)
    assert isinstance(doc["StreamNames"], list)
    assert isinstance(doc["HasMoreStreams"], bool)


def test_empty_request_body_is_accepted(endpoint):
    status, _h, body = kwire.raw_post(endpoint, T + "ListStreams", b"")
    assert status == 200, body
    assert "StreamNames" in json.loads(body)


def test_ops_without_output_return_empty_body(endpoint, kinesis):
    name = kwire.unique_name("raw")
    status, headers, body = kwire.raw_post(
        endpoint, T + "CreateStream", json.dumps({"StreamName": name, "ShardCount": 1}).encode()
    )
    assert status == 200, body
    assert body == b"", f"CreateStream must answer with an empty body, got {body!r}"
    assert headers.get("x-amzn-requestid")
    kwire.wait_stream_status(kinesis, name)
    status, _h, body = kwire.raw_post(
        endpoint, T + "AddTagsToStream", json.dumps({"StreamName": name, "Tags": {"k": "v"}}).encode()
    )
    assert (status, body) == (200, b"")
    status, _h, body = kwire.raw_post(endpoint, T + "DeleteStream", json.dumps({"StreamName": name}).encode())
    assert (status, body) == (200, b"")


def test_error_envelope(endpoint):
    name = kwire.unique_name("raw-missing")
    status, headers, body = kwire.raw_post(endpoint, T + "DescribeStream", json.dumps({"StreamName": name}).encode())
    assert status == 400
    assert headers.get("content-type", "").startswith(JSON11)
    assert headers.get("x-amzn-requestid")
    doc = json.loads(body)
    assert doc["__type"] == "ResourceNotFoundException"  # JSON 1.1: the short shape name
    assert doc["message"] == f"Stream {name} under account {ACCOUNT} not found."


def test_record_wire_types(endpoint, kinesis, make_stream):
    name = make_stream(shards=1)
    status, _h, body = kwire.raw_post(
        endpoint,
        T + "PutRecord",
        json.dumps({"StreamName": name, "Data": base64.b64encode(b"hello").decode(), "PartitionKey": "pk"}).encode(),
    )
    assert status == 200, body
    put = json.loads(body)
    assert isinstance(put["SequenceNumber"], str) and isinstance(put["ShardId"], str)
    status, _h, body = kwire.raw_post(
        endpoint,
        T + "GetShardIterator",
        json.dumps({"StreamName": name, "ShardId": put["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}).encode(),
    )
    it = json.loads(body)["ShardIterator"]
    status, _h, body = kwire.raw_post(endpoint, T + "GetRecords", json.dumps({"ShardIterator": it}).encode())
    assert status == 200, body
    doc = json.loads(body)
    rec = doc["Records"][0]
    assert rec["Data"] == "aGVsbG8="  # blobs are standard padded base64
    assert isinstance(rec["ApproximateArrivalTimestamp"], (int, float))  # epoch seconds as a JSON number
    assert abs(rec["ApproximateArrivalTimestamp"] - time.time()) < 60
    assert isinstance(rec["SequenceNumber"], str)
    assert isinstance(doc["MillisBehindLatest"], int)


def test_timestamps_accepted_as_int_and_float(endpoint, make_stream):
    name = make_stream(shards=1)
    for ts in (int(time.time()) - 5, time.time() - 5.25):
        status, _h, body = kwire.raw_post(
            endpoint,
            T + "GetShardIterator",
            json.dumps(
                {"StreamName": name, "ShardId": kwire.shard_id(0), "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": ts}
            ).encode(),
        )
        assert status == 200, (ts, body)
        assert json.loads(body)["ShardIterator"]


def test_malformed_json_is_serialization_exception(endpoint):
    status, _h, body = kwire.raw_post(endpoint, T + "ListStreams", b"{not json")
    assert status == 400
    assert error_type(body) == "SerializationException"


def test_wrong_member_type_is_serialization_exception(endpoint):
    status, _h, body = kwire.raw_post(endpoint, T + "DescribeStream", b'{"StreamName": {"nested": 1}}')
    assert status == 400
    assert error_type(body) == "SerializationException"


def test_bad_base64_blob(endpoint, make_stream):
    name = make_stream(shards=1)
    status, _h, body = kwire.raw_post(
        endpoint, T + "PutRecord", json.dumps({"StreamName": name, "Data": "abc", "PartitionKey": "k"}).encode()
    )
    assert status == 400
    assert error_type(body) == "SerializationException"
    assert error_message(body) == (
        "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"
    )


def test_unknown_operation(endpoint):
    status, _h, body = kwire.raw_post(endpoint, T + "NoSuchOperation", b"{}")
    assert status == 400
    assert error_type(body) == "UnknownOperationException"


def test_missing_authentication_token(endpoint):
    status, _h, body = kwire.raw_post(endpoint, T + "ListStreams", b"{}", sign=False)
    assert status == 400
    assert error_type(body) == "MissingAuthenticationTokenException"
    assert error_message(body) == "Missing Authentication Token"


def test_incomplete_signature(endpoint):
    status, _h, body = kwire.raw_post(
        endpoint,
        T + "ListStreams",
        b"{}",
        headers={"authorization": "AWS4-HMAC-SHA256 ", "x-amz-date": "20260101T000000Z"},
        sign=False,
    )
    assert status == 400
    assert error_type(body) == "IncompleteSignatureException"
    assert error_message(body).startswith("Authorization header requires 'Credential' parameter.")


def test_non_post_method_is_403(endpoint):
    status, _h, body = kwire.raw_post(endpoint, T + "ListStreams", b"", method="GET")
    assert status == 403
    assert b"AccessDeniedException" in body


def test_metrics_endpoint_serves_prometheus_text(endpoint, kinesis, make_stream):
    """ktop's own GET /metrics (not a Kinesis API): Prometheus text exposition."""
    import urllib.request

    if os.environ.get("KTOP_ENDPOINT"):
        pytest.skip("GET /metrics is ktop's, not part of the Kinesis API")
    name = make_stream(shards=1)
    kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    deadline = time.time() + 10
    text = ""
    while time.time() < deadline:
        with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = r.read().decode()
        if f'stream="{name}"' in text:
            break
        time.sleep(0.2)
    assert "# TYPE ktop_limits_info gauge" in text
    assert f'stream="{name}"' in text, "the new stream never appeared in /metrics"
