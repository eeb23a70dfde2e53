"""HTTP/2 cleartext with prior knowledge (h2c) on `ktop serve`'s plain port, beside HTTP/1.1.

The AWS SDK for Java v2 reads SubscribeToShard over HTTP/2; these tests speak HTTP/2 with
the `h2` library (h2wire.py, frame by frame) and httpx, and check that every operation
answers as over HTTP/1.1 (JSON and CBOR bodies), that many streams share one connection,
that SubscribeToShard's events arrive on an HTTP/2 stream as they are produced, and that
hostile or stalled HTTP/2 clients are closed without hurting the server.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from urllib.parse import urlsplit

import botocore.session
import cbor2
import h2.config
import h2.connection
import httpx
import kwire
import pytest
from botocore.eventstream import EventStreamBuffer
from h2wire import H2Connection, T

CBOR11 = "application/x-amz-cbor-1.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def port_of(endpoint: str) -> int:
    return urlsplit(endpoint).port


@pytest.fixture
def h2(endpoint):
    conn = H2Connection(port_of(endpoint))
    yield conn
    conn.close()


def make_stream(h2: H2Connection, shards: int = 1) -> str:
    name = kwire.unique_name("h2")
    status, body = h2.call("CreateStream", {"StreamName": name, "ShardCount": shards})
    assert status == 200, body
    deadline = time.monotonic() + 10
    while True:
        status, body = h2.call("DescribeStreamSummary", {"StreamName": name})
        assert status == 200, body
        if body["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return name
        assert time.monotonic() < deadline, "stream did not become ACTIVE"
        time.sleep(0.05)


def test_h2c_operations_json(h2):
    name = make_stream(h2, shards=2)
    status, put = h2.call("PutRecord", {"StreamName": name, "Data": base64.b64encode(b"one").decode(),
                                        "PartitionKey": "k"})
    assert status == 200, put
    kwire.assert_v2_sequence(put["SequenceNumber"], put["ShardId"])
    status, puts = h2.call("PutRecords", {"StreamName": name, "Records": [
        {"Data": base64.b64encode(b"two").decode(), "PartitionKey": "k"},
        {"Data": base64.b64encode(b"three").decode(), "PartitionKey": "k"}]})
    assert status == 200 and puts["FailedRecordCount"] == 0, puts
    status, shards = h2.call("ListShards", {"StreamName": name})
    assert status == 200 and [s["ShardId"] for s in shards["Shards"]] == [kwire.shard_id(0), kwire.shard_id(1)]
    status, it = h2.call("GetShardIterator", {"StreamName": name, "ShardId": put["ShardId"],
                                              "ShardIteratorType": "TRIM_HORIZON"})
    assert status == 200, it
    status, got = h2.call("GetRecords", {"ShardIterator": it["ShardIterator"]})
    assert status == 200, got
    assert [base64.b64decode(r["Data"]) for r in got["Records"]] == [b"one", b"two", b"three"]
    assert got["Records"][0]["SequenceNumber"] == put["SequenceNumber"]


ALL_OPERATIONS = sorted(botocore.session.get_session().get_service_model("kinesis").operation_names)


@pytest.mark.parametrize("op", ALL_OPERATIONS)
def test_every_operation_answers_over_h2c_as_over_http11(op, h2, endpoint):
    """`{}` to each of the 39 operations over h2c: the status, error type and message HTTP/1.1 gives (the three
    that succeed on `{}` answer 200 with the same members)."""
    assert len(ALL_OPERATIONS) == 39
    for attempt in range(8):
        status, body = h2.call(op, {})
        if not (status == 400 and body.get("__type") == "LimitExceededException"):
            break
        time.sleep(0.25 * (attempt + 1))  # control-plane quotas are per second; not what this test is about
    http11_status, _, raw = kwire.raw_post(endpoint, T + op, b"{}")
    http11 = json.loads(raw) if raw else {}
    assert status == http11_status, (op, body, http11)
    if status == 200:
        assert body.keys() == http11.keys(), op
    else:
        assert body == http11, op


def test_h2c_error_is_the_kinesis_error(h2):
    sid = h2.start(T + "DescribeStreamSummary", json.dumps({"StreamName": "no-such-h2-stream"}).encode())
    reply = h2.wait([sid])[0]
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/x-amz-json-1.1"
    assert json.loads(reply.body)["__type"] == "ResourceNotFoundException"
    assert "x-amzn-requestid" in reply.headers
    # HTTP/1.1 connection headers must not leak into HTTP/2 (RFC 9113 §8.2.2).
    assert "connection" not in reply.headers and "keep-alive" not in reply.headers
    sid = h2.start(T + "NoSuchOperation", b"{}")
    reply = h2.wait([sid])[0]
    assert reply.status == 400 and b"UnknownOperationException" in reply.body


def test_h2c_operations_cbor(h2):
    name = make_stream(h2)
    body = cbor2.dumps({"StreamName": name, "Data": b"\x00\xffcbor", "PartitionKey": "p"},
                       indefinite_containers=True)
    reply = h2.wait([h2.start(T + "PutRecord", body, content_type=CBOR11)])[0]
    assert reply.status == 200 and reply.headers["content-type"] == CBOR11
    put = cbor2.loads(reply.body)
    body = cbor2.dumps({"StreamName": name, "ShardId": put["ShardId"], "ShardIteratorType": "TRIM_HORIZON"})
    it = cbor2.loads(h2.wait([h2.start(T + "GetShardIterator", body, content_type=CBOR11)])[0].body)
    reply = h2.wait([h2.start(T + "GetRecords", cbor2.dumps({"ShardIterator": it["ShardIterator"]}),
                              content_type=CBOR11)])[0]
    assert reply.status == 200
    records = cbor2.loads(reply.body, semantic_decoders={1: lambda v, immutable: v})["Records"]
    assert [r["Data"] for r in records] == [b"\x00\xffcbor"]
    # An error in CBOR too: the Java SDK parses error bodies in the request's encoding.
    reply = h2.wait([h2.start(T + "DescribeStream", cbor2.dumps({"StreamName": "nope-h2"}),
                              content_type=CBOR11)])[0]
    assert reply.status == 400 and cbor2.loads(reply.body)["__type"] == "ResourceNotFoundException"


def test_fifty_concurrent_streams_on_one_connection(h2):
    name = make_stream(h2)
    payloads = [f"record-{i:02d}".encode() * (i + 1) for i in range(50)]
    sids = [h2.start(T + "PutRecord", json.dumps({"StreamName": name, "PartitionKey": "k",
                                                  "Data": base64.b64encode(p).decode()}).encode())
            for p in payloads]
    assert len(set(sids)) == 50
    replies = h2.wait(sids)
    assert [r.status for r in replies] == [200] * 50, [r.body for r in replies if r.status != 200][:3]
    seqs = [json.loads(r.body)["SequenceNumber"] for r in replies]
    assert len(set(seqs)) == 50
    status, it = h2.call("GetShardIterator", {"StreamName": name, "ShardId": kwire.shard_id(0),
                                              "ShardIteratorType": "TRIM_HORIZON"})
    assert status == 200, it
    status, got = h2.call("GetRecords", {"ShardIterator": it["ShardIterator"]})
    assert status == 200, got
    by_seq = {r["SequenceNumber"]: base64.b64decode(r["Data"]) for r in got["Records"]}
    # Each stream's answer is its own record's: sequence number i carries payload i.
    assert [by_seq[s] for s in seqs] == payloads


def test_httpx_prior_knowledge_and_http11_on_the_same_port(endpoint, kinesis):
    body = b"{}"
    host = urlsplit(endpoint).netloc
    with httpx.Client(http1=False, http2=True, timeout=10) as client:
        r = client.post(endpoint + "/", content=body,
                        headers=kwire.signed_headers_for(host=host, target=T + "ListStreams", body=body))
        assert r.http_version == "HTTP/2" and r.status_code == 200, r.text
        assert "StreamNames" in r.json()
    with httpx.Client(http1=True, http2=False, timeout=10) as client:
        r = client.post(endpoint + "/", content=body,
                        headers=kwire.signed_headers_for(host=host, target=T + "ListStreams", body=body))
        assert r.http_version == "HTTP/1.1" and r.status_code == 200
    kinesis.list_streams()  # boto3, HTTP/1.1


def subscribe_records(conn: H2Connection, consumer_arn: str, want: int, timeout: float = 15.0):
    """Subscribes on an HTTP/2 stream and reads event-stream messages until `want` records came."""
    sid = conn.start(T + "SubscribeToShard", json.dumps({
        "ConsumerARN": consumer_arn, "ShardId": kwire.shard_id(0),
        "StartingPosition": {"Type": "TRIM_HORIZON"}}).encode())
    buf = EventStreamBuffer()
    messages, records, seen = [], [], 0
    deadline = time.monotonic() + timeout
    while len(records) < want:
        conn.read_some(deadline)
        reply = conn.replies[sid]
        assert not reply.reset and not reply.ended, "the event stream ended early"
        buf.add_data(reply.body[seen:])
        seen = len(reply.body)
        for m in buf:
            messages.append(m)
            if m.headers.get(":event-type") == "SubscribeToShardEvent":
                records += json.loads(m.payload)["Records"]
    return sid, conn.replies[sid], messages, records


def test_subscribe_to_shard_streams_on_an_http2_stream(endpoint, kinesis):
    name = kwire.unique_name("h2sub")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kwire.wait_stream_status(kinesis, name)["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="h2")["Consumer"]["ConsumerARN"]
    kwire.wait_consumer_status(kinesis, consumer, "ACTIVE")
    for i in range(5):
        kinesis.put_record(StreamName=name, Data=f"rec-{i}".encode(), PartitionKey="k")

    conn = H2Connection(port_of(endpoint), timeout=15)
    try:
        sid, reply, messages, records = subscribe_records(conn, consumer, want=5)
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/vnd.amazon.eventstream"
        assert messages[0].headers[":event-type"] == "initial-response"
        # The stream is live: a record put now arrives on it without the stream ending.
        kinesis.put_record(StreamName=name, Data=b"live", PartitionKey="k")
        buf, seen, live = EventStreamBuffer(), len(reply.body), []
        deadline = time.monotonic() + 10
        while not live:
            conn.read_some(deadline)
            buf.add_data(conn.replies[sid].body[seen:])
            seen = len(conn.replies[sid].body)
            for m in buf:
                if m.headers.get(":event-type") == "SubscribeToShardEvent":
                    live += json.loads(m.payload)["Records"]
        assert [base64.b64decode(r["Data"]) for r in live] == [b"live"]
        # Other streams of the connection are answered while the subscription runs.
        status, _ = conn.call("ListStreams")
        assert status == 200 and not conn.replies[sid].ended
    finally:
        conn.close()

    # The same records as over HTTP/1.1 (boto3's event-stream reader).
    time.sleep(5.1)  # one subscription per consumer and shard every 5 s (KINESIS.md §1.7)
    events = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=kwire.shard_id(0),
                                        StartingPosition={"Type": "TRIM_HORIZON"})["EventStream"]
    h1 = []
    for event in events:
        h1 += event["SubscribeToShardEvent"]["Records"]
        if len(h1) >= 6:
            break
    events._event_generator.close() if hasattr(events, "_event_generator") else None
    assert [(r["SequenceNumber"], r["Data"]) for r in h1[:5]] == [
        (r["SequenceNumber"], base64.b64decode(r["Data"])) for r in records[:5]]


def test_subscribe_to_shard_over_http2_in_cbor(endpoint, kinesis):
    name = kwire.unique_name("h2cbor")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kwire.wait_stream_status(kinesis, name)["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    kwire.wait_consumer_status(kinesis, consumer, "ACTIVE")
    kinesis.put_record(StreamName=name, Data=b"\x01cbor", PartitionKey="k")
    conn = H2Connection(port_of(endpoint), timeout=15)
    try:
        body = cbor2.dumps({"ConsumerARN": consumer, "ShardId": kwire.shard_id(0),
                            "StartingPosition": {"Type": "TRIM_HORIZON"}}, indefinite_containers=True)
        sid = conn.start(T + "SubscribeToShard", body, content_type=CBOR11)
        buf, events = EventStreamBuffer(), []
        deadline = time.monotonic() + 15
        seen = 0
        while not events:
            conn.read_some(deadline)
            buf.add_data(conn.replies[sid].body[seen:])
            seen = len(conn.replies[sid].body)
            events += [m for m in buf if m.headers.get(":event-type") == "SubscribeToShardEvent"]
        assert events[0].headers[":content-type"] == CBOR11
        records = cbor2.loads(events[0].payload, semantic_decoders={1: lambda v, immutable: v})["Records"]
        assert [r["Data"] for r in records] == [b"\x01cbor"]
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Hostile and stalled HTTP/2 clients


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; fails past `limit` seconds."""
    start = time.monotonic()
    data = b""
    while True:
        left = limit - (time.monotonic() - start)
        assert left > 0, f"the server kept the connection open past {limit} s; got {data[:200]!r}"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - start


