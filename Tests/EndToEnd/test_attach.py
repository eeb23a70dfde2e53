"""`ktop attach`: the console on a stream that lives elsewhere.

Two real endpoints, both started here: `ktop serve` (a ktop endpoint: exact counters from
GET /ktop/v1/sample, or read through the API with --source api) and moto_server (a foreign
endpoint: its API, a reader and its CloudWatch). A boto3 producer writes to a hot key; attach's
JSON lines must show the shards, the right shard hot, the hot key on top, and a split done
through attach (--split hot --yes) with the children appearing. Nothing here reaches AWS.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import pytest

import kwire  # noqa: E402

HOT_KEY = "hot-key"


def md5_hash_key(key: str) -> int:
    return int.from_bytes(hashlib.md5(key.encode()).digest(), "big")


def shard_of(client, stream: str, key: str) -> str:
    h = md5_hash_key(key)
    for s in client.list_shards(StreamName=stream)["Shards"]:
        r = s["HashKeyRange"]
        if "EndingSequenceNumber" not in s["SequenceNumberRange"] and int(r["StartingHashKey"]) <= h <= int(
            r["EndingHashKey"]
        ):
            return s["ShardId"]
    raise AssertionError(f"no open shard holds {key}")


class Producer(threading.Thread):
    """Writes batches in which the hot key is 3 records in 4, until stopped."""

    def __init__(self, client, stream: str, batches_per_second: float = 5.0, batch: int = 40):
        super().__init__(daemon=True)
        self.client, self.stream, self.pause, self.batch = client, stream, 1 / batches_per_second, batch
        self.stopping = threading.Event()
        self.acked = 0
        self.errors: list[str] = []

    def run(self):
        i = 0
        while not self.stopping.is_set():
            records = []
            for _ in range(self.batch):
                key = HOT_KEY if i % 4 else f"cold-{i % 97}"
                records.append({"Data": b"x" * 200, "PartitionKey": key})
                i += 1
            try:
                out = self.client.put_records(StreamName=self.stream, Records=records)
                self.acked += len(records) - out.get("FailedRecordCount", 0)
            except Exception as e:  # the stream is being resharded, the server is busy: keep going
                self.errors.append(str(e))
            self.stopping.wait(self.pause)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


def attach(
    endpoint: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update({"AWS_ACCESS_KEY_ID": "ktop", "AWS_SECRET_ACCESS_KEY": "ktop", "AWS_REGION": kwire.REGION})
    base.update(env or {})
    return subprocess.run([kwire.find_ktop_binary(), "attach", "--endpoint", endpoint, *args],
                          capture_output=True, text=True, timeout=timeout, env=base)


def lines_of(done: subprocess.CompletedProcess) -> list[dict]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def stream_in(line: dict, name: str) -> dict:
    return next(s for s in line["streams"] if s["name"] == name)


def check_hot_shard_then_split(lines: list[dict], stream: str, hot_shard: str, kind: str):
    """The story every endpoint must tell: the hot shard and key, then the split and its children."""
    assert lines, "attach printed nothing"
    assert all(line["source"]["kind"] == kind for line in lines), {line["source"]["kind"] for line in lines}
    busy = [stream_in(line, stream) for line in lines]
    busy = [s for s in busy if sum(sh["IncomingRecords"] for sh in s["shards"]) > 0]
    assert busy, "no line showed traffic"
    # Before the split: the hot key's shard carries the most records and the hot key tops it.
    before = [s for s in busy if s["openShards"] == 2]
    assert before, "no line before the split showed traffic"
    for s in before[:3]:
        top = max(s["shards"], key=lambda sh: sh["IncomingRecords"])
        assert top["shardId"] == hot_shard, (top["shardId"], hot_shard)
        assert top["topKeys"] and top["topKeys"][0]["key"] == HOT_KEY, top["topKeys"]
    events = [e for line in lines for e in line.get("events", [])]
    assert any("SplitShard" in e and hot_shard in e and "accepted" in e for e in events), events
    # After: the parent is closed and two children name it as their parent.
    last = stream_in(lines[-1], stream)
    children = [sh for sh in last["shards"] if sh["parentShardId"] == hot_shard]
    assert len(children) == 2 and all(c["open"] for c in children), last["shards"]
    assert last["openShards"] == 3
    assert any(sh["shardId"] == hot_shard and not sh["open"] for sh in last["shards"])


@pytest.fixture
def ktop_serve():
    server = kwire.ServerProcess([])
    yield server
    server.stop()


@pytest.fixture
def moto_server():
    port = kwire.free_port()
    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not kwire.port_open(port):
        assert proc.poll() is None, Path(log.name).read_text()
        assert time.monotonic() < deadline, "moto_server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def make_stream(endpoint: str, name: str, shards: int = 2):
    client = kwire.make_client(endpoint)
    client.create_stream(StreamName=name, ShardCount=shards)
    kwire.wait_stream_status(client, name)
    return client


@pytest.mark.parametrize("measure,kind", [("auto", "ktop-endpoint"), ("api", "foreign-endpoint")])
def test_attach_to_ktop_serve_shows_the_hot_shard_and_splits_it(ktop_serve, measure, kind):
    client = make_stream(ktop_serve.endpoint, "orders")
    hot = shard_of(client, "orders", HOT_KEY)
    producer = Producer(client, "orders")
    producer.start()
    try:
        done = attach(ktop_serve.endpoint, "--stream", "orders", "--headless", "--duration", "14", "--source", measure,
                      "--split", "hot", "--yes")
    finally:
        producer.stop()
    lines = lines_of(done)
    check_hot_shard_then_split(lines, "orders", hot, kind)
    figures = stream_in(lines[-1], "orders")["source"]["figures"]
    if kind == "ktop-endpoint":
        assert "throttles" in figures, figures  # exact counters, throttles included
    else:
        assert "throttles" not in figures or "CloudWatch" in figures["throttles"], figures
        assert "GetRecords" in figures["incoming"], figures


def test_attach_to_ktop_serve_counts_exactly_what_was_acked(ktop_serve):
    """The ktop endpoint's counters are the engine's: the records summed over the lines equal the acks."""
    client = make_stream(ktop_serve.endpoint, "exact", shards=1)
    proc = subprocess.Popen(
        [
            kwire.find_ktop_binary(),
            "attach",
            "--endpoint",
            ktop_serve.endpoint,
            "--stream",
            "exact",
            "--headless",
            "--duration",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
    )
    first = json.loads(proc.stdout.readline())  # attached: from here on every record counts
    assert first["source"]["kind"] == "ktop-endpoint"
    for i in range(3):
        client.put_records(StreamName="exact", Records=[{"Data": b"abc", "PartitionKey": f"k{j}"} for j in range(100)])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = [first] + [json.loads(line) for line in out.splitlines() if line.strip()]
    # Each line's rates are per second over a ~1 s interval; counts are rates x interval, so allow rounding.
    total = sum(stream_in(line, "exact")["shards"][0]["IncomingRecords"] for line in lines)
    assert 285 <= total <= 315, total


def test_attach_to_moto_shows_the_hot_shard_and_splits_it(moto_server):
    client = make_stream(moto_server, "clicks")
    hot = shard_of(client, "clicks", HOT_KEY)
    producer = Producer(client, "clicks", batches_per_second=4, batch=25)
    producer.start()
    try:
        done = attach(moto_server, "--stream", "clicks", "--headless", "--duration", "14", "--split", "hot", "--yes",
                      "--cloudwatch", "off")
    finally:
        producer.stop()
    check_hot_shard_then_split(lines_of(done), "clicks", hot, "foreign-endpoint")


def test_cloudwatch_shard_metrics_from_moto_appear_with_their_source(moto_server):
    client = make_stream(moto_server, "metered")
    shards = [s["ShardId"] for s in client.list_shards(StreamName="metered")["Shards"]]
    cw = boto3.client("cloudwatch", endpoint_url=moto_server, region_name=kwire.REGION,
                      aws_access_key_id="ktop", aws_secret_access_key="ktop")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0) - datetime.timedelta(minutes=1)
    for i, shard in enumerate(shards):
        dims = [{"Name": "StreamName", "Value": "metered"}, {"Name": "ShardId", "Value": shard}]
        cw.put_metric_data(Namespace="AWS/Kinesis", MetricData=[
            {"MetricName": "WriteProvisionedThroughputExceeded", "Dimensions": dims, "Timestamp": now, "Value": 7 + i},
            {"MetricName": "IncomingBytes", "Dimensions": dims, "Timestamp": now, "Value": 1000 * (i + 1)},
        ])
    lines = lines_of(attach(moto_server, "--stream", "metered", "--headless", "--duration", "4"))
    last = stream_in(lines[-1], "metered")
    assert "CloudWatch" in last["source"]["figures"].get("cloudWatch", ""), last["source"]
    by_id = {s["shardId"]: s for s in last["shards"]}
    for i, shard in enumerate(shards):
        cloud = by_id[shard].get("cloudWatch")
        assert cloud, f"{shard} has no CloudWatch figures: {by_id[shard]}"
        assert cloud["values"]["WriteProvisionedThroughputExceeded"] == 7 + i
        assert cloud["values"]["IncomingBytes"] == 1000 * (i + 1)
        assert cloud["periodSeconds"] == 60


def test_headless_without_a_stream_lists_the_streams(ktop_serve):
    make_stream(ktop_serve.endpoint, "alpha", shards=1)
    make_stream(ktop_serve.endpoint, "beta", shards=1)
    done = attach(ktop_serve.endpoint, "--headless", "--duration", "1")
    assert done.returncode != 0
    assert "--stream" in done.stderr and "alpha" in done.stderr and "beta" in done.stderr, done.stderr


def test_a_missing_stream_is_one_clear_line(ktop_serve):
    done = attach(ktop_serve.endpoint, "--stream", "nope", "--headless", "--duration", "1")
    assert done.returncode != 0
    assert "nope" in done.stderr and "ResourceNotFoundException" in done.stderr, done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr


def test_an_unreachable_endpoint_is_reported_and_retried_not_a_crash():
    port = kwire.free_port()  # nothing listens there
    done = attach(f"http://127.0.0.1:{port}", "--stream", "s", "--headless", "--duration", "1", timeout=60)
    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr, done.stderr


@pytest.mark.parametrize("args,message", [
    (["--split", "hot"], "--yes"),
    (["--split", "hot", "--yes", "--read-only"], "--read-only"),
    (["--merge", "shardId-000000000000"], "two shard ids"),
    (["--split", "shardId-000000000000@340282366920938463463374607431768211456", "--yes"], "below 2^128"),
    (["--yes"], "confirms an action"),
    (["--max-reads-per-second", "0"], "between 1 and 10000"),
    (["--duration", "nan"], "--duration"),
    (["--source", "magic"], "--source"),
])
def test_bad_options_are_one_line_and_exit_64(args, message):
    done = attach("http://127.0.0.1:9", "--stream", "s", "--headless", *args)
    assert done.returncode == 64, (done.returncode, done.stderr)
    assert message in done.stderr, done.stderr


def test_action_without_headless_points_at_the_dashboard_keys():
    done = attach("http://127.0.0.1:9", "--stream", "s", "--split", "hot", "--yes")
    assert done.returncode == 64 and "press s, m or u" in done.stderr, done.stderr


class TestCredentials:
    """Where the keys come from, against a `ktop serve --verify-sigv4` that accepts one pair."""

    @pytest.fixture
    def verifying_server(self, tmp_path):
        creds = tmp_path / "accepted"
        creds.write_text("AKIDPROFILE:profile-secret\nAKIDPROCESS:process-secret\nAKIDENV:env-secret\n")
        server = kwire.ServerProcess(["--verify-sigv4", "--credentials", str(creds)])
        client = boto3.client("kinesis", endpoint_url=server.endpoint, region_name=kwire.REGION,
                              aws_access_key_id="AKIDENV", aws_secret_access_key="env-secret")
        client.create_stream(StreamName="guarded", ShardCount=1)
        kwire.wait_stream_status(client, "guarded")
        yield server
        server.stop()

    def run(self, server, tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        clean.update({"HOME": str(tmp_path), "AWS_REGION": kwire.REGION, **env})
        return subprocess.run(
            [
                kwire.find_ktop_binary(),
                "attach",
                "--endpoint",
                server.endpoint,
                "--stream",
                "guarded",
                "--headless",
                "--duration",
                "2",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean,
        )

    def test_environment(self, verifying_server, tmp_path):
        done = self.run(
            verifying_server, tmp_path, {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret"}
        )
        assert done.returncode == 0 and done.stdout.strip(), done.stderr

    def test_profile_file(self, verifying_server, tmp_path):
        (tmp_path / ".aws").mkdir()
        (tmp_path / ".aws" / "credentials").write_text(
            "[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n"
            "# the one the server accepts\n[ops]\naws_access_key_id = AKIDPROFILE\n"
            "aws_secret_access_key = profile-secret\n"
        )
        done = self.run(verifying_server, tmp_path, {}, "--profile", "ops")
        assert done.returncode == 0 and done.stdout.strip(), done.stderr
        done = self.run(verifying_server, tmp_path, {"AWS_PROFILE": "ops"})
        assert done.returncode == 0 and done.stdout.strip(), done.stderr

    def test_credential_process(self, verifying_server, tmp_path):
        script = tmp_path / "creds.sh"
        script.write_text(
            '#!/bin/sh\necho \'{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "process-secret"}\'\n'
        )
        script.chmod(0o755)
        (tmp_path / ".aws").mkdir()
        (tmp_path / ".aws" / "config").write_text(
            f"[profile sso]\ncredential_process = {script}\nregion = {kwire.REGION}\n"
        )
        done = self.run(verifying_server, tmp_path, {}, "--profile", "sso")
        assert done.returncode == 0 and done.stdout.strip(), done.stderr

    def test_no_credentials_says_where_it_looked(self, verifying_server, tmp_path):
        done = self.run(verifying_server, tmp_path, {})
        assert done.returncode != 0
        line = done.stderr.strip()
        assert line.count("\n") == 0, line
        assert "AWS_ACCESS_KEY_ID" in line and str(tmp_path / ".aws" / "credentials") in line, line

    def test_rejected_credentials_are_one_clear_line(self, verifying_server, tmp_path):
        done = self.run(verifying_server, tmp_path, {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "not-it"})
        assert done.returncode != 0
        assert any(
            t in done.stderr for t in ("InvalidSignatureException", "SignatureDoesNotMatch", "UnrecognizedClient")
        ), done.stderr
        assert "environment" in done.stderr, done.stderr


def run_until_first_line(endpoint: str, stream: str, *args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [kwire.find_ktop_binary(), "attach", "--endpoint", endpoint, "--stream", stream, "--headless", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": kwire.REGION},
    )
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


@pytest.mark.parametrize("measure", ["auto", "api"])
def test_a_stream_deleted_while_watched_is_said_and_the_run_goes_on(ktop_serve, measure):
    client = make_stream(ktop_serve.endpoint, "brief", shards=1)
    proc, _ = run_until_first_line(ktop_serve.endpoint, "brief", "--duration", "6", "--source", measure)
    client.delete_stream(StreamName="brief")
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    said = out + err
    assert "gone" in said or "not found" in said, said[-3000:]
    assert "Traceback" not in said and "Fatal error" not in said


@pytest.mark.parametrize("measure", ["auto", "api"])
def test_a_lost_endpoint_is_retried_with_backoff_and_said(measure):
    server = kwire.ServerProcess([])
    try:
        make_stream(server.endpoint, "fragile", shards=1)
        proc, _ = run_until_first_line(server.endpoint, "fragile", "--duration", "5", "--source", measure)
    finally:
        server.stop()
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    said = out + err
    assert "disconnected" in said and "retrying in" in said, said[-3000:]


def test_efo_registers_its_own_consumer_reads_through_it_and_deregisters_on_exit(ktop_serve):
    client = make_stream(ktop_serve.endpoint, "fanned", shards=2)
    arn = client.describe_stream_summary(StreamName="fanned")["StreamDescriptionSummary"]["StreamARN"]
    producer = Producer(client, "fanned", batches_per_second=4, batch=20)
    producer.start()
    try:
        proc, _ = run_until_first_line(ktop_serve.endpoint, "fanned", "--efo", "--duration", "10")
        registered = []
        deadline = time.monotonic() + 20
        while not registered and time.monotonic() < deadline:
            registered = [c["ConsumerName"] for c in client.list_stream_consumers(StreamARN=arn)["Consumers"]]
            time.sleep(0.2)
        out, err = proc.communicate(timeout=90)
    finally:
        producer.stop()
    assert proc.returncode == 0, err
    assert registered and registered[0].startswith("ktop-attach-"), registered
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert sum(sh["IncomingRecords"] for line in lines for sh in stream_in(line, "fanned")["shards"]) > 0
    # Deregistered at exit (the consumer is DELETING, then gone).
    deadline = time.monotonic() + 20
    left = registered
    while left and time.monotonic() < deadline:
        left = [c["ConsumerName"] for c in client.list_stream_consumers(StreamARN=arn)["Consumers"]
                if c["ConsumerStatus"] != "DELETING"]
        time.sleep(0.2)
    assert not left, f"ktop's consumer is still registered after exit: {left}"
