"""SplitShard, MergeShards, UpdateShardCount and ListShards (KINESIS.md §2.3, §4)."""

from __future__ import annotations

import kwire
from kwire import ACCOUNT, MAX_HASH, HASH_SPACE, expect_error, shard_id


def shards_by_id(kinesis, name):
    return {s["ShardId"]: s for s in kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]}


def is_open(shard):
    return "EndingSequenceNumber" not in shard["SequenceNumberRange"]


def list_all_shards(kinesis, name, **kw):
    """ListShards paged by NextToken alone (boto3's list_shards paginator re-sends
    StreamName with NextToken, which AWS rejects)."""
    resp = kinesis.list_shards(StreamName=name, **kw)
    shards = list(resp["Shards"])
    for _ in range(100):
        if not resp.get("NextToken"):
            return shards
        resp = kinesis.list_shards(NextToken=resp["NextToken"])
        shards.extend(resp["Shards"])
    raise AssertionError("ListShards paging did not end")


def assert_open_shards_cover_hash_space(shards):
    open_ranges = sorted(kwire.shard_range(s) for s in shards if is_open(s))
    assert open_ranges[0][0] == 0
    assert open_ranges[-1][1] == MAX_HASH
    for (a0, a1), (b0, b1) in zip(open_ranges, open_ranges[1:]):
        assert b0 == a1 + 1, f"gap or overlap between open shards: {a0}-{a1} and {b0}-{b1}"
    return open_ranges


def test_split_shard(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=1)
    parent = shard_id(0)
    kinesis.put_record(StreamName=name, Data=b"before", PartitionKey="k")
    mid = 2**127
    kinesis.split_shard(StreamName=name, ShardToSplit=parent, NewStartingHashKey=str(mid))
    assert kwire.status_now(kinesis_noretry, name) == "UPDATING"
    # only one reshard at a time: a second split while UPDATING is refused
    expect_error(
        lambda: kinesis_noretry.split_shard(StreamName=name, ShardToSplit=parent, NewStartingHashKey=str(mid + 12345)),
        "ResourceInUseException",
        f"Stream {name} under account {ACCOUNT} not ACTIVE, instead in state UPDATING",
    )
    summary = kwire.wait_stream_status(kinesis, name)
    assert summary["OpenShardCount"] == 2

    shards = shards_by_id(kinesis, name)
    assert sorted(shards) == [shard_id(0), shard_id(1), shard_id(2)]
    p = shards[parent]
    assert not is_open(p), "the split parent must be CLOSED (EndingSequenceNumber set)"
    kwire.assert_v2_sequence(p["SequenceNumberRange"]["EndingSequenceNumber"], parent)
    assert int(p["SequenceNumberRange"]["EndingSequenceNumber"]) > int(
        p["SequenceNumberRange"]["StartingSequenceNumber"]
    )
    assert kwire.shard_range(p) == (0, MAX_HASH)

    lo, hi = shards[shard_id(1)], shards[shard_id(2)]
    assert lo["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(mid - 1)}
    assert hi["HashKeyRange"] == {"StartingHashKey": str(mid), "EndingHashKey": str(MAX_HASH)}
    for child in (lo, hi):
        assert child["ParentShardId"] == parent
        assert "AdjacentParentShardId" not in child
        assert is_open(child)
        kwire.assert_v2_sequence(child["SequenceNumberRange"]["StartingSequenceNumber"], child["ShardId"])

    # new writes are routed to the open children only
    assert kinesis.put_record(StreamName=name, Data=b"lo", PartitionKey="k", ExplicitHashKey="0")[
        "ShardId"
    ] == shard_id(1)
    assert kinesis.put_record(StreamName=name, Data=b"hi", PartitionKey="k", ExplicitHashKey=str(mid))[
        "ShardId"
    ] == shard_id(2)
    assert kinesis.put_record(StreamName=name, Data=b"md5", PartitionKey="a")["ShardId"] == shard_id(1)


def test_split_shard_invalid_hash_key(kinesis, make_stream):
    name = make_stream(shards=1)
    for key in ("1", str(MAX_HASH)):
        expect_error(
            lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=key),
            "InvalidArgumentException",
            f"NewStartingHashKey {key} used in SplitShard() on shard {shard_id(0)} in stream {name} under account "
            f"{ACCOUNT} is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's "
            f"EndingHashKey {MAX_HASH}.",
        )


def test_split_closed_shard_is_refused(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(2**127))
    kwire.wait_stream_status(kinesis, name)
    expect_error(
        lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(2**126)),
        "ResourceInUseException",
    )


def test_split_unknown_shard(kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(9), NewStartingHashKey=str(2**127)),
        "ResourceNotFoundException",
        # SplitShard's own wording (kinesalite's AWS-run test), not GetShardIterator's "does not exist".
        f"Could not find shard {shard_id(9)} in stream {name} under account {ACCOUNT}.",
    )


def test_merge_adjacent_shards(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=3)
    r = kwire.expected_ranges(3)
    kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1))
    assert kwire.status_now(kinesis_noretry, name) == "UPDATING"
    summary = kwire.wait_stream_status(kinesis, name)
    assert summary["OpenShardCount"] == 2

    shards = shards_by_id(kinesis, name)
    assert sorted(shards) == [shard_id(i) for i in range(4)]
    child = shards[shard_id(3)]
    assert child["ParentShardId"] == shard_id(0)
    assert child["AdjacentParentShardId"] == shard_id(1)
    assert kwire.shard_range(child) == (r[0][0], r[1][1])
    assert is_open(child)
    assert not is_open(shards[shard_id(0)]) and not is_open(shards[shard_id(1)])
    assert is_open(shards[shard_id(2)])
    assert_open_shards_cover_hash_space(shards.values())
    assert kinesis.put_record(StreamName=name, Data=b"m", PartitionKey="k", ExplicitHashKey="0")["ShardId"] == shard_id(
        3
    )


