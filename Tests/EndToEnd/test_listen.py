"""`ktop --listen`: the user's own SDK app writes to the engine the run shows."""

from __future__ import annotations

import json
import subprocess
import time

import kwire  # noqa: E402


def start_listening(*args: str) -> tuple[int, subprocess.Popen]:
    """A headless run with --listen on a free port, once the port accepts connections."""
    port = kwire.free_port()
    proc = subprocess.Popen(
        [kwire.find_ktop_binary(), "--headless", "--listen", f"127.0.0.1:{port}", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 20
    while not kwire.port_open(port):
        assert proc.poll() is None, proc.stderr.read()
        if time.time() >= deadline:
            proc.kill()
            raise AssertionError("ktop --listen never opened its port")
        time.sleep(0.05)
    return port, proc


def test_sdk_stream_appears_in_the_headless_snapshots():
    port, proc = start_listening("--duration", "30")
    try:
        client = kwire.make_client(f"http://127.0.0.1:{port}")
        client.create_stream(StreamName="sdkapp", ShardCount=2)
        kwire.wait_stream_status(client, "sdkapp")
        for i in range(50):
            client.put_record(StreamName="sdkapp", Data=b"x" * 100, PartitionKey=f"k{i}")
        # Snapshots carry per-second rates over each ~1 s interval, so the 50
        # records show up as rates that add up to about 50 over a few lines.
        total = 0.0
        deadline = time.time() + 30
        for line in proc.stdout:
            snap = json.loads(line)
            streams = {s["name"]: s for s in snap["streams"]}
            assert "demo" in streams, "the scenario's own stream is still there"
            if "sdkapp" in streams:
                assert streams["sdkapp"]["openShards"] == 2
                total += sum(s["IncomingRecords"] for s in streams["sdkapp"]["shards"])
                if total >= 47.5:
                    break
            assert time.time() < deadline, (
                f"only {total} of the SDK's 50 records showed up in the snapshots; last: {streams.get('sdkapp')}"
            )
        assert 47.5 <= total <= 52.5
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_listen_on_a_taken_port_is_one_clear_error():
    binary = kwire.find_ktop_binary()
    port = kwire.free_port()
    first = subprocess.Popen([binary, "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not kwire.port_open(port):
            assert time.time() < deadline
            time.sleep(0.05)
        p = subprocess.run([binary, "--headless", "--listen", str(port), "--duration", "2"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0
        assert f"Cannot listen on 127.0.0.1:{port}" in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    finally:
        first.terminate()
        first.wait(timeout=10)


def test_sdk_delivery_stream_on_the_listen_port_shows_and_delivers(tmp_path):
    """Firehose on the --listen port is the run's own: a Direct PUT delivery stream created with boto3
    appears in the headless snapshots' deliveryStreams, and its records land under --s3-dir."""
    import boto3

    s3 = tmp_path / "s3"
    port, proc = start_listening("--duration", "40", "--s3-dir", str(s3))
    try:
        firehose = boto3.client(
            "firehose", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
        firehose.create_delivery_stream(
            DeliveryStreamName="sdk-fh", DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/r", "BucketARN": "arn:aws:s3:::sdk-bucket",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}})
        records = [{"Data": f"event-{i}\n".encode()} for i in range(100)]
        assert firehose.put_record_batch(DeliveryStreamName="sdk-fh", Records=records)["FailedPutCount"] == 0
        seen = None
        deadline = time.time() + 30
        for line in proc.stdout:
            snap = json.loads(line)
            rows = {d["name"]: d for d in snap.get("deliveryStreams", [])}
            if "sdk-fh" in rows and rows["sdk-fh"]["objectsDelivered"] >= 1:
                seen = rows["sdk-fh"]
                break
            assert time.time() < deadline, f"sdk-fh never delivered; last: {rows}"
        assert seen["source"] == "DirectPut" and seen["bufferSizeBytes"] == 1024 * 1024
        landed = b"".join(p.read_bytes() for p in sorted((s3 / "sdk-bucket").rglob("sdk-fh-1-*")))
        assert landed == b"".join(r["Data"] for r in records)
        # The listen port's /metrics carries Firehose's counters too.
        import urllib.request
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert 'delivery_stream="sdk-fh"' in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
