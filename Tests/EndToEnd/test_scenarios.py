"""`ktop scenarios` and `ktop --scenario NAME|FILE --headless`: every built-in
is listed, runs, narrates its phases and (on the manual clock) meets its own
expectations; a scenario file printed by `--show` runs the same story."""

from __future__ import annotations

import json
import subprocess

import pytest

import kwire  # noqa: E402

BUILT_INS = ["demo", "hot-key", "fix-by-salting", "split-the-hot-shard", "merge-cold-shards",
             "fan-out-starvation", "on-demand-burst", "retention-replay", "resharding-with-kcl", "retries-under-faults",
             "firehose-buffering", "sql-windows"]


def run(ktop_bin: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([ktop_bin, *args], capture_output=True, text=True, timeout=timeout)


def test_scenarios_lists_every_built_in(ktop_bin):
    p = run(ktop_bin, "scenarios")
    assert p.returncode == 0, p.stderr
    names = [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    assert names == BUILT_INS


@pytest.mark.parametrize("name", ["hot-key", "fix-by-salting"])
def test_a_built_in_narrates_and_meets_its_expectations(ktop_bin, name):
    p = run(ktop_bin, "--scenario", name, "--headless", "--format", "text", "--speed", "max", "--seed", "5")
    assert p.returncode == 0, p.stderr
    assert "[+0s start]" in p.stdout
    assert "Expectations (manual clock" in p.stdout
    assert "✓" in p.stdout and "✗" not in p.stdout, p.stdout[-2000:]


def test_json_lines_carry_phase_and_narration(ktop_bin):
    p = run(ktop_bin, "--scenario", "fix-by-salting", "--headless", "--speed", "max", "--duration", "22", "--seed", "5")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert len(lines) == 22
    assert all(l["scenario"] == "fix-by-salting" for l in lines)
    said = [t for l in lines for t in l["narration"]]
    assert any("salt" in t.lower() for t in said)
    assert lines[-1]["phase"] == "salt"


def test_scenario_file_from_show_runs(ktop_bin, tmp_path):
    shown = run(ktop_bin, "scenarios", "--show", "hot-key")
    assert shown.returncode == 0, shown.stderr
    spec = json.loads(shown.stdout)
    spec["name"] = "my-hot-key"
    spec["durationSeconds"] = 12
    for e in spec["expectations"]:
        e["to"] = min(e.get("to") or 12, 12)
    path = tmp_path / "story.json"
    path.write_text(json.dumps(spec))
    p = run(ktop_bin, "--scenario", str(path), "--headless", "--format", "text", "--speed", "max", "--seed", "3")
    assert p.returncode == 0, p.stderr
    assert "scenario my-hot-key" in p.stdout
    assert "✗" not in p.stdout, p.stdout[-2000:]


def test_bad_scenario_file_is_one_clear_line(ktop_bin, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        '{"name": "x", "stream": {"name": "s"}, '
        '"producers": [{"name": "p", "recordsPerSecond": 1, "keys": {"type": "gauss"}}]}'
    )
    p = run(ktop_bin, "--scenario", str(path), "--headless", timeout=30)
    assert p.returncode != 0
    assert "unknown key distribution 'gauss'" in p.stderr


def test_sql_windows_runs_its_queries_as_consumers_and_closes_windows(ktop_bin):
    """The sql-windows story on the manual clock: both queries read the stream as polling consumers
    (they appear among the stream's consumers), their 10 s windows close, and tenant-3, which fails
    five times as often, tops the error rate in every closed window."""
    p = run(ktop_bin, "--scenario", "sql-windows", "--headless", "--speed", "max", "--duration", "35", "--seed", "4")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    last = lines[-1]
    queries = {q["name"]: q for q in last["queries"]}
    assert set(queries) == {"top-users", "tenant-errors"}
    for q in queries.values():
        assert q["window"] == "tumbling 10s"
        assert q["windowsClosed"] >= 2, q
        assert "error" not in q or q["error"] is None, q
    errors = queries["tenant-errors"]
    assert errors["columns"] == ["tenant", "error_pct", "n"]
    assert errors["rows"][0][0] == "tenant-3", errors["rows"]
    assert sorted(r[0] for r in errors["rows"]) == [f"tenant-{i}" for i in range(6)]
    # The tenants partition the window: their counts add up to a full 10 s of ~400 rec/s.
    total = sum(int(r[2]) for r in errors["rows"])
    assert 3_000 <= total <= 5_000, total
    top = queries["top-users"]["rows"]
    assert len(top) == 3 and int(top[0][1]) >= int(top[1][1]) >= int(top[2][1])
    consumers = {c["name"] for c in last["streams"][0]["consumers"]}
    assert {"sql:top-users", "sql:tenant-errors"} <= consumers
    # Queries appear only where a scenario runs some.
    demo = run(ktop_bin, "--headless", "--speed", "max", "--duration", "3", "--seed", "4")
    assert demo.returncode == 0, demo.stderr
    assert all("queries" not in json.loads(l) for l in demo.stdout.splitlines() if l.strip())


def test_firehose_buffering_flushes_by_size_then_by_time(ktop_bin, tmp_path):
    """The firehose-buffering story on the manual clock: while ~200 KB/s arrive the 1 MiB size hint
    fills first (objects of about 1 MiB, seconds apart); after the load drops at 30 s the 20 s interval
    flushes smaller objects; the objects hold exactly the bytes Firehose says it delivered, and its reader
    shows among the stream's consumers."""
    s3 = tmp_path / "s3"
    p = run(ktop_bin, "--scenario", "firehose-buffering", "--headless", "--speed", "max", "--duration", "75",
            "--seed", "4", "--s3-dir", str(s3))
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    last = lines[-1]
    [d] = last["deliveryStreams"]
    assert d["name"] == "clicks-to-s3" and d["source"] == "clicks"
    assert d["bufferSizeBytes"] == 1024 * 1024 and d["intervalSeconds"] == 20
    objects = sorted((s3 / "ktop-scenarios" / "clicks-to-s3").rglob("clicks-to-s3-1-*"))
    assert len(objects) == d["objectsDelivered"], objects
    sizes = [o.stat().st_size for o in objects]
    assert sum(sizes) == d["bytesDelivered"]
    # Uncompressed, so stored bytes are the records' bytes. The buffer closes with the record that fills
    # it, so a size flush is 1 MiB plus less than one record (records are at most 1,000 bytes here).
    by_size = [s for s in sizes if s >= 1024 * 1024]
    by_time = [s for s in sizes if s < 400 * 1024]
    assert len(by_size) >= 4, sizes
    assert all(s < 1024 * 1024 + 1_000 for s in by_size), sizes
    assert len(by_time) >= 1, sizes
    # Object names carry the delivery stream's name and version and sit under the default UTC hour prefix.
    rel = objects[0].relative_to(s3 / "ktop-scenarios" / "clicks-to-s3").parts
    assert len(rel) == 5 and len(rel[0]) == 4 and all(len(x) == 2 for x in rel[1:4]), rel
    landed = [e for l in lines for e in l["events"] if e.startswith("Firehose clicks-to-s3: object")]
    assert len(landed) == len(objects)
    # Each landing says which hint closed its buffer, and the counts agree with the objects' sizes.
    assert sum("closed by size" in e for e in landed) == len(by_size), landed
    assert sum("closed by interval" in e for e in landed) >= 1, landed
    assert d["flushesBySize"] == len(by_size) and d["flushesByInterval"] >= 1, d
    consumers = {c["name"] for c in last["streams"][0]["consumers"]}
    assert "firehose:clicks-to-s3" in consumers and "replay" in consumers
