"""`ktop sql`: a continuous query over a `ktop serve` stream, results on stdout and into another stream.

boto3 writes JSON records; `ktop sql --headless --format json --from trim-horizon --duration N` reads them as
a consumer, runs the SELECT per window in SQLite, prints one JSON line per row, and with --into writes each
row as a record that boto3 reads back. Every wait is bounded; nothing sleeps for the engine's time.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

import kwire  # noqa: E402

TUMBLE = ("SELECT user, COUNT(*) AS n, SUM(amount) AS total FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), "
          "INTERVAL '1' HOUR)) GROUP BY window_start, window_end, user")


def ktop_sql(endpoint: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "ktop", "AWS_SECRET_ACCESS_KEY": "ktop", "AWS_REGION": kwire.REGION})
    return subprocess.run([kwire.find_ktop_binary(), "sql", *args, "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def server():
    s = kwire.ServerProcess([])
    yield s
    s.stop()


def create(client, name: str, shards: int = 2):
    client.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 10
    while client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, f"{name} never became ACTIVE"
        time.sleep(0.05)


def put_orders(client, count: int = 60) -> dict[str, tuple[int, int]]:
    expected: dict[str, tuple[int, int]] = {}
    records = []
    for i in range(count):
        user = f"u{i % 3}"
        amount = i * 7 % 50
        n, total = expected.get(user, (0, 0))
        expected[user] = (n + 1, total + amount)
        records.append({"Data": json.dumps({"user": user, "amount": amount, "meta": {"i": i}}).encode(),
                        "PartitionKey": f"key-{i}"})
    out = client.put_records(StreamName="orders", Records=records)
    assert out["FailedRecordCount"] == 0
    return expected


def read_raw(client, stream: str) -> list[dict]:
    records = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        it = client.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += client.get_records(ShardIterator=it)["Records"]
    return records


def read_all(client, stream: str) -> list[dict]:
    return [json.loads(r["Data"]) | {"_key": r["PartitionKey"]} for r in read_raw(client, stream)]


def test_tumbling_counts_per_user_and_into_a_derived_stream(server):
    client = kwire.make_client(server.endpoint)
    create(client, "orders")
    create(client, "derived", shards=1)
    expected = put_orders(client)
    done = ktop_sql(server.endpoint, TUMBLE, "--stream", "orders", "--headless", "--format", "json",
                    "--from", "trim-horizon", "--duration", "3", "--into", "derived")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    # The records arrived within a second, so in one hour-long window (two if the put straddled the hour).
    windows = {(r["window_start"], r["window_end"]) for r in rows}
    assert 1 <= len(windows) <= 2, rows
    got: dict[str, tuple[int, int]] = {}
    for r in rows:
        n, total = got.get(r["user"], (0, 0))
        got[r["user"]] = (n + r["n"], total + r["total"])
    assert got == expected
    assert "60 records read" in done.stderr and "0 not JSON" in done.stderr, done.stderr
    assert "GetRecords calls" in done.stderr, done.stderr
    assert "meta TEXT" in done.stderr and "amount INTEGER" in done.stderr, done.stderr
    derived = read_all(client, "derived")
    assert sorted((d["window_start"], d["user"], d["n"]) for d in derived) == sorted(
        (r["window_start"], r["user"], r["n"]) for r in rows)
    # Partitioned by the first GROUP BY key that is not a window column.
    assert {d["_key"] for d in derived} == {r["user"] for r in rows}
    # The source is untouched: still exactly the 60 records.
    assert len(read_all(client, "orders")) == 60


def test_legacy_step_text_format_and_window_flag(server):
    client = kwire.make_client(server.endpoint)
    create(client, "orders", shards=1)
    put_orders(client, count=12)
    step = ("SELECT STREAM COUNT(*) AS n FROM SOURCE_SQL_STREAM_001 "
            "GROUP BY STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' HOUR)")
    done = ktop_sql(server.endpoint, step, "--stream", "orders", "--headless", "--format", "text",
                    "--from", "trim-horizon", "--duration", "2")
    assert done.returncode == 0, done.stderr
    assert "window " in done.stdout and "records)" in done.stdout and "\n  n\n" in done.stdout, done.stdout
    plain = ktop_sql(server.endpoint, "SELECT MAX(amount) AS mx FROM orders", "--window", "tumbling:1h",
                     "--stream", "orders", "--headless", "--from", "trim-horizon", "--duration", "2")
    assert plain.returncode == 0, plain.stderr
    mx = sum(json.loads(line)["mx"] is not None for line in plain.stdout.splitlines())
    assert mx >= 1


def test_non_json_stream_fails_clearly_and_stays_untouched(server):
    client = kwire.make_client(server.endpoint)
    create(client, "orders", shards=1)
    client.put_records(StreamName="orders", Records=[{"Data": b"plain %d" % i, "PartitionKey": "k"} for i in range(5)])
    done = ktop_sql(server.endpoint, "SELECT COUNT(*) FROM orders", "--window", "tumbling:10s", "--stream", "orders",
                    "--headless", "--from", "trim-horizon", "--duration", "3")
    assert done.returncode == 1
    assert "no JSON object" in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert [r["Data"] for r in read_raw(client, "orders")] == [b"plain %d" % i for i in range(5)]


def test_unknown_column_fails_at_start(server):
    client = kwire.make_client(server.endpoint)
    create(client, "orders", shards=1)
    put_orders(client, count=3)
    done = ktop_sql(server.endpoint, "SELECT nope FROM orders", "--window", "tumbling:10s", "--stream", "orders",
                    "--headless", "--from", "trim-horizon", "--duration", "5")
    assert done.returncode == 1
    assert "no such column: nope" in done.stderr and "amount" in done.stderr, done.stderr


@pytest.mark.parametrize("args, message", [
    (["DROP TABLE orders", "--window", "tumbling:10s"], "only SELECT"),
    (["SELECT 1 FROM orders"], "no window"),
    (["SELECT 1 FROM orders", "--window", "tumbling:0s"], "--window"),
    (["SELECT 1 FROM orders", "--window", "sliding:10s/60s"], "must not exceed"),
    (["SELECT 1 FROM orders", "--window", "tumbling:10s", "--format", "xml"], "--format"),
    (["SELECT 1 FROM orders", "--window", "tumbling:10s", "--from", "yesterday"], "--from"),
    (["SELECT 1 FROM orders", "--window", "tumbling:10s", "--duration", "-1"], "--duration"),
    (["SELECT 1 FROM orders", "--window", "tumbling:10s", "--into", "orders"], "--into"),
    (["SELECT * FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '1' SECOND, "
      "INTERVAL '5' SECOND))"], "CUMULATE"),
])
def test_bad_flags_and_queries_are_one_line_and_nonzero(server, args, message):
    done = ktop_sql(server.endpoint, args[0], "--stream", "orders", "--headless", *args[1:], timeout=20)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr


def test_missing_stream_and_no_headless(server):
    done = ktop_sql(server.endpoint, "SELECT 1 FROM s", "--window", "tumbling:10s", "--stream", "absent",
                    "--headless", timeout=20)
    assert done.returncode == 1 and "absent" in done.stderr and "ResourceNotFound" in done.stderr, done.stderr
    # Without --headless it is the attach dashboard, which checks the stream before taking the terminal.
    done = ktop_sql(server.endpoint, "SELECT 1 FROM s", "--window", "tumbling:10s", "--stream", "absent", timeout=20)
    assert done.returncode == 1 and "stream 'absent' is not at" in done.stderr, done.stderr
    # An existing stream without a terminal: the dashboard says to use --headless.
    create(kwire.make_client(server.endpoint), "present")
    done = ktop_sql(server.endpoint, "SELECT 1 FROM s", "--window", "tumbling:10s", "--stream", "present", timeout=20)
    assert done.returncode != 0 and "--headless" in done.stderr, done.stderr


def test_efo_reads_through_subscribe_to_shard_and_deregisters(server):
    client = kwire.make_client(server.endpoint)
    create(client, "orders")
    expected = put_orders(client, count=30)
    done = ktop_sql(server.endpoint, TUMBLE, "--stream", "orders", "--headless", "--efo", "--from", "trim-horizon",
                    "--duration", "6")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    got: dict[str, tuple[int, int]] = {}
    for r in rows:
        n, total = got.get(r["user"], (0, 0))
        got[r["user"]] = (n + r["n"], total + r["total"])
    assert got == expected, done.stderr
    assert "SubscribeToShard events" in done.stderr and "GetRecords" not in done.stderr, done.stderr
    arn = client.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
    consumers = client.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert all(c["ConsumerStatus"] == "DELETING" for c in consumers), consumers


def test_ctrl_c_closes_the_open_windows(server):
    client = kwire.make_client(server.endpoint)
    create(client, "orders", shards=1)
    expected = put_orders(client, count=9)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "ktop", "AWS_SECRET_ACCESS_KEY": "ktop", "AWS_REGION": kwire.REGION})
    proc = subprocess.Popen([kwire.find_ktop_binary(), "sql", TUMBLE, "--stream", "orders", "--headless",
                             "--from", "trim-horizon", "--endpoint", server.endpoint],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    try:
        time.sleep(2.5)  # two polls of the stream (real time: the reader is a separate process)
        proc.send_signal(2)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert sum(r["n"] for r in rows) == sum(n for n, _ in expected.values()), (out, err)
    assert "9 records read" in err, err
