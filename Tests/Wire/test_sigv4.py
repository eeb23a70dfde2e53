"""SigV4 verification (KINESIS.md §10, §1.5): these tests start their own
`ktop serve --verify-sigv4 --credentials FILE` process."""

from __future__ import annotations

import datetime as dt
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
