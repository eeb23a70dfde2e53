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
