"""SigV4 verification (KINESIS.md §10, §1.5): these tests start their own
`ktop serve --verify-sigv4 --credentials FILE` process."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os

import pytest

import kwire
from kwire import expect_error

needs_own_server = pytest.mark.skipif(
    bool(os.environ.get("KTOP_ENDPOINT")),
    reason="KTOP_ENDPOINT is set: SigV4 tests need their own `ktop serve --verify-sigv4` process",
)

BAD_SIGNATURE_PREFIX = "The request signature we calculated does not match the signature you provided"


def test_signer_matches_kinesis_md_example():
    """The test-side signer reproduces the verified example of KINESIS.md §10."""
    body = b'{"StreamName": "s", "Data": "aGVsbG8=", "PartitionKey": "pk", "ExplicitHashKey": "5"}'
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": "127.0.0.1:35699",
        "x-amz-date": "20261122T203517Z",
        "x-amz-security-token": "TOKEN123",
        "x-amz-target": "Kinesis_20131202.PutRecord",
    }
    sig = kwire.sigv4_signature(
        secret=kwire.SECRET_KEY,
        amz_date="20261122T203517Z",
        region="us-east-1",
        service="kinesis",
        method="POST",
        path="/",
        headers=headers,
        signed_headers=list(headers),
        body=body,
    )
    assert sig == "a6c8f4512850883188afe28debf310f76ff2b31890768d8f8226270a532735a1"


@pytest.fixture(scope="module")
def sigv4_server(tmp_path_factory):
    creds = tmp_path_factory.mktemp("sigv4") / "credentials"
    creds.write_text(f"{kwire.ACCESS_KEY}:{kwire.SECRET_KEY}\n")
    failure = None
    try:
        server = kwire.ServerProcess(["--limits", "aws", "--verify-sigv4", "--credentials", str(creds)])
    except RuntimeError as e:
        failure = str(e)
    if failure is not None:
        pytest.fail(f"could not start ktop --verify-sigv4: {failure}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def signed(sigv4_server):
    return kwire.make_client(sigv4_server.endpoint, retries={"total_max_attempts": 1})


def client_with(endpoint, access_key, secret):
    import boto3
    import botocore.config

    return boto3.session.Session().client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


@needs_own_server
def test_correctly_signed_calls_pass(signed):
    name = kwire.unique_name("sig")
    signed.create_stream(StreamName=name, ShardCount=1)
    kwire.wait_stream_status(signed, name)
    r = signed.put_record(StreamName=name, Data=b"signed", PartitionKey="k")
    assert r["ShardId"] == kwire.shard_id(0)
    assert name in signed.list_streams()["StreamNames"]


@needs_own_server
def test_wrong_secret_is_rejected(sigv4_server):
    bad = client_with(sigv4_server.endpoint, kwire.ACCESS_KEY, "not-the-secret")
    expect_error(lambda: bad.list_streams(), {"InvalidSignatureException", "UnrecognizedClientException"}, status=400)


@needs_own_server
def test_unknown_access_key_is_unrecognized(sigv4_server):
    bad = client_with(sigv4_server.endpoint, "AKIDUNKNOWN000000000", kwire.SECRET_KEY)
    expect_error(
        lambda: bad.list_streams(),
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        status=400,
    )


@needs_own_server
def test_tampered_body_is_rejected(sigv4_server):
    client = client_with(sigv4_server.endpoint, kwire.ACCESS_KEY, kwire.SECRET_KEY)

    def tamper(request, **_):
        # runs after signing: change the body, keep its length
        assert b'"Limit": 5' in request.body
        request.body = request.body.replace(b'"Limit": 5', b'"Limit": 6')

    client.meta.events.register("before-send.kinesis.ListStreams", tamper)
    expect_error(
        lambda: client.list_streams(Limit=5),
        "InvalidSignatureException",
        message_startswith=BAD_SIGNATURE_PREFIX,
        status=400,
    )


@needs_own_server
def test_tampered_signed_header_is_rejected(sigv4_server):
    client = client_with(sigv4_server.endpoint, kwire.ACCESS_KEY, kwire.SECRET_KEY)

    def tamper(request, **_):
        request.headers["X-Amz-Target"] = "Kinesis_20131202.DescribeLimits"

    client.meta.events.register("before-send.kinesis.ListStreams", tamper)
    expect_error(lambda: client.list_streams(), "InvalidSignatureException", status=400)


def post(server, target, body, when=None, secret=kwire.SECRET_KEY, drop=()):
    host = f"127.0.0.1:{server.port}"
    headers = kwire.signed_headers_for(host=host, target=target, body=body, when=when, secret=secret)
    for h in drop:
        headers[h] = None
    return kwire.raw_post(server.endpoint, target, body, headers=headers, sign=False)


@needs_own_server
def test_manually_signed_request_passes(sigv4_server):
    status, headers, body = post(sigv4_server, "Kinesis_20131202.ListStreams", b"{}")
    assert status == 200, body
    assert "StreamNames" in json.loads(body)
    assert headers.get("x-amzn-requestid")


@needs_own_server
def test_stale_date_is_signature_expired(sigv4_server):
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    status, _headers, body = post(sigv4_server, "Kinesis_20131202.ListStreams", b"{}", when=when)
    assert status == 400, body
    err = json.loads(body)
    assert err["__type"].split("#")[-1].split(":")[0] == "InvalidSignatureException"
    msg = err.get("message") or err.get("Message")
    assert msg.startswith(f"Signature expired: {amz_date} is now earlier than "), msg
    assert msg.endswith(" - 5 min.)"), msg


@needs_own_server
def test_future_date_is_not_yet_current(sigv4_server):
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    status, _headers, body = post(sigv4_server, "Kinesis_20131202.ListStreams", b"{}", when=when)
    assert status == 400, body
    err = json.loads(body)
    assert err["__type"].split("#")[-1].split(":")[0] == "InvalidSignatureException"
    msg = err.get("message") or err.get("Message")
    assert msg.startswith(f"Signature not yet current: {amz_date} is still later than "), msg
    assert msg.endswith(" + 5 min.)"), msg


@needs_own_server
def test_slightly_skewed_clock_is_accepted(sigv4_server):
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    status, _headers, body = post(sigv4_server, "Kinesis_20131202.ListStreams", b"{}", when=when)
    assert status == 200, body


@needs_own_server
def test_stale_date_through_boto3(sigv4_server, monkeypatch):
    """The same check through botocore's own signer, with its clock moved back."""
    import botocore.auth

    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - dt.timedelta(minutes=10))
    client = client_with(sigv4_server.endpoint, kwire.ACCESS_KEY, kwire.SECRET_KEY)
    expect_error(
        lambda: client.list_streams(), "InvalidSignatureException", message_startswith="Signature expired: ", status=400
    )


