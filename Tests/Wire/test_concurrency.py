"""Concurrent producers: 8 threads x 2,500 records via PutRecords, then every
shard is read back from TRIM_HORIZON through its lineage. Every acknowledged
(ShardId, SequenceNumber) must be read exactly once with its data, and no
sequence number may appear twice (KINESIS.md §2.3 PutRecords, §5)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import kwire

THREADS = 8
PER_THREAD = 2500
BATCH = 500
SHARDS = 16


def producer(client, name, tid, acked, errors, stats):
    rng = random.Random(1000 + tid)
    try:
        for start in range(0, PER_THREAD, BATCH):
            pending = []
            for i in range(start, start + BATCH):
                key = f"t{tid}-r{i}"
                payload = f"{key}|".encode() + os.urandom(rng.randint(0, 64))
                pending.append({"Data": payload, "PartitionKey": f"pk-{rng.getrandbits(64):016x}"})
            for attempt in range(60):
                resp = client.put_records(StreamName=name, Records=pending)
                assert len(resp["Records"]) == len(pending)
                retry = []
                for rec, res in zip(pending, resp["Records"]):
                    if "ErrorCode" in res:
                        assert res["ErrorCode"] in ("ProvisionedThroughputExceededException", "InternalFailure"), res
                        retry.append(rec)
                    else:
                        acked.append((res["ShardId"], res["SequenceNumber"], rec["Data"], rec["PartitionKey"]))
                assert resp.get("FailedRecordCount", 0) == len(retry)
                stats["throttled"] += len(retry)
                if not retry:
                    break
                pending = retry
                time.sleep(0.05 + 0.05 * rng.random())  # producer backoff before resending the failed entries
            else:
                raise AssertionError(f"thread {tid}: records still throttled after 60 attempts")
    except BaseException as e:  # surfaced by the main thread
        errors.append(e)


def read_lineage(kinesis, name):
    """Read every shard (parents before children) from TRIM_HORIZON to its end."""
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    by_id = {s["ShardId"]: s for s in shards}
    done = set()
    order = []

    def visit(sid):
        if sid in done or sid not in by_id:
            return
        s = by_id[sid]
        for key in ("ParentShardId", "AdjacentParentShardId"):
            if key in s:
                visit(s[key])
        done.add(sid)
        order.append(sid)

    for sid in sorted(by_id):
        visit(sid)
    out = {}
    for sid in order:
        recs, _ = kwire.read_shard_fully(kinesis, name, sid)
        out[sid] = recs
    return out


def test_concurrent_put_records_read_back_exactly_once(kinesis, endpoint, make_stream):
    name = make_stream(shards=SHARDS)
    clients = [kwire.make_client(endpoint) for _ in range(THREADS)]
    acked: list = []
    errors: list = []
    stats = Counter()
    threads = [
        threading.Thread(target=producer, args=(clients[t], name, t, acked, errors, stats), daemon=True)
        for t in range(THREADS)
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "producers did not finish within 90 s"
    assert not errors, f"producer failed: {errors[0]!r}"
    write_s = time.monotonic() - t0
    assert len(acked) == THREADS * PER_THREAD, (len(acked), write_s)

    ack_keys = [(sid, seq) for sid, seq, _, _ in acked]
    assert len(set(ack_keys)) == len(ack_keys), "the server acknowledged the same sequence number twice"
    ack_seqs = Counter(seq for _, seq, _, _ in acked)
    assert max(ack_seqs.values()) == 1, "a sequence number was issued on two shards"
    expected = {(sid, seq): (data, pk) for sid, seq, data, pk in acked}

    # routing: every record landed in the shard that owns MD5(partition key)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    for sid, seq, _data, pk in acked[:: 37]:
        assert sid == kwire.shard_for_hash(shards, kwire.md5_hash_key(pk))
        kwire.assert_v2_sequence(seq, sid)

    read = read_lineage(kinesis, name)
    seen = Counter()
    for sid, recs in read.items():
        seqs = [int(r["SequenceNumber"]) for r in recs]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"{sid}: records not strictly ordered"
        for r in recs:
            key = (sid, r["SequenceNumber"])
            seen[key] += 1
            assert key in expected, f"read a record that was never acknowledged: {key}"
            assert (r["Data"], r["PartitionKey"]) == expected[key], f"data mismatch at {key}"
    dupes = [k for k, n in seen.items() if n > 1]
    assert not dupes, f"records read more than once: {dupes[:5]}"
    missing = set(expected) - set(seen)
    assert not missing, f"{len(missing)} acknowledged records were not read back, e.g. {sorted(missing)[:3]}"
    all_seqs = Counter(seq for _, seq in seen)
    assert max(all_seqs.values()) == 1
    # each payload was acknowledged once: the retry loop never duplicated a record
    payload_keys = Counter(d.split(b"|", 1)[0] for d, _ in expected.values())
    assert len(payload_keys) == THREADS * PER_THREAD and max(payload_keys.values()) == 1