def raw_frames(data: bytes):
    """(type, flags, stream id, payload) of each whole HTTP/2 frame in `data`."""
    at = 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        if at + 9 + length > len(data):
            return
        yield (data[at + 3], data[at + 4], int.from_bytes(data[at + 5:at + 9], "big") & 0x7FFFFFFF,
               data[at + 9:at + 9 + length])
        at += 9 + length


def goaway_code(data: bytes) -> int | None:
    """The error code of the first GOAWAY frame (type 7) in raw HTTP/2 frames, if any."""
    at = 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        if data[at + 3] == 7 and at + 9 + 8 <= len(data):
            return int.from_bytes(data[at + 13:at + 17], "big")
        at += 9 + length
    return None


def test_preface_then_garbage_gets_goaway_and_server_lives(endpoint, kinesis):
    with socket.create_connection(("127.0.0.1", port_of(endpoint)), timeout=5) as sock:
        sock.sendall(PREFACE + b"\xff" * 64 + b"GET / HTTP/1.1\r\n\r\n")
        data, _ = read_until_closed(sock, 5)
    assert goaway_code(data) is not None and goaway_code(data) != 0, data[:100]
    kinesis.list_streams()
    conn = H2Connection(port_of(endpoint))
    try:
        assert conn.call("ListStreams")[0] == 200
    finally:
        conn.close()