@needs_own_server
def test_missing_authentication(sigv4_server):
    status, _headers, body = kwire.raw_post(sigv4_server.endpoint, "Kinesis_20131202.ListStreams", b"{}", sign=False)
    assert status == 400, body
    err = json.loads(body)
    assert err["__type"].split("#")[-1] == "MissingAuthenticationTokenException"
    assert (err.get("message") or err.get("Message")) == "Missing Authentication Token"


@needs_own_server
def test_server_still_serves_after_rejections(signed):
    assert "StreamNames" in signed.list_streams()


# --------------------------------------------------------------------------
# Regression tests for holes a fuzzer found in the verifier. Each request is
# signed correctly for what it claims, so that a refusal can only come from
# the rule under test.

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
SCOPE_DATE = "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP. "
SCOPE_REGION = "Credential should be scoped to a valid region. "
SCOPE_SERVICE = "Credential should be scoped to correct service: 'kinesis'. "


def not_signed(name):
    return f"'{name}' must be a 'SignedHeader' in the AWS Authorization."


def wire_error(status, body):
    assert status == 400, (status, body)
    doc = json.loads(body)
    return doc["__type"].split("#")[-1].split(":")[0], doc.get("message") or doc.get("Message")


def botocore_signed(server, target, body, extra=None):
    """Headers botocore's own signer produces for this request (SigV4Auth + AWSRequest);
    botocore signs every header it is given, and uses X-Amz-Content-SHA256's value as
    the payload hash when that header is set."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(extra or {})}
    request = botocore.awsrequest.AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    creds = botocore.credentials.Credentials(kwire.ACCESS_KEY, kwire.SECRET_KEY)
    botocore.auth.SigV4Auth(creds, "kinesis", "us-east-1").add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


def hand_signed(server, target, body, *, when=None, signed=None, extra=None, date_header=False,
                scope_date=None, region="us-east-1", service="kinesis", terminator="aws4_request"):
    """Headers for a request signed by hand: `signed` picks the signed headers (default all),
    the scope fields may be anything; the signature is right for what the headers say."""
    when = when or dt.datetime.now(dt.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": "application/x-amz-json-1.1", "host": f"127.0.0.1:{server.port}", "x-amz-target": target}
    if date_header:
        headers["date"] = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    else:
        headers["x-amz-date"] = amz_date
    headers.update(extra or {})
    names = sorted(signed if signed is not None else headers)
    canonical = "\n".join([
        "POST", "/", "",
        "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    fields = [scope_date or amz_date[:8], region, service, terminator]
    scope = "/".join(fields)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + kwire.SECRET_KEY).encode()
    for f in fields:
        key = hmac.new(key, f.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={kwire.ACCESS_KEY}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


def send(server, target, body, headers):
    return kwire.raw_post(server.endpoint, target, body, headers=headers, sign=False)


def assert_serving(server):
    """The server is alive and still answers a correctly signed call (ListStreams is
    throttled at 5/s under --limits aws; raw_post waits that out)."""
    assert server.alive(), server.stderr_text()
    t = "Kinesis_20131202.ListStreams"
    status, _h, body = send(server, t, b"{}", hand_signed(server, t, b"{}"))
    assert status == 200, body


@pytest.fixture
def sig_stream(signed):
    name = kwire.unique_name("sig")
    signed.create_stream(StreamName=name, ShardCount=1)
    kwire.wait_stream_status(signed, name)
    yield name
    try:
        signed.delete_stream(StreamName=name)
    except Exception:
        pass


def stored_data(client, stream):
    records, _ = kwire.read_shard_fully(client, stream, kwire.shard_id(0))
    return [r["Data"] for r in records]


def put_body(stream, data):
    return json.dumps({"StreamName": stream, "Data": base64.b64encode(data).decode(), "PartitionKey": "pk"}).encode()


# 1. the payload hash is the received body's


@needs_own_server
def test_swapped_body_with_original_hash_header_is_not_stored(sigv4_server, signed, sig_stream):
    target = "Kinesis_20131202.PutRecord"
    original = put_body(sig_stream, b"original")
    headers = botocore_signed(sigv4_server, target, original,
                              {"X-Amz-Content-SHA256": hashlib.sha256(original).hexdigest()})
    swapped = put_body(sig_stream, b"SWAPPED!")
    assert len(swapped) == len(original)
    assert wire_error(*send(sigv4_server, target, swapped, headers)[::2]) == ("InvalidSignatureException", MISMATCH)
    assert stored_data(signed, sig_stream) == []
    # The same signed headers with the body they were made for are accepted.
    status, _h, body = send(sigv4_server, target, original, headers)
    assert status == 200, body
    assert stored_data(signed, sig_stream) == [b"original"]


@needs_own_server
@pytest.mark.parametrize("claimed", ["0" * 64, "UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
def test_payload_hash_other_than_the_bodys_is_refused(sigv4_server, signed, sig_stream, claimed):
    target = "Kinesis_20131202.PutRecord"
    body = put_body(sig_stream, b"claimed")
    headers = botocore_signed(sigv4_server, target, body, {"X-Amz-Content-SHA256": claimed})
    assert wire_error(*send(sigv4_server, target, body, headers)[::2]) == ("InvalidSignatureException", MISMATCH)
    assert stored_data(signed, sig_stream) == []


@needs_own_server
def test_upper_case_hash_of_the_body_is_refused(sigv4_server):
    target = "Kinesis_20131202.ListStreams"
    headers = botocore_signed(
        sigv4_server, target, b"{}", {"X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest().upper()}
    )
    assert wire_error(*send(sigv4_server, target, b"{}", headers)[::2]) == ("InvalidSignatureException", MISMATCH)


# 2. headers that must be signed


@needs_own_server
def test_host_must_be_signed(sigv4_server):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}", signed=["content-type", "x-amz-date", "x-amz-target"])
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == ("InvalidSignatureException", HOST_NOT_SIGNED)


@needs_own_server
@pytest.mark.parametrize("empty", ["SignedHeaders=;", "SignedHeaders="])
def test_empty_signed_headers_lack_host(sigv4_server, empty):
    """AWS answers an empty SignedHeaders with the host message, not as incomplete (NetSPI/AWSSigner#3)."""
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}")
    headers["authorization"] = headers["authorization"].replace(
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target", empty)
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == ("InvalidSignatureException", HOST_NOT_SIGNED)


@needs_own_server
def test_replayed_signature_with_unsigned_target_cannot_delete(sigv4_server, signed, sig_stream):
    describe = "Kinesis_20131202.DescribeStreamSummary"
    body = json.dumps({"StreamName": sig_stream}).encode()
    captured = hand_signed(sigv4_server, describe, body, signed=["content-type", "host", "x-amz-date"])
    refusal = ("InvalidSignatureException", not_signed("X-Amz-Target"))
    assert wire_error(*send(sigv4_server, describe, body, captured)[::2]) == refusal
    replay = dict(captured, **{"x-amz-target": "Kinesis_20131202.DeleteStream"})
    assert wire_error(*send(sigv4_server, "Kinesis_20131202.DeleteStream", body, replay)[::2]) == refusal
    # The client has no retries; the tests before may have spent the account's 20 DescribeStreamSummary calls a second.
    assert kwire.status_now(signed, sig_stream) == "ACTIVE"


@needs_own_server
def test_x_amz_date_must_be_signed(sigv4_server):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}", signed=["content-type", "host", "x-amz-target"])
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == (
        "InvalidSignatureException",
        not_signed("X-Amz-Date"),
    )


