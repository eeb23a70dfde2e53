"""TLS on `ktop serve` (--tls-self-signed, --tls-cert/--tls-key): HTTP/1.1 (boto3) and HTTP/2
(ALPN h2, as the Java SDK v2 uses for SubscribeToShard) on the same https port, a clear and
quick failure for a plain-HTTP client there, and one-line errors for bad certificate files."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import time

import boto3
import botocore.session
import httpx
import kwire
import pytest
from botocore.config import Config
from h2wire import H2Connection, T

CERT_LINE = re.compile(r"TLS certificate for localhost and 127\.0\.0\.1 \(self-signed, [^)]*\): (\S+)")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tls-tmp")
    server = kwire.ServerProcess(["--tls-self-signed", "--limits", "off"], env={**os.environ, "TMPDIR": str(tmp)})
    server.tmp = str(tmp)
    deadline = time.monotonic() + 10
    while not (m := CERT_LINE.search(server.stderr_text())):
        assert time.monotonic() < deadline, server.stderr_text()
        time.sleep(0.05)
    server.cert = m.group(1)
    server.https = f"https://127.0.0.1:{server.port}"
    yield server
    server.stop()


def test_self_signed_banner_says_where_and_how_to_trust(tls_server):
    text = tls_server.stderr_text()
    assert tls_server.cert == os.path.join(tls_server.tmp, "ktop-tls", "ktop-localhost.crt")
    assert "made now" in text
    assert f"AWS_CA_BUNDLE={tls_server.cert}" in text and "keytool -importcert" in text
    assert f"Kinesis API on https://127.0.0.1:{tls_server.port}" in text


def test_boto3_http11_over_tls(tls_server):
    client = boto3.client("kinesis", endpoint_url=tls_server.https, region_name=kwire.REGION,
                          aws_access_key_id=kwire.ACCESS_KEY, aws_secret_access_key=kwire.SECRET_KEY,
                          verify=tls_server.cert, config=Config(retries={"max_attempts": 2}))
    name = kwire.unique_name("tls")
    client.create_stream(StreamName=name, ShardCount=1)
    kwire.wait_stream_status(client, name)
    put = client.put_record(StreamName=name, Data=b"over tls", PartitionKey="k")
    it = client.get_shard_iterator(StreamName=name, ShardId=put["ShardId"],
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in client.get_records(ShardIterator=it)["Records"]] == [b"over tls"]


def test_h2_by_alpn_over_tls(tls_server):
    context = ssl.create_default_context(cafile=tls_server.cert)
    context.set_alpn_protocols(["h2", "http/1.1"])
    conn = H2Connection(tls_server.port, tls=context)  # asserts ALPN chose h2
    try:
        status, body = conn.call("ListStreams")
        assert status == 200 and "StreamNames" in body
        sids = [conn.start(T + "ListStreams", b"{}") for _ in range(20)]
        assert [r.status for r in conn.wait(sids)] == [200] * 20
    finally:
        conn.close()
    host = f"127.0.0.1:{tls_server.port}"
    with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=tls_server.cert), timeout=10) as client:
        r = client.post(tls_server.https + "/", content=b"{}",
                        headers=kwire.signed_headers_for(host=host, target=T + "ListStreams", body=b"{}"))
        assert r.http_version == "HTTP/2" and r.status_code == 200, r.text


ALL_OPERATIONS = sorted(botocore.session.get_session().get_service_model("kinesis").operation_names)


@pytest.mark.parametrize("op", ALL_OPERATIONS)
def test_every_operation_answers_over_tls_in_h2_and_http11_alike(op, tls_server):
    """`{}` to each of the 39 operations over TLS: h2 (by ALPN) and HTTP/1.1 give the same status and error
    (the three that succeed on `{}` answer 200 with the same members)."""
    assert len(ALL_OPERATIONS) == 39
    context = ssl.create_default_context(cafile=tls_server.cert)
    context.set_alpn_protocols(["h2", "http/1.1"])
    host = f"127.0.0.1:{tls_server.port}"
    conn = H2Connection(tls_server.port, tls=context)
    try:
        status, body = conn.call(op, {})
    finally:
        conn.close()
    with httpx.Client(http2=False, verify=ssl.create_default_context(cafile=tls_server.cert), timeout=10) as client:
        r = client.post(tls_server.https + "/", content=b"{}",
                        headers=kwire.signed_headers_for(host=host, target=T + op, body=b"{}"))
    assert r.http_version == "HTTP/1.1"
    http11 = r.json() if r.content else {}
    assert status == r.status_code, (op, body, http11)
    assert body.keys() == http11.keys() if status == 200 else body == http11, op


def test_http11_only_alpn_client_gets_http11(tls_server):
    host = f"127.0.0.1:{tls_server.port}"
    verify = ssl.create_default_context(cafile=tls_server.cert)
    with httpx.Client(http1=True, http2=False, verify=verify, timeout=10) as client:
        r = client.post(tls_server.https + "/", content=b"{}",
                        headers=kwire.signed_headers_for(host=host, target=T + "ListStreams", body=b"{}"))
        assert r.http_version == "HTTP/1.1" and r.status_code == 200


def test_plain_http_on_the_tls_port_fails_fast_and_says_why(tls_server):
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=3) as sock:
        body = b"{}"
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert time.monotonic() - start < 3
    assert data.startswith(b"HTTP/1.1 400 ") and b"speaks TLS" in data, data
    # h2c prior knowledge on the TLS port: the same clear answer, not a hang.
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=3) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert b"speaks TLS" in data


def test_silent_client_on_the_tls_port_is_closed(tls_server):
    # The same TMPDIR as tls_server: its certificate is reused, not made again.
    server = kwire.ServerProcess(["--tls-self-signed", "--header-timeout", "1"],
                                 env={**os.environ, "TMPDIR": tls_server.tmp})
    try:
        deadline = time.monotonic() + 10
        while not (m := CERT_LINE.search(server.stderr_text())):
            assert time.monotonic() < deadline, server.stderr_text()
            time.sleep(0.05)
        assert m.group(1) == tls_server.cert and "(self-signed, reused)" in server.stderr_text()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            start = time.monotonic()
            assert sock.recv(10) == b""
            assert time.monotonic() - start < 4
        # A TLS handshake that stops half way is closed too.
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            start = time.monotonic()
            sock.sendall(b"\x16\x03\x01\x00\x50")  # a ClientHello record header, then nothing
            try:
                assert sock.recv(10) == b""
            except ConnectionResetError:
                pass
            assert time.monotonic() - start < 4
    finally:
        server.stop()


def run_ktop(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([kwire.find_ktop_binary(), "serve", "--port", "0", *args], capture_output=True,
                          text=True, timeout=20, stdin=subprocess.DEVNULL, check=False)


def test_missing_certificate_file_is_one_line_and_nonzero(tmp_path):
    r = run_ktop(["--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(tmp_path / "nope.key")])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--tls-cert" in lines[0] and "nope.crt" in lines[0], r.stderr


def test_garbage_and_mismatched_files_are_one_line_errors(tmp_path):
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    r = run_ktop(["--tls-cert", str(tmp_path / "junk.pem"), "--tls-key", str(tmp_path / "junk.pem")])
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "--tls-cert" in r.stderr
    for name in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(tmp_path / f"{name}.key"), "-out", str(tmp_path / f"{name}.crt"),
                        "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=20)
    r = run_ktop(["--tls-cert", str(tmp_path / "a.crt"), "--tls-key", str(tmp_path / "b.key")])
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "does not fit" in r.stderr
    r = run_ktop(["--tls-cert", str(tmp_path / "a.crt")])
    assert r.returncode != 0 and "--tls-key" in r.stderr


def test_given_certificate_serves(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem"), "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=20)
    server = kwire.ServerProcess(["--tls-cert", str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")])
    try:
        host = f"127.0.0.1:{server.port}"
        with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=str(tmp_path / "c.pem")),
                          timeout=10) as client:
            r = client.post(f"https://{host}/", content=b"{}",
                            headers=kwire.signed_headers_for(host=host, target=T + "ListStreams", body=b"{}"))
            assert r.status_code == 200 and r.http_version == "HTTP/2"
            assert json.loads(r.content)["StreamNames"] == []
    finally:
        server.stop()


def test_listen_server_takes_the_tls_flags(tmp_path):
    """`ktop --listen` shares serve's TLS flags: h2 by ALPN on its https port, h2c on a plain one."""
    port = kwire.free_port()
    proc = subprocess.Popen(
        [kwire.find_ktop_binary(), "--headless", "--duration", "30", "--listen", f"127.0.0.1:{port}",
         "--tls-self-signed"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        deadline = time.monotonic() + 20
        while not kwire.port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, "ktop --listen did not start"
            time.sleep(0.1)
        cert = os.path.join(str(tmp_path), "ktop-tls", "ktop-localhost.crt")
        context = ssl.create_default_context(cafile=cert)
        context.set_alpn_protocols(["h2", "http/1.1"])
        conn = H2Connection(port, tls=context)
        try:
            status, body = conn.call("ListStreams")
            assert status == 200 and "StreamNames" in body
        finally:
            conn.close()
    finally:
        kwire.stop_process(proc)
    r = subprocess.run([kwire.find_ktop_binary(), "--headless", "--duration", "1", "--tls-self-signed"],
                       capture_output=True, text=True, timeout=20, check=False)
    assert r.returncode != 0 and "--listen" in r.stderr.strip().splitlines()[0], r.stderr


def test_listen_plain_port_speaks_h2c():
    port = kwire.free_port()
    proc = subprocess.Popen(
        [kwire.find_ktop_binary(), "--headless", "--duration", "30", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not kwire.port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, "ktop --listen did not start"
            time.sleep(0.1)
        conn = H2Connection(port)
        try:
            assert conn.call("ListStreams")[0] == 200
        finally:
            conn.close()
    finally:
        kwire.stop_process(proc)