@pytest.fixture(scope="module")
def quick_server():
    """A server with short deadlines for the stall tests."""
    server = kwire.ServerProcess(["--header-timeout", "1", "--body-timeout", "1", "--idle-timeout", "2"])
    yield server
    server.stop()


def test_preface_and_stall_is_closed_after_the_header_timeout(quick_server):
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=5) as sock:
        sock.sendall(PREFACE)
        data, took = read_until_closed(sock, 5)
    assert 0.8 <= took <= 4, took
    assert b"HTTP/1.1" not in data  # a 408 is HTTP/1.1 bytes: never on an HTTP/2 connection


def test_half_a_preface_is_closed_too(quick_server):
    with socket.create_connection(("127.0.0.1", quick_server.port), timeout=5) as sock:
        sock.sendall(PREFACE[:10])
        _, took = read_until_closed(sock, 5)
    assert took <= 4


def test_idle_http2_connection_is_closed_after_the_idle_timeout(quick_server):
    conn = H2Connection(quick_server.port)
    status, _ = conn.call("ListStreams")
    assert status == 200
    start = time.monotonic()
    with pytest.raises((ConnectionError, OSError)):
        while True:
            conn.read_some(start + 6)
    took = time.monotonic() - start
    conn.sock.close()
    assert 1.5 <= took <= 5, took