@needs_own_server
def test_date_header_in_place_of_x_amz_date_must_be_signed(sigv4_server):
    t = "Kinesis_20131202.ListStreams"
    ok = hand_signed(sigv4_server, t, b"{}", date_header=True)
    status, _h, body = send(sigv4_server, t, b"{}", ok)
    assert status == 200, body
    unsigned = hand_signed(sigv4_server, t, b"{}", date_header=True, signed=["content-type", "host", "x-amz-target"])
    assert wire_error(*send(sigv4_server, t, b"{}", unsigned)[::2]) == ("InvalidSignatureException", not_signed("Date"))


@needs_own_server
@pytest.mark.parametrize("name,display", [("x-amz-security-token", "X-Amz-Security-Token"),
                                          ("x-amz-content-sha256", "X-Amz-Content-Sha256"),
                                          ("x-amz-anything", "X-Amz-Anything")])
def test_every_x_amz_header_sent_must_be_signed(sigv4_server, name, display):
    t = "Kinesis_20131202.ListStreams"
    value = hashlib.sha256(b"{}").hexdigest()
    headers = hand_signed(sigv4_server, t, b"{}", extra={name: value},
                          signed=["content-type", "host", "x-amz-date", "x-amz-target"])
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == ("InvalidSignatureException", not_signed(display))


