"""Shared helpers for the ktop wire-compatibility suite.

Everything here is plain Python (no pytest fixtures) so that conftest.py and the
test modules that start their own server (test_sigv4.py) can share it.

Facts quoted from /work/shared/KINESIS.md are marked with their section.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import botocore.config
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

HASH_SPACE = 2**128  # KINESIS.md §4
MAX_HASH = HASH_SPACE - 1

REPO_ROOT = Path(__file__).resolve().parents[2]

ALL_METRICS = {
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
}


# --------------------------------------------------------------------------
# names, ARNs, hash ranges, sequence numbers


def unique_name(prefix: str = "wire") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def expected_ranges(n: int) -> list[tuple[int, int]]:
    """Hash ranges of a new N-shard stream (KINESIS.md §4): step = floor(2^128/N),
    shard i = [i*step, (i+1)*step - 1], last shard ends at 2^128 - 1."""
    step = HASH_SPACE // n
    ranges = []
    for i in range(n):
        start = i * step
        end = MAX_HASH if i == n - 1 else (i + 1) * step - 1
        ranges.append((start, end))
    return ranges


def md5_hash_key(partition_key: str) -> int:
    """MD5 of the UTF-8 partition key as an unsigned 128-bit big-endian integer (§4)."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def shard_range(shard: dict) -> tuple[int, int]:
    r = shard["HashKeyRange"]
    return int(r["StartingHashKey"]), int(r["EndingHashKey"])


def shard_for_hash(shards: list[dict], hash_key: int) -> str:
    """The OPEN shard whose range contains hash_key."""
    hits = [
        s["ShardId"]
        for s in shards
        if "EndingSequenceNumber" not in s["SequenceNumberRange"]
        and shard_range(s)[0] <= hash_key <= shard_range(s)[1]
    ]
    assert len(hits) == 1, f"expected exactly one open shard for {hash_key}, got {hits}"
    return hits[0]


def seq_version(seq: str) -> int:
    """Bits 184-187 of a v2 sequence number hold the version, 2 (§5, KCL-SEQ)."""
    return (int(seq) >> 184) & 0xF


def seq_shard_index(seq: str) -> int:
    """Bits 4-35 of a v2 sequence number hold the shard index (§5, KCL-SEQ)."""
    return (int(seq) >> 4) & 0xFFFFFFFF


def assert_v2_sequence(seq: str, shard: str | None = None) -> None:
    assert isinstance(seq, str) and seq.isdigit(), seq
    assert len(seq) == 56, f"sequence number {seq} has {len(seq)} digits, expected 56"
    assert seq_version(seq) == 2, f"sequence number {seq} does not encode version 2"
    if shard is not None:
        assert shard_id(seq_shard_index(seq)) == shard, (
            f"sequence number {seq} encodes shard index {seq_shard_index(seq)}, expected {shard}"
        )


# --------------------------------------------------------------------------
# errors


def error_of(exc: ClientError) -> tuple[str, str, int]:
    err = exc.response.get("Error", {})
    return (
        err.get("Code", ""),
        err.get("Message", ""),
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0),
    )


def expect_error(call, code, message=None, status=400, message_startswith=None):
    """Run call(); it must raise ClientError with the given code (str or set of
    codes), HTTP status and (optionally) exact message. Returns (code, message)."""
    try:
        call()
    except ClientError as e:
        got_code, got_msg, got_status = error_of(e)
        codes = {code} if isinstance(code, str) else set(code)
        assert got_code in codes, f"expected {codes}, got {got_code}: {got_msg}"
        if status is not None:
            assert got_status == status, f"expected HTTP {status}, got {got_status} ({got_code})"
        if message is not None:
            assert got_msg == message, f"message mismatch:\n  got:      {got_msg!r}\n  expected: {message!r}"
        if message_startswith is not None:
            assert got_msg.startswith(message_startswith), (
                f"message mismatch:\n  got:      {got_msg!r}\n  expected to start with: {message_startswith!r}"
            )
        return got_code, got_msg
    raise AssertionError(f"expected {code}, but the call succeeded")


# --------------------------------------------------------------------------
# clients and polling


def make_client(endpoint: str, retries: dict | None = None, **config):
    cfg = botocore.config.Config(
        retries=retries if retries is not None else {"total_max_attempts": 5, "mode": "legacy"},
        **config,
    )
    return boto3.session.Session().client(
        "kinesis",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=cfg,
    )