def test_http2_body_that_stops_gets_408_on_its_stream(quick_server):
    conn = H2Connection(quick_server.port)
    try:
        sid = conn.conn.get_next_available_stream_id()
        conn.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":authority", conn.authority),
                                     (":path", "/"), ("content-type", "application/x-amz-json-1.1"),
                                     ("x-amz-target", T + "ListStreams"), ("content-length", "100")])
        conn.conn.send_data(sid, b"{")
        conn.flush()
        from h2wire import Reply

        conn.replies[sid] = Reply()
        start = time.monotonic()
        reply = conn.wait([sid])[0]
        assert reply.status == 408, reply
        assert 0.8 <= time.monotonic() - start <= 4
        status, _ = conn.call("ListStreams")  # the connection itself still serves
        assert status == 200
    finally:
        conn.close()


def test_stream_whose_reader_grants_no_window_is_reset_after_the_idle_timeout(quick_server):
    """A client that never opens its receive window pins no reply: the stream is reset."""
    import h2.settings

    conn = H2Connection.__new__(H2Connection)
    conn.authority = f"127.0.0.1:{quick_server.port}"
    conn.timeout = 10
    conn.sock = socket.create_connection(("127.0.0.1", quick_server.port), timeout=10)
    conn.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.conn.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    conn.conn.initiate_connection()
    conn.replies, conn.goaway, conn.closed = {}, False, False
    conn.flush()
    try:
        sid = conn.start(T + "ListStreams", b"{}")
        start = time.monotonic()
        reply = conn.wait([sid])[0]
        took = time.monotonic() - start
        assert reply.reset and not reply.body, reply
        assert 1.5 <= took <= 5, took
    finally:
        conn.sock.close()