@needs_own_server
def test_temporary_credentials_through_boto3(sigv4_server):
    """boto3 signs X-Amz-Security-Token; ktop's credentials file does not check the token."""
    import boto3
    import botocore.config

    client = boto3.session.Session().client(
        "kinesis", endpoint_url=sigv4_server.endpoint, region_name="us-east-1",
        aws_access_key_id=kwire.ACCESS_KEY, aws_secret_access_key=kwire.SECRET_KEY, aws_session_token="TOKEN123",
        config=botocore.config.Config(retries={"total_max_attempts": 8, "mode": "standard"}))
    assert "StreamNames" in client.list_streams()  # retries absorb ListStreams throttling, not signature errors


# 3. the credential scope


@needs_own_server
@pytest.mark.parametrize("fields,message", [
    ({"scope_date": "20200101"}, SCOPE_DATE),
    ({"region": "nowhere"}, SCOPE_REGION),
    ({"region": "US-EAST-1"}, SCOPE_REGION),
    ({"service": "s3"}, SCOPE_SERVICE),
    ({"terminator": "xyz"}, "Credential should be scoped with a valid terminator: 'aws4_request', not 'xyz'. "),
    ({"scope_date": "20200101", "region": "nowhere", "service": "s3", "terminator": "xyz"},
     SCOPE_REGION + SCOPE_SERVICE + "Credential should be scoped with a valid terminator: 'aws4_request', not 'xyz'. "
     + SCOPE_DATE),
])
def test_credential_scope_is_checked(sigv4_server, fields, message):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}", **fields)
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == ("InvalidSignatureException", message)


@needs_own_server
def test_scope_date_is_the_day_of_the_request_time(sigv4_server):
    """Yesterday's scope with today's X-Amz-Date is refused even though both are within the window."""
    t = "Kinesis_20131202.ListStreams"
    now = dt.datetime.now(dt.timezone.utc)
    yesterday = (now - dt.timedelta(days=1)).strftime("%Y%m%d")
    headers = hand_signed(sigv4_server, t, b"{}", when=now, scope_date=yesterday)
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == ("InvalidSignatureException", SCOPE_DATE)


@needs_own_server
def test_another_real_region_is_served_by_its_own_engine(sigv4_server, signed, sig_stream):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}", region="eu-west-3")
    status, _h, body = send(sigv4_server, t, b"{}", headers)
    assert status == 200, body
    assert sig_stream not in json.loads(body)["StreamNames"]