def wait_stream_status(client, name: str, status: str = "ACTIVE", timeout: float = 10.0) -> dict:
    """Poll DescribeStreamSummary every 0.05 s until StreamStatus == status."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        except ClientError as e:
            # A client without retries, throttled by the account's 20 calls a second: poll again, as boto3's
            # waiters do.
            if error_of(e)[0] != "LimitExceededException":
                raise
            summary = None
        if summary is not None:
            last = summary["StreamStatus"]
            if last == status:
                return summary
        if time.monotonic() > deadline:
            raise AssertionError(f"stream {name} still {last} after {timeout}s (wanted {status})")
        time.sleep(0.05)


def wait_stream_gone(client, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.describe_stream_summary(StreamName=name)
        except ClientError as e:
            if error_of(e)[0] == "ResourceNotFoundException":
                return
            raise
        if time.monotonic() > deadline:
            raise AssertionError(f"stream {name} still exists after {timeout}s")
        time.sleep(0.05)


def status_now(client_noretry, name: str) -> str:
    """Current StreamStatus, read quickly: a throttled describe is retried at
    once (a few times) instead of with boto3's backoff, so that a short-lived
    state (CREATING/UPDATING last ~0.5 s) is still observable."""
    for _ in range(10):
        try:
            return client_noretry.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
        except ClientError as e:
            if error_of(e)[0] != "LimitExceededException":
                raise
            time.sleep(0.02)
    raise AssertionError("DescribeStreamSummary kept being throttled")


def wait_consumer_status(client, consumer_arn: str, status: str = "ACTIVE", timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        desc = client.describe_stream_consumer(ConsumerARN=consumer_arn)["ConsumerDescription"]
        if desc["ConsumerStatus"] == status:
            return desc
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer {consumer_arn} still {desc['ConsumerStatus']} after {timeout}s")
        time.sleep(0.05)


def read_shard_fully(client, stream: str, shard: str, iterator_type: str = "TRIM_HORIZON", max_calls: int = 200):
    """Read a shard from iterator_type until caught up (open shard: empty page
    with MillisBehindLatest 0) or the end (closed shard: no NextShardIterator).
    Returns (records, last_response)."""
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=iterator_type)[
        "ShardIterator"
    ]
    records = []
    last = None
    for _ in range(max_calls):
        last = client.get_records(ShardIterator=it, Limit=10000)
        records.extend(last["Records"])
        it = last.get("NextShardIterator")
        if it is None:
            return records, last
        if not last["Records"] and last.get("MillisBehindLatest", 0) == 0:
            return records, last
    raise AssertionError(f"shard {shard} not drained after {max_calls} GetRecords calls")


# --------------------------------------------------------------------------
# server process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


_BINARY_CACHE: list[str] = []


def find_ktop_binary() -> str:
    """$KTOP_BIN, else `swift build --product ktop` in the repo root and the
    binary in `swift build --show-bin-path`."""
    if os.environ.get("KTOP_BIN"):
        return os.environ["KTOP_BIN"]
    if _BINARY_CACHE:
        return _BINARY_CACHE[0]
    swift = shutil.which("swift")
    if swift is None:
        raise RuntimeError("swift is not on PATH and KTOP_BIN is not set")
    build = subprocess.run(
        [swift, "build", "--product", "ktop"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if build.returncode != 0:
        raise RuntimeError(
            f"swift build --product ktop failed ({build.returncode}):\n{build.stdout[-6000:]}\n{build.stderr[-6000:]}"
        )
    bin_path = subprocess.run(
        [swift, "build", "--show-bin-path"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    ).stdout.strip()
    binary = os.path.join(bin_path, "ktop")
    if not os.path.exists(binary):
        raise RuntimeError(f"built ktop not found at {binary}")
    _BINARY_CACHE.append(binary)
    return binary


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process has not gone 10 s later: a test never waits on a hung server."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class ServerProcess:
    """A `ktop serve` subprocess on a free loopback port."""

    def __init__(self, extra_args: list[str], startup_timeout: float = 30.0, preexec_fn=None,
                 env: dict[str, str] | None = None):
        self.binary = find_ktop_binary()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._stderr = tempfile.NamedTemporaryFile(prefix="ktop-stderr-", suffix=".log", delete=False)
        self._stdout = tempfile.NamedTemporaryFile(prefix="ktop-stdout-", suffix=".log", delete=False)
        args = [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), *extra_args]
        self.args = args
        self.proc = subprocess.Popen(args, stdout=self._stdout, stderr=self._stderr, stdin=subprocess.DEVNULL,
                                     preexec_fn=preexec_fn, env=env)
        deadline = time.monotonic() + startup_timeout
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ktop exited with {self.proc.returncode} during startup: {' '.join(args)}\n"
                    f"stderr:\n{self.stderr_text()}\nstdout:\n{self.stdout_text()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"ktop did not accept connections on port {self.port} within {startup_timeout}s: "
                    f"{' '.join(args)}\nstderr:\n{self.stderr_text()}"
                )
            time.sleep(0.1)

    def stderr_text(self) -> str:
        try:
            return Path(self._stderr.name).read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def stdout_text(self) -> str:
        try:
            return Path(self._stdout.name).read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        stop_process(self.proc)
        for f in (self._stderr, self._stdout):
            try:
                f.close()
                os.unlink(f.name)
            except OSError:
                pass


# --------------------------------------------------------------------------
# SigV4 (KINESIS.md §10), written independently of botocore so that the tests
# can sign with any clock and any secret.


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sigv4_signature(
    *,
    secret: str,
    amz_date: str,
    region: str,
    service: str,
    method: str,
    path: str,
    headers: dict[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    canonical_headers = "".join(
        f"{h}:{' '.join(headers[h].strip().split())}\n" for h in sorted(signed_headers)
    )
    canonical_request = "\n".join(
        [
            method,
            path,
            "",
            canonical_headers,
            ";".join(sorted(signed_headers)),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    k = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    k = _hmac(k, region)
    k = _hmac(k, service)
    k = _hmac(k, "aws4_request")
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


def signed_headers_for(
    *,
    host: str,
    target: str | None,
    body: bytes,
    content_type: str = "application/x-amz-json-1.1",
    access_key: str = ACCESS_KEY,
    secret: str = SECRET_KEY,
    when: _dt.datetime | None = None,
    region: str = REGION,
) -> dict[str, str]:
    """Headers for a SigV4-signed Kinesis request made at time `when` (UTC). The signature covers the body and
    the content type (JSON 1.1 by default, or CBOR); without a target there is no X-Amz-Target header."""
    when = when or _dt.datetime.now(_dt.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": content_type, "host": host, "x-amz-date": amz_date}
    if target is not None:
        headers["x-amz-target"] = target
    signed = sorted(headers)
    sig = sigv4_signature(
        secret=secret,
        amz_date=amz_date,
        region=region,
        service="kinesis",
        method="POST",
        path="/",
        headers=headers,
        signed_headers=signed,
        body=body,
    )
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{amz_date[:8]}/{region}/kinesis/aws4_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return headers


def raw_post(endpoint: str, target: str | None, body: bytes, headers: dict[str, str] | None = None,
             sign: bool = True, timeout: float = 10.0, method: str = "POST", retry_throttled: bool = True):
    """Send one HTTP request with http.client; returns (status, headers dict (lower-case), body bytes).

    Like the AWS SDKs, it retries (a few times, with a short pause) when the
    server answers LimitExceededException: the control-plane quotas of
    KINESIS.md §3 are per second, and these raw tests are not about them.
    """
    for attempt in range(8):
        status, hdrs, data = _raw_post_once(endpoint, target, body, headers, sign, timeout, method)
        if not (retry_throttled and status == 400 and b"LimitExceededException" in data):
            break
        time.sleep(0.25 * (attempt + 1))
    return status, hdrs, data


def _raw_post_once(endpoint, target, body, headers, sign, timeout, method):
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(endpoint)
    host = u.netloc
    hdrs: dict[str, str] = {}
    if sign and target is not None:
        hdrs.update(signed_headers_for(host=host, target=target, body=body))
    else:
        hdrs["content-type"] = "application/x-amz-json-1.1"
        if target is not None:
            hdrs["x-amz-target"] = target
    if headers:
        for k, v in headers.items():
            if v is None:
                hdrs.pop(k.lower(), None)
            else:
                hdrs[k.lower()] = v
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, "/", body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()
