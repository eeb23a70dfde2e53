"""`ktop --headless`: the snapshot contract of DESIGN.md and seed determinism.

Runs the real binary with `--speed max` (a manual clock stepped as fast as the
CPU allows), so ten simulated seconds take well under a second and a seed
repeats the run exactly.
"""

from __future__ import annotations

import json
import subprocess

import kwire  # noqa: E402

import pytest

SHARD_FIELDS = {
    "shardId", "open", "startingHashKey", "endingHashKey", "parentShardId", "adjacentParentShardId",
    "IncomingBytes", "IncomingRecords", "WriteProvisionedThroughputExceeded", "OutgoingBytes",
    "OutgoingRecords", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds",
    "utilization", "heat", "topKeys",
}


def run(ktop_bin: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([ktop_bin, *args], capture_output=True, text=True, timeout=timeout)


def snapshots(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_headless_json_has_the_design_fields(ktop_bin):
    p = run(ktop_bin, "--headless", "--speed", "max", "--duration", "6", "--seed", "3")
    assert p.returncode == 0, p.stderr
    snaps = snapshots(p.stdout)
    assert len(snaps) == 6
    last = snaps[-1]
    assert {"time", "clockSpeed", "limits", "streams"} <= last.keys()
    assert last["limits"] == "aws" and last["clock"] == "manual"
    (stream,) = last["streams"]
    assert {"name", "mode", "status", "openShards", "closedShards", "shards", "consumers", "advice"} <= stream.keys()
    assert stream["name"] == "demo" and stream["status"] == "ACTIVE" and stream["openShards"] == 4
    for shard in stream["shards"]:
        assert SHARD_FIELDS <= shard.keys(), SHARD_FIELDS - shard.keys()
        assert shard["heat"] in {"cold", "warm", "hot", "throttled"}
    # The demo writes ~1,540 records/s in all; after warm-up every shard carries some.
    total = sum(s["IncomingRecords"] for s in stream["shards"])
    assert 1_300 <= total <= 1_800, total
    assert all(s["IncomingRecords"] > 0 for s in stream["shards"])
    # Hash ranges are KINESIS.md §4's for N=4.
    assert stream["shards"][0]["endingHashKey"] == str(2**128 // 4 - 1)
    assert stream["shards"][-1]["endingHashKey"] == str(2**128 - 1)
    kinds = {c["type"] for c in stream["consumers"]}
    assert kinds == {"polling", "efo"}


def test_same_seed_repeats_exactly_and_different_seeds_differ(ktop_bin):
    def strip_time(out: str) -> list[dict]:
        # The wall-clock time and the measured call latencies are the only
        # figures a seed cannot repeat: they time the real CPU, not the clock.
        snaps = snapshots(out)
        for s in snaps:
            s.pop("time")
            for stream in s["streams"]:
                stream.pop("latency", None)
        return snaps

    a = run(ktop_bin, "--headless", "--speed", "max", "--duration", "4", "--seed", "11")
    b = run(ktop_bin, "--headless", "--speed", "max", "--duration", "4", "--seed", "11")
    c = run(ktop_bin, "--headless", "--speed", "max", "--duration", "4", "--seed", "12")
    assert a.returncode == b.returncode == c.returncode == 0
    assert strip_time(a.stdout) == strip_time(b.stdout)
    assert strip_time(a.stdout) != strip_time(c.stdout)


def test_text_format_and_limits_off(ktop_bin):
    p = run(ktop_bin, "--headless", "--speed", "max", "--duration", "3", "--format", "text", "--limits", "off")
    assert p.returncode == 0, p.stderr
    assert "limits off" in p.stdout
    assert p.stdout.count(" demo ACTIVE 4 open ") == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "nope"], "Unknown scenario 'nope'"),
        (["--limits", "sometimes"], "Unknown --limits 'sometimes'"),
        (["--format", "xml"], "Unknown --format 'xml'"),
        (["--speed", "fast"], "--speed"),
        (["--duration", "-1"], "--duration"),
    ],
)
def test_bad_command_lines_exit_nonzero_with_one_clear_line(ktop_bin, args, message):
    p = run(ktop_bin, "--headless", *args, timeout=30)
    assert p.returncode != 0
    assert message in p.stderr


def test_price_overrides_reach_the_cost_estimate(ktop_bin):
    p = run(ktop_bin, "--headless", "--speed", "max", "--duration", "3", "--price", "shard-hour=0.03")
    assert p.returncode == 0, p.stderr
    cost = snapshots(p.stdout)[-1]["streams"][0]["cost"]
    (shards,) = [line for line in cost["lines"] if line["item"] == "shard-hours"]
    assert shards["unitPriceUSD"] == 0.03
    assert shards["hourlyUSD"] == 0.12  # 4 shards
    bad = run(ktop_bin, "--headless", "--price", "shardhour=1", timeout=30)
    assert bad.returncode != 0 and "--price 'shardhour=1' is not NAME=USD" in bad.stderr


def test_json_snapshot_counts_faults_only_when_injected(ktop_bin):
    # retries-under-faults switches 10% record failures on at 10 s and off at 30 s.
    p = run(ktop_bin, "--scenario", "retries-under-faults", "--headless", "--speed", "max", "--seed", "5",
            "--duration", "35")
    assert p.returncode == 0, p.stderr
    snaps = snapshots(p.stdout)
    assert "faults" not in snaps[5], "no fault injector before the faults phase"
    counts = [s["faults"].get("record-failure", {}).get("PutRecords", 0) for s in snaps if "faults" in s]
    assert counts and counts == sorted(counts), "cumulative"
    assert set(snaps[-1]["faults"]) == {"record-failure"}
    # ~600 records/s plus retries for 20 s at 10%: about 1,300 failed entries.
    assert 900 <= counts[-1] <= 1_700, counts[-1]
    assert snaps[-1]["faults"] == snaps[-3]["faults"], "off after 30 s: the count stops"
    plain = snapshots(run(ktop_bin, "--headless", "--speed", "max", "--duration", "3", "--seed", "3").stdout)
    assert all("faults" not in s for s in plain)
    forced = snapshots(run(ktop_bin, "--headless", "--speed", "max", "--duration", "3", "--seed", "3",
                           "--faults", "record-failure=0.5").stdout)
    assert forced[-1]["faults"]["record-failure"]["PutRecords"] > 0