# 4. without verification: complete but unchecked


def test_unverified_server_accepts_any_scope(ktop_server):
    if ktop_server is None:
        pytest.skip("KTOP_ENDPOINT is set: this checks ktop's own permissive mode")
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(ktop_server, t, b"{}", scope_date="20200101", region="nowhere", service="s3",
                          terminator="xyz", signed=["x-amz-date"])
    headers["authorization"] = headers["authorization"].rsplit("Signature=", 1)[0] + "Signature=0"
    status, _h, body = send(ktop_server, t, b"{}", headers)
    assert status == 200, body
    headers["authorization"] = headers["authorization"].replace("Signature=0", "")
    assert wire_error(*send(ktop_server, t, b"{}", headers)[::2])[0] == "IncompleteSignatureException"


# 5. hostile input: always a Kinesis error, never a dead server


def send_raw_headers(server, target, body, header_pairs):
    """Sends header pairs exactly (duplicates, bytes) with http.client."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in header_pairs:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@needs_own_server
@pytest.mark.parametrize(
    "amz_date", ["20261330T120000Z", "20261130T250000Z", "999991130T120000Z", "2026-11-30T12:00:00Z", "", "\u00e9" * 16]
)
def test_malformed_x_amz_date_is_incomplete_signature(sigv4_server, amz_date):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}")
    pairs = [(k, v) for k, v in headers.items() if k != "x-amz-date"]
    pairs.append(("X-Amz-Date", amz_date.encode("latin-1")))
    status, body = send_raw_headers(sigv4_server, t, b"{}", pairs)
    if status == 400 and amz_date == "":
        # An empty header may be dropped on the way: then the date is missing altogether.
        assert wire_error(status, body)[0] == "IncompleteSignatureException"
        return
    kind, message = wire_error(status, body)
    assert kind == "IncompleteSignatureException"
    assert message.startswith("Date must be in ISO-8601 'basic format'. Got "), message


@needs_own_server
@pytest.mark.parametrize("date", ["Mon, 30 Nov 9223372036854775807 12:00:00 GMT",
                                  "Mon, 30 Nov 99999999999999999999999 12:00:00 GMT",
                                  "Mon, 30 Nov -9223372036854775808 12:00:00 GMT",
                                  "Mon, 99 Nov 2026 12:00:00 GMT", "Mon, 30 Nov 2026 99999999999999999999:00:00 GMT"])
def test_absurd_date_header_is_refused_and_server_survives(sigv4_server, date):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}", date_header=True)
    headers["date"] = date
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2])[0] == "IncompleteSignatureException"
    assert_serving(sigv4_server)


@needs_own_server
def test_non_ascii_and_duplicate_headers_are_refused(sigv4_server):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}")
    base = list(headers.items())
    # A second, different X-Amz-Target: both copies are in the canonical request.
    status, body = send_raw_headers(sigv4_server, t, b"{}", base + [("X-Amz-Target", "Kinesis_20131202.DeleteStream")])
    assert wire_error(status, body) == ("InvalidSignatureException", MISMATCH)
    # Latin-1 bytes in an x-amz header the signature does not cover.
    status, body = send_raw_headers(
        sigv4_server, t, b"{}", base + [("X-Amz-Foo", "caf\u00e9 \u00ff".encode("latin-1"))]
    )
    assert wire_error(status, body) == ("InvalidSignatureException", not_signed("X-Amz-Foo"))
    # Non-ASCII inside the Authorization header itself.
    auth = headers["authorization"].replace("us-east-1", "\u00fc\u00df-east-1")
    pairs = [(k, v) for k, v in base if k != "authorization"] + [("Authorization", auth.encode("latin-1"))]
    status, body = send_raw_headers(sigv4_server, t, b"{}", pairs)
    assert wire_error(status, body) == ("InvalidSignatureException", SCOPE_REGION)
    assert_serving(sigv4_server)


@needs_own_server
def test_huge_signed_headers_list_is_refused(sigv4_server):
    t = "Kinesis_20131202.ListStreams"
    headers = hand_signed(sigv4_server, t, b"{}")
    many = ";".join(f"h{i}" for i in range(4000))
    headers["authorization"] = headers["authorization"].replace(
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target",
        f"SignedHeaders=content-type;host;x-amz-date;x-amz-target;{many}")
    assert wire_error(*send(sigv4_server, t, b"{}", headers)[::2]) == ("InvalidSignatureException", MISMATCH)
    assert_serving(sigv4_server)
