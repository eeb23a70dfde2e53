"""`ktop --listen`: the user's own SDK app writes to the engine the run shows."""

from __future__ import annotations

import json
import subprocess
import time

import kwire  # noqa: E402


def test_sdk_stream_appears_in_the_headless_snapshots():
    binary = kwire.find_ktop_binary()
    port = kwire.free_port()
    proc = subprocess.Popen(
        [binary, "--headless", "--listen", f"127.0.0.1:{port}", "--duration", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 20
        while not kwire.port_open(port):
            assert proc.poll() is None, proc.stderr.read()
            assert time.time() < deadline, "ktop --listen never opened its port"
            time.sleep(0.05)
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
