"""A handful of kinesalite's assertions (mhart/kinesalite test/*.js at c76689da, a suite its author
ran against live Kinesis in 2018), ported to boto3 against `ktop serve --delay-ms 0`. Each test
names the kinesalite test it comes from. Where ktop answers differently on purpose, because
Kinesis changed since (KINESIS.md §3; docs/emulator-differences.md), the test asserts Kinesis's
current rule and says which kinesalite assertion it replaces.

Like kinesalite's suite, it uses one 3-shard test stream for the validations."""

from __future__ import annotations

import json
import os

import pytest

import kwire
from kwire import ACCOUNT, expect_error

if os.environ.get("KTOP_ENDPOINT"):
    pytest.skip("starts ktop serve --delay-ms 0 itself", allow_module_level=True)

THREE = [(0, 113427455640312821154458202477256070484),
         (113427455640312821154458202477256070485, 226854911280625642308916404954512140969),
         (226854911280625642308916404954512140970, 2**128 - 1)]


@pytest.fixture(scope="module")
def server():
    s = kwire.ServerProcess(["--limits", "aws", "--delay-ms", "0"])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def c(server):
    return kwire.make_client(server.endpoint, retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def stream(c):
    """kinesalite's helpers.testStream: three shards, ACTIVE at once with --delay-ms 0."""
    name = kwire.unique_name("__kinesalite_test_")
    c.create_stream(StreamName=name, ShardCount=3)
    return name


def test_create_stream_resource_in_use_if_stream_already_exists(c, stream):
    """createStream.js: should return ResourceInUseException if stream already exists"""
    expect_error(lambda: c.create_stream(StreamName=stream, ShardCount=1), "ResourceInUseException",
                 f"Stream {stream} under account {ACCOUNT} already exists.")


def test_create_stream_basic_3_shard_stream(c, stream):
    """createStream.js: should create a basic 3-shard stream (the hash key ranges, ids and status;
    kinesalite compares the whole description of 2018, without the fields added since)"""
    d = c.describe_stream(StreamName=stream)["StreamDescription"]
    assert d["StreamStatus"] == "ACTIVE"  # with --delay-ms 0 CREATING is over before the next call
    assert [s["ShardId"] for s in d["Shards"]] == [kwire.shard_id(i) for i in range(3)]
    assert [kwire.shard_range(s) for s in d["Shards"]] == THREE
    assert d["RetentionPeriodHours"] == 24 and d["EncryptionType"] == "NONE"
    assert d["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}] and d["HasMoreShards"] is False


def test_put_record_resource_not_found_if_stream_does_not_exist(c):
    """putRecord.js: should return ResourceNotFoundException if stream does not exist"""
    name = kwire.unique_name("__kinesalite_test_")
    expect_error(lambda: c.put_record(StreamName=name, PartitionKey="x", Data=b""), "ResourceNotFoundException",
                 f"Stream {name} under account {ACCOUNT} not found.")


def test_put_record_out_of_bounds_explicit_hash_key(c, stream):
    """putRecord.js: should return InvalidArgumentException for out of bounds ExplicitHashKey"""
    key = str(2**128)
    expect_error(lambda: c.put_record(StreamName=stream, PartitionKey="a", Data=b"", ExplicitHashKey=key),
                 "InvalidArgumentException",
                 "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                 f"Specified value was {key}")


@pytest.mark.parametrize("key, shard", [
    (str(2**128 - 1), 2),                       # should work with final ExplicitHashKey
    (str(THREE[1][1]), 1),                      # should work with ExplicitHashKey just below range
    (str(THREE[2][0]), 2),                      # should work with ExplicitHashKey just above range
])
def test_put_record_explicit_hash_key_boundaries(c, stream, key, shard):
    """putRecord.js: should work with final ExplicitHashKey / just below range / just above range"""
    out = c.put_record(StreamName=stream, PartitionKey="a", Data=b"", ExplicitHashKey=key)
    assert out["ShardId"] == kwire.shard_id(shard)
    kwire.assert_v2_sequence(out["SequenceNumber"], kwire.shard_id(shard))


def test_get_shard_iterator_shard_does_not_exist(c, stream):
    """getShardIterator.js: should return ResourceNotFoundException if known stream and raw shard ID does not exist"""
    expect_error(lambda: c.get_shard_iterator(StreamName=stream, ShardId="shardId-5",
                                              ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="5"),
                 "ResourceNotFoundException",
                 f"Shard shardId-000000000005 in stream {stream} under account {ACCOUNT} does not exist")


@pytest.mark.parametrize("kind, sequence, said", [
    ("AT_SEQUENCE_NUMBER", None, "AT_SEQUENCE_NUMBER and no StartingSequenceNumber"),
    ("AFTER_SEQUENCE_NUMBER", None, "AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber"),
    ("LATEST", "5", "LATEST and also a StartingSequenceNumber"),
    ("TRIM_HORIZON", "5", "TRIM_HORIZON and also a StartingSequenceNumber"),
])
def test_get_shard_iterator_type_and_sequence_number_combinations(c, stream, kind, sequence, said):
    """getShardIterator.js: should return InvalidArgumentException if AT_SEQUENCE_NUMBER and no
    StartingSequenceNumber (and its AFTER_SEQUENCE_NUMBER, LATEST and TRIM_HORIZON siblings)"""
    args = {"StreamName": stream, "ShardId": "shardId-0", "ShardIteratorType": kind}
    if sequence:
        args["StartingSequenceNumber"] = sequence
    expect_error(lambda: c.get_shard_iterator(**args), "InvalidArgumentException",
                 "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
                 f"(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {said}.")


@pytest.mark.parametrize("kind", ["TRIM_HORIZON", "LATEST"])
def test_get_shard_iterator_has_the_shape_of_aws_iterators(c, stream, kind):
    """getShardIterator.js: should return ShardIterator with TRIM_HORIZON / LATEST (helpers.assertShardIterator:
    base64 of 152 bytes plus whole 16-byte blocks, beginning 00...01), and GetRecords takes it back"""
    import base64

    for name in (stream, stream + "-" + "x" * (128 - len(stream) - 1)):
        if name != stream:
            c.create_stream(StreamName=name, ShardCount=1)
        it = c.get_shard_iterator(StreamName=name, ShardId="shardId-0", ShardIteratorType=kind)["ShardIterator"]
        raw = base64.b64decode(it, validate=True)
        assert base64.b64encode(raw).decode() == it
        assert len(raw) >= 152 and (len(raw) - 152) % 16 == 0, len(raw)
        assert raw[:8] == bytes([0, 0, 0, 0, 0, 0, 0, 1])
        assert len(it) <= 512
        assert c.get_records(ShardIterator=it)["Records"] == [] or kind == "TRIM_HORIZON"
        if name != stream:
            c.delete_stream(StreamName=name)


def test_get_shard_iterator_at_timestamp_without_timestamp(c, stream):
    """getShardIterator.js: should return InvalidArgumentException if AT_TIMESTAMP and no Timestamp"""
    expect_error(lambda: c.get_shard_iterator(StreamName=stream, ShardId="shardId-0", ShardIteratorType="AT_TIMESTAMP"),
                 "InvalidArgumentException",
                 "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                 "Current request has no timestamp parameter.")


def test_list_shards_needs_a_stream_name_or_a_token_but_not_both(server, c, stream):
    """listShards.js: should return InvalidArgumentException for no StreamName or NextToken / if both"""
    expect_error(lambda: c.list_shards(), "InvalidArgumentException",
                 "Either NextToken or StreamName should be provided.")
    expect_error(lambda: c.list_shards(StreamName=stream, NextToken="abc"), "InvalidArgumentException",
                 "NextToken and StreamName cannot be provided together.")


@pytest.mark.parametrize("key, shard, end_start, end", [
    ("1", 0, "0", THREE[0][1]),                     # should return InvalidArgumentException for hash too small
    (str(THREE[0][1]), 0, "0", THREE[0][1]),        # ... for hash too big
    ("9" * 39, 2, str(THREE[2][0]), THREE[2][1]),   # ... for hash much too big
])
def test_split_shard_hash_key_out_of_the_shard(c, stream, key, shard, end_start, end):
    """splitShard.js: should return InvalidArgumentException for hash too small / too big / much too big"""
    expect_error(lambda: c.split_shard(StreamName=stream, ShardToSplit=f"shard-{shard}", NewStartingHashKey=key),
                 "InvalidArgumentException",
                 f"NewStartingHashKey {key} used in SplitShard() on shard {kwire.shard_id(shard)} in stream {stream} "
                 f"under account {ACCOUNT} is not both greater than one plus the shard's StartingHashKey {end_start} "
                 f"and less than the shard's EndingHashKey {end}.")


@pytest.mark.parametrize("a, b", [(0, 2), (1, 0)])
def test_merge_shards_not_adjacent_or_inverted(c, stream, a, b):
    """mergeShards.js: should return InvalidArgumentException if shards not adjacent / if adjacency is inverted"""
    expect_error(lambda: c.merge_shards(StreamName=stream, ShardToMerge=f"x-{a}", AdjacentShardToMerge=f"y-{b}"),
                 "InvalidArgumentException",
                 f"Shards {kwire.shard_id(a)} and {kwire.shard_id(b)} in stream {stream} under account {ACCOUNT} "
                 "are not an adjacent pair of shards eligible for merging")


def test_add_tags_invalid_characters(c, stream):
    """addTagsToStream.js: should return InvalidArgumentException if ; in tag key"""
    expect_error(lambda: c.add_tags_to_stream(StreamName=stream, Tags={"abc;def": "1"}), "InvalidArgumentException",
                 "Some tags contain invalid characters. "
                 "Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")


@pytest.mark.parametrize("key", ["abc;def", "abc\tdef", "abc\ndef", "abc,def"])
def test_remove_tags_invalid_characters(c, stream, key):
    """removeTagsFromStream.js: should return InvalidArgumentException if ; (tab, newline, comma) in TagKeys"""
    expect_error(lambda: c.remove_tags_from_stream(StreamName=stream, TagKeys=[key]), "InvalidArgumentException",
                 "Some tags contain invalid characters. "
                 "Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")


def test_remove_tags_percent_sign(c, stream):
    """removeTagsFromStream.js: should return InvalidArgumentException if % in TagKeys"""
    expect_error(lambda: c.remove_tags_from_stream(StreamName=stream, TagKeys=["abc%def"]), "InvalidArgumentException",
                 f"Failed to remove tags from stream {stream} under account {ACCOUNT} because some tags contained "
                 "illegal characters. The allowed characters are Unicode letters, white-spaces, "
                 "'_',',','/','=','+','-','@'.")


@pytest.mark.parametrize("shard", ["2147483648", "shardId-002147483648", "ABKLFD8", "2.14E4"])
def test_split_and_merge_read_the_shard_id_before_the_stream(c, shard):
    """splitShard.js and mergeShards.js: should return ResourceNotFoundException if unknown stream and shard ID
    too big (raw shard ID too big, string shard ID, exponent shard ID; and their ADJ twins)"""
    name = kwire.unique_name("__kinesalite_test_")
    said = f"Could not find shard {shard} in stream {name} under account {ACCOUNT}."
    expect_error(lambda: c.split_shard(StreamName=name, ShardToSplit=shard, NewStartingHashKey="10"),
                 "ResourceNotFoundException", said)
    expect_error(lambda: c.merge_shards(StreamName=name, ShardToMerge=shard, AdjacentShardToMerge="x-0"),
                 "ResourceNotFoundException", said)
    expect_error(lambda: c.merge_shards(StreamName=name, ShardToMerge="x-0", AdjacentShardToMerge=shard),
                 "ResourceNotFoundException", said)
    # "shard ID just small enough": then the stream is looked up.
    expect_error(lambda: c.split_shard(StreamName=name, ShardToSplit="2147483647", NewStartingHashKey="10"),
                 "ResourceNotFoundException", f"Stream {name} under account {ACCOUNT} not found.")


def test_split_and_merge_of_a_missing_shard(c, stream):
    """splitShard.js and mergeShards.js: should return ResourceNotFoundException if known stream and raw shard ID
    does not exist"""
    said = f"Could not find shard shardId-000000000005 in stream {stream} under account {ACCOUNT}."
    expect_error(lambda: c.split_shard(StreamName=stream, ShardToSplit="shardId-5", NewStartingHashKey="10"),
                 "ResourceNotFoundException", said)
    expect_error(lambda: c.merge_shards(StreamName=stream, ShardToMerge="shardId-5", AdjacentShardToMerge="x-0"),
                 "ResourceNotFoundException", said)


def test_delete_stream_while_it_is_being_created():
    """deleteStream.js: should allow stream to be deleted while it is being created (DELETING, no shards)"""
    s = kwire.ServerProcess(["--limits", "aws", "--create-stream-ms", "2000", "--delete-stream-ms", "2000"])
    try:
        c = kwire.make_client(s.endpoint, retries={"total_max_attempts": 1})
        name = kwire.unique_name("__kinesalite_test_")
        c.create_stream(StreamName=name, ShardCount=3)
        c.delete_stream(StreamName=name)
        d = c.describe_stream(StreamName=name)["StreamDescription"]
        assert (d["StreamStatus"], d["Shards"]) == ("DELETING", [])
        kwire.wait_stream_gone(c, name)
    finally:
        s.stop()


@pytest.mark.parametrize("value, said", [
    ("23", "class java.lang.String can not be converted to milliseconds since epoch"),
    (True, "class java.lang.Boolean can not be converted to milliseconds since epoch"),
    ([], "Start of list found where not expected"),
    ({}, "Start of structure or map found where not expected."),
])
def test_timestamp_of_the_wrong_type(server, stream, value, said):
    """getShardIterator.js: should return SerializationException when Timestamp is not a Timestamp
    (helpers.js assertType 'Timestamp'; sent raw, as boto3 checks types itself)"""
    body = {"StreamName": stream, "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": value}
    status, _, raw = kwire.raw_post(server.endpoint, "Kinesis_20131202.GetShardIterator", json.dumps(body).encode())[:3]
    assert status == 400
    assert json.loads(raw) == {"__type": "SerializationException", "Message": said}


# Where ktop is right and kinesalite's 2018 assertion is not (Kinesis changed since).

def test_retention_above_168_hours_is_accepted_up_to_8760(c, stream):
    """increaseStreamRetentionPeriod.js: should return ValidationException for retention period greater than 168,
    replaced: Kinesis has allowed up to 8,760 hours (365 days) since late 2020 (KINESIS.md §3)."""
    c.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=169)
    c.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=8760)
    assert c.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 8760
    expect_error(lambda: c.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=8761),
                 "InvalidArgumentException")


def test_fifty_tags_per_stream_not_ten(c):
    """addTagsToStream.js: should return ValidationException for too many tags (more than 10), replaced: the
    current model allows 50 per stream (KINESIS.md §2.2, §3); the 51st is refused."""
    name = kwire.unique_name("__kinesalite_test_")
    c.create_stream(StreamName=name, ShardCount=1)
    c.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(11)})
    c.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(11, 50)})
    expect_error(lambda: c.add_tags_to_stream(StreamName=name, Tags={"k50": "v"}), "InvalidArgumentException",
                 f"Failed to add tags to stream {name} under account {ACCOUNT} because a given stream cannot have "
                 "more than 50 tags associated with it.")


def test_list_streams_also_returns_stream_summaries(c, stream):
    """listStreams.js: should return all streams (kinesalite expects only StreamNames and HasMoreStreams; the
    current model adds StreamSummaries, KINESIS.md §2.3)."""
    out = c.list_streams()
    assert stream in out["StreamNames"]
    summary = next(s for s in out["StreamSummaries"] if s["StreamName"] == stream)
    assert summary["StreamARN"] == kwire.stream_arn(stream) and summary["StreamStatus"] == "ACTIVE"