def test_shutdown_ends_an_http2_subscription_and_exits():
    """SIGTERM quiesces HTTP/2 connections too: the event stream ends cleanly and ktop exits."""
    import signal

    import boto3

    server = kwire.ServerProcess([])
    try:
        kinesis = boto3.client("kinesis", endpoint_url=server.endpoint, region_name=kwire.REGION,
                               aws_access_key_id=kwire.ACCESS_KEY, aws_secret_access_key=kwire.SECRET_KEY)
        name = kwire.unique_name("h2quiesce")
        kinesis.create_stream(StreamName=name, ShardCount=1)
        arn = kwire.wait_stream_status(kinesis, name)["StreamARN"]
        consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="q")["Consumer"]["ConsumerARN"]
        kwire.wait_consumer_status(kinesis, consumer, "ACTIVE")
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
        conn = H2Connection(server.port, timeout=15)
        sid, _, _, _ = subscribe_records(conn, consumer, want=1)
        server.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        # The h2 library treats a GOAWAY as the connection's end, though open streams go on
        # (RFC 9113 §6.8): read the frames that follow raw, from where h2 stopped.
        data, _ = read_until_closed(conn.sock, 8)
        data = bytes(conn.conn.incoming_buffer._data) + data
        frames = list(raw_frames(data))
        assert (7, 0, 0) in [(t, sid_, int.from_bytes(p[4:8], "big")) for t, _, sid_, p in frames if t == 7], frames
        ends = [t for t, flags, s, _ in frames if s == sid and t in (0, 1) and flags & 1]
        assert ends, f"stream {sid} did not end: {frames}"
        assert not [t for t, _, s, _ in frames if s == sid and t == 3], "stream was reset"
        assert server.proc.wait(timeout=10) == 0
        assert time.monotonic() - start < 8
        conn.sock.close()
    finally:
        server.stop()


def test_a_stream_error_resets_that_stream_only(h2):
    """A body shorter than its content-length is a stream error (RFC 9113 §8.1.1): that stream is
    reset, the connection and its other streams go on."""
    from h2wire import Reply

    h2.conn.config.validate_outbound_headers = False
    sid = h2.conn.get_next_available_stream_id()
    h2.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":authority", h2.authority),
                               (":path", "/"), ("content-type", "application/x-amz-json-1.1"),
                               ("x-amz-target", T + "ListStreams"), ("content-length", "10")])
    h2.conn.send_data(sid, b"{}", end_stream=True)
    h2.flush()
    h2.replies[sid] = Reply()
    assert h2.wait([sid])[0].reset
    status, body = h2.call("DescribeStreamSummary", {"StreamName": "nope"})
    assert status == 400 and body["__type"] == "ResourceNotFoundException"


def test_limits_are_advertised_and_an_oversized_header_list_is_refused(endpoint, h2):
    h2.call("ListShards", {"StreamName": "nope"})  # the server's SETTINGS have arrived by its reply
    settings = h2.conn.remote_settings
    assert settings.max_concurrent_streams == 100
    assert settings.max_header_list_size == 16384
    assert settings.initial_window_size == 1 << 20
    # 32 KiB of headers, twice the advertised list size: refused (stream reset or GOAWAY), no crash.
    sid = h2.start(T + "ListStreams", b"{}", extra={"x-padding": "p" * 32768})
    try:
        reply = h2.wait([sid])[0]
        assert reply.reset or reply.status in (400, 431), reply
    except ConnectionError:
        pass
    conn = H2Connection(port_of(endpoint))
    try:
        status, body = conn.call("DescribeStreamSummary", {"StreamName": "nope"})
        assert status == 400 and body["__type"] == "ResourceNotFoundException"
    finally:
        conn.close()


def test_a_large_putrecords_body_crosses_the_flow_control_windows(h2):
    """4.9 MiB of JSON on one stream: more than the 1 MiB stream window and the 4 MiB connection window."""
    name = make_stream(h2, shards=4)
    data = base64.b64encode(b"x" * 7_500).decode()
    body = json.dumps({"StreamName": name, "Records": [
        {"Data": data, "PartitionKey": f"k{i}"} for i in range(500)]}).encode()
    assert len(body) > 4_900_000
    start = time.monotonic()
    reply = h2.wait([h2.start(T + "PutRecords", body)])[0]
    assert reply.status == 200, reply.body[:300]
    result = json.loads(reply.body)
    assert len(result["Records"]) == 500
    # Some may be throttled (1 MiB/s per shard), but every record has an answer.
    assert all("SequenceNumber" in r or r.get("ErrorCode") == "ProvisionedThroughputExceededException"
               for r in result["Records"])
    assert time.monotonic() - start < 10