def test_merge_non_adjacent_shards(kinesis, make_stream):
    name = make_stream(shards=3)
    expect_error(
        lambda: kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(2)),
        "InvalidArgumentException",
        f"Shards {shard_id(0)} and {shard_id(2)} in stream {name} under account {ACCOUNT} are not an adjacent "
        "pair of shards eligible for merging",
    )
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 3


def test_merge_while_updating_is_refused(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=4)
    kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1))
    expect_error(
        lambda: kinesis_noretry.merge_shards(
            StreamName=name, ShardToMerge=shard_id(2), AdjacentShardToMerge=shard_id(3)
        ),
        "ResourceInUseException",
        f"Stream {name} under account {ACCOUNT} not ACTIVE, instead in state UPDATING",
    )
    kwire.wait_stream_status(kinesis, name)


def test_reshard_on_demand_stream_is_validation_error(kinesis, make_stream):
    name = make_stream(shards=None, on_demand=True)
    expect_error(
        lambda: kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(2**125)),
        "ValidationException",
    )
    expect_error(
        lambda: kinesis.merge_shards(StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1)),
        "ValidationException",
    )


def check_uniform(open_ranges, n):
    assert len(open_ranges) == n
    for a, b in open_ranges:
        size = b - a + 1
        assert abs(size - HASH_SPACE / n) <= HASH_SPACE / n * 0.01, f"open shard {a}-{b} is not ~1/{n} of the space"


def test_update_shard_count_up_and_down(kinesis, make_stream):
    name = make_stream(shards=4)
    r = kinesis.update_shard_count(StreamName=name, TargetShardCount=8, ScalingType="UNIFORM_SCALING")
    assert r["StreamName"] == name
    assert r["CurrentShardCount"] == 4
    assert r["TargetShardCount"] == 8
    s = kwire.wait_stream_status(kinesis, name, timeout=20)
    assert s["OpenShardCount"] == 8
    shards = list_all_shards(kinesis, name)
    check_uniform(assert_open_shards_cover_hash_space(shards), 8)
    ids = {sh["ShardId"] for sh in shards}
    for sh in shards:  # every derived shard names parents that are listed and closed
        for key in ("ParentShardId", "AdjacentParentShardId"):
            if key in sh:
                assert sh[key] in ids
                assert not is_open(next(x for x in shards if x["ShardId"] == sh[key]))
    for i in range(4):
        assert not is_open(next(x for x in shards if x["ShardId"] == shard_id(i))), "original shards are closed"

    r = kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (r["CurrentShardCount"], r["TargetShardCount"]) == (8, 4)
    s = kwire.wait_stream_status(kinesis, name, timeout=20)
    assert s["OpenShardCount"] == 4
    latest = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(latest) == 4
    check_uniform(assert_open_shards_cover_hash_space(latest), 4)
    # writes still route to exactly one open shard
    shards = list_all_shards(kinesis, name)
    for ehk in (0, 2**126, 2**127 + 5, MAX_HASH):
        got = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(ehk))["ShardId"]
        assert got == kwire.shard_for_hash(shards, ehk)


def test_list_shards_filters(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.split_shard(StreamName=name, ShardToSplit=shard_id(0), NewStartingHashKey=str(2**127))
    kwire.wait_stream_status(kinesis, name)
    every = [s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"]]
    assert every == [shard_id(0), shard_id(1), shard_id(2)]
    latest = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in latest] == [shard_id(1), shard_id(2)]
    assert all(is_open(s) for s in latest)
    horizon = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "FROM_TRIM_HORIZON"})["Shards"]
    assert [s["ShardId"] for s in horizon] == every
    after = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": shard_id(0)})[
        "Shards"
    ]
    assert [s["ShardId"] for s in after] == [shard_id(1), shard_id(2)]
    excl = kinesis.list_shards(StreamName=name, ExclusiveStartShardId=shard_id(1))["Shards"]
    assert [s["ShardId"] for s in excl] == [shard_id(2)]


def test_list_shards_next_token_paging(kinesis, make_stream):
    name = make_stream(shards=5)
    first = kinesis.list_shards(StreamName=name, MaxResults=2)
    assert [s["ShardId"] for s in first["Shards"]] == [shard_id(0), shard_id(1)]
    assert first.get("NextToken")
    second = kinesis.list_shards(NextToken=first["NextToken"], MaxResults=2)
    assert [s["ShardId"] for s in second["Shards"]] == [shard_id(2), shard_id(3)]
    assert second.get("NextToken")
    third = kinesis.list_shards(NextToken=second["NextToken"], MaxResults=2)
    assert [s["ShardId"] for s in third["Shards"]] == [shard_id(4)]
    assert not third.get("NextToken")
    # shapes match DescribeStream's
    desc = shards_by_id(kinesis, name)
    for s in first["Shards"] + second["Shards"] + third["Shards"]:
        assert s == desc[s["ShardId"]]


def test_list_shards_argument_errors(kinesis, make_stream):
    name = make_stream(shards=2)
    token = kinesis.list_shards(StreamName=name, MaxResults=1)["NextToken"]
    expect_error(
        lambda: kinesis.list_shards(StreamName=name, NextToken=token),
        "InvalidArgumentException",
        "NextToken and StreamName cannot be provided together.",
    )
    expect_error(
        lambda: kinesis.list_shards(),
        "InvalidArgumentException",
        "Either NextToken or StreamName should be provided.",
    )
    expect_error(lambda: kinesis.list_shards(NextToken="bm90IGEgcmVhbCB0b2tlbg=="), "InvalidArgumentException")
