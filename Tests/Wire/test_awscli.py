"""AWS CLI v1 (awscli 1.45.x) round trips against the server.

awscli v1 sends a blob argument's text as raw bytes (it base64-encodes
`--data hello` to "aGVsbG8=" on the wire); it has no `--cli-binary-format`
option (that is v2), so arbitrary bytes go through `--data fileb://FILE`. Both
are exercised. Output blobs are printed base64-encoded.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest

import kwire

AWS = shutil.which("aws")

pytestmark = pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")


@pytest.fixture(scope="module")
def cli(endpoint, tmp_path_factory):
    home = tmp_path_factory.mktemp("awscli-home")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": kwire.ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": kwire.SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }

    def run(*args, check=True):
        cmd = [AWS, "kinesis", *args, "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, f"{' '.join(args)} failed ({p.returncode}):\n{p.stderr}"
            return json.loads(p.stdout) if p.stdout.strip() else None
        return p

    return run


def test_cli_round_trip(cli, kinesis, tmp_path):
    name = kwire.unique_name("cli")
    assert cli("create-stream", "--stream-name", name, "--shard-count", "2") is None  # empty output
    try:
        kwire.wait_stream_status(kinesis, name)
        summary = cli("describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
        assert summary["StreamName"] == name
        assert summary["StreamStatus"] == "ACTIVE"
        assert summary["OpenShardCount"] == 2
        assert summary["StreamARN"] == kwire.stream_arn(name)

        put1 = cli("put-record", "--stream-name", name, "--data", "hello", "--partition-key", "a")
        assert put1["SequenceNumber"].isdigit()
        blob = tmp_path / "record.bin"
        blob.write_bytes(b"\x00bin\xff")
        put2 = cli("put-record", "--stream-name", name, "--data", f"fileb://{blob}", "--partition-key", "a")
        assert put2["ShardId"] == put1["ShardId"]
        assert int(put2["SequenceNumber"]) > int(put1["SequenceNumber"])
        # "a" hashes into the first half of the key space
        assert put1["ShardId"] == kwire.shard_id(0)

        it = cli(
            "get-shard-iterator", "--stream-name", name, "--shard-id", put1["ShardId"],
            "--shard-iterator-type", "TRIM_HORIZON",
        )["ShardIterator"]
        got = cli("get-records", "--shard-iterator", it)
        recs = got["Records"]
        assert [base64.b64decode(r["Data"]) for r in recs] == [b"hello", b"\x00bin\xff"]
        assert [r["SequenceNumber"] for r in recs] == [put1["SequenceNumber"], put2["SequenceNumber"]]
        assert [r["PartitionKey"] for r in recs] == ["a", "a"]
        assert isinstance(recs[0]["ApproximateArrivalTimestamp"], (int, float))
        assert "NextShardIterator" in got and "MillisBehindLatest" in got
    finally:
        kinesis.delete_stream(StreamName=name)


def test_cli_error_exit_code(cli):
    name = kwire.unique_name("cli-missing")
    p = cli("describe-stream-summary", "--stream-name", name, check=False)
    assert p.returncode != 0
    assert "ResourceNotFoundException" in p.stderr
    assert f"Stream {name} under account 123456789012 not found." in p.stderr


def test_cli_list_streams_and_shards(cli, kinesis, make_stream):
    name = make_stream(shards=3)
    names = cli("list-streams")["StreamNames"]
    assert name in names
    shards = cli("list-shards", "--stream-name", name)["Shards"]
    assert [s["ShardId"] for s in shards] == [kwire.shard_id(i) for i in range(3)]
    assert [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in shards] == (
        kwire.expected_ranges(3)
    )
