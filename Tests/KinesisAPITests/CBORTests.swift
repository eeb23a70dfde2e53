import Foundation
@testable import KinesisAPI
import Testing

private func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace }.utf8)
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

private func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

private func readError(_ bytes: [UInt8]) -> CBORSyntaxError? {
    do {
        _ = try CBORValue.decode(bytes)
        return nil
    } catch {
        return error
    }
}

private func text(_ s: String) -> CBORValue { .text(s) }
/// `[1, [2, 3], [4, 5]]` and `{"a": 1, "b": [2, 3]}`, which Appendix A spells several ways.
private let nested = CBORValue.array([
    .unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)]),
])
private let mapAB = CBORValue.map([
    entry(text("a"), .unsigned(1)), entry(text("b"), .array([.unsigned(2), .unsigned(3)])),
])
private let oneTo25 = CBORValue.array((1...25).map { .unsigned(UInt64($0)) })
private func entry(_ k: CBORValue, _ v: CBORValue) -> CBORMapEntry { CBORMapEntry(k, v) }

@Suite("CBOR reader and writer (RFC 8949)")
struct CBORCodecTests {
    // MARK: RFC 8949 Appendix A

    /// Appendix A's examples in preferred serialization: they read as the value and write back byte for byte.
    static let appendixA: [(String, CBORValue)] = [
        ("00", .unsigned(0)), ("01", .unsigned(1)), ("0a", .unsigned(10)), ("17", .unsigned(23)),
        ("1818", .unsigned(24)), ("1819", .unsigned(25)), ("1864", .unsigned(100)), ("1903e8", .unsigned(1000)),
        ("1a000f4240", .unsigned(1_000_000)), ("1b000000e8d4a51000", .unsigned(1_000_000_000_000)),
        ("1bffffffffffffffff", .unsigned(UInt64.max)), ("3bffffffffffffffff", .negative(UInt64.max)),
        ("20", .negative(0)), ("29", .negative(9)), ("3863", .negative(99)), ("3903e7", .negative(999)),
        ("f90000", .float(0)), ("f93c00", .float(1)), ("fb3ff199999999999a", .float(1.1)), ("f93e00", .float(1.5)),
        ("f97bff", .float(65504)), ("fa47c35000", .float(100_000)), ("fa7f7fffff", .float(3.4028234663852886e+38)),
        ("fb7e37e43c8800759c", .float(1.0e+300)), ("f90001", .float(5.960464477539063e-8)),
        ("f90400", .float(0.00006103515625)), ("f9c400", .float(-4)), ("fbc010666666666666", .float(-4.1)),
        ("f97c00", .float(.infinity)), ("f9fc00", .float(-.infinity)),
        ("f4", .bool(false)), ("f5", .bool(true)), ("f6", .null), ("f7", .undefined), ("f0", .simple(16)),
        ("f8ff", .simple(255)),
        ("c074323031332d30332d32315432303a30343a30305a", .tagged(0, text("2013-03-21T20:04:00Z"))),
        ("c11a514b67b0", .tagged(1, .unsigned(1_363_896_240))),
        ("c1fb41d452d9ec200000", .tagged(1, .float(1_363_896_240.5))),
        ("d74401020304", .tagged(23, .bytes([1, 2, 3, 4]))),
        ("d82076687474703a2f2f7777772e6578616d706c652e636f6d", .tagged(32, text("http://www.example.com"))),
        ("40", .bytes([])), ("4401020304", .bytes([1, 2, 3, 4])),
        ("60", text("")), ("6161", text("a")), ("6449455446", text("IETF")), ("62225c", text("\"\\")),
        ("62c3bc", text("\u{00fc}")), ("63e6b0b4", text("\u{6c34}")), ("64f0908591", text("\u{10151}")),
        ("80", .array([])), ("83010203", .array([.unsigned(1), .unsigned(2), .unsigned(3)])),
        ("8301820203820405", nested),
        ("98190102030405060708090a0b0c0d0e0f101112131415161718181819", oneTo25),
        ("a0", .map([])),
        ("a201020304", .map([entry(.unsigned(1), .unsigned(2)), entry(.unsigned(3), .unsigned(4))])),
        ("a26161016162820203", mapAB),
        ("826161a161626163", .array([text("a"), .map([entry(text("b"), text("c"))])])),
    ]

    @Test func appendixAReadsAndWritesBack() throws {
        for (bytes, value) in Self.appendixA {
            #expect(try CBORValue.decode(hex(bytes)) == value, "\(bytes)")
            #expect(hexString(value.encoded) == bytes, "\(value)")
        }
        guard case .float(let nan) = try CBORValue.decode(hex("f97e00")) else { Issue.record("NaN"); return }
        #expect(nan.isNaN)
        #expect(hexString(CBORValue.float(.nan).encoded) == "f97e00")
        // The wider spellings of the same values read the same.
        #expect(try CBORValue.decode(hex("fa7f800000")) == .float(.infinity))
        #expect(try CBORValue.decode(hex("fbfff0000000000000")) == .float(-.infinity))
        guard case .float(let negativeZero) = try CBORValue.decode(hex("f98000")) else { Issue.record("-0"); return }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
    }

    /// Appendix A's indefinite-length examples read as their definite equivalents.
    @Test func indefiniteLengthsReadAsDefinite() throws {
        let cases: [(String, CBORValue)] = [
            ("5f42010243030405ff", .bytes([1, 2, 3, 4, 5])),
            ("7f657374726561646d696e67ff", text("streaming")),
            ("5fff", .bytes([])), ("7fff", text("")),
            ("9fff", .array([])),
            ("9f018202039f0405ffff", nested),
            ("9f01820203820405ff", nested),
            ("83018202039f0405ff", nested),
            ("83019f0203ff820405", nested),
            ("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", oneTo25),
            ("bf61610161629f0203ffff", mapAB),
            ("826161bf61626163ff", .array([text("a"), .map([entry(text("b"), text("c"))])])),
            ("bf6346756ef563416d7421ff", .map([entry(text("Fun"), .bool(true)), entry(text("Amt"), .negative(1))])),
            ("bfff", .map([])),
            // A UTF-8 sequence is whole within each chunk; the chunks join.
            ("7f62c3bc63e6b0b4ff", text("\u{00fc}\u{6c34}")),
        ]
        for (bytes, value) in cases {
            #expect(try CBORValue.decode(hex(bytes)) == value, "\(bytes)")
        }
    }

    // MARK: the writer

    @Test func headsUseTheShortestArgumentAtEveryBoundary() {
        let cases: [(UInt64, String)] = [
            (0, "00"), (23, "17"), (24, "1818"), (255, "18ff"), (256, "190100"), (65535, "19ffff"),
            (65536, "1a00010000"), (0xFFFF_FFFF, "1affffffff"), (0x1_0000_0000, "1b0000000100000000"),
            (UInt64.max, "1bffffffffffffffff"),
        ]
        for (n, bytes) in cases {
            var w = CBORWriter()
            w.writeUnsigned(n)
            #expect(hexString(w.bytes) == bytes)
            #expect((try? CBORValue.decode(w.bytes)) == .unsigned(n))
        }
        var w = CBORWriter()
        w.writeInteger(-1)
        w.writeInteger(-24)
        w.writeInteger(-25)
        w.writeInteger(Int64.min)
        w.writeInteger(Int64.max)
        #expect(hexString(w.bytes) == "20" + "37" + "3818" + "3b7fffffffffffffff" + "1b7fffffffffffffff")
    }

    @Test func stringLengthsAtTheHeadBoundaries() throws {
        for n in [0, 23, 24, 255, 256, 65535, 65536] {
            let blob = (0..<n).map { UInt8(truncatingIfNeeded: $0) }
            var w = CBORWriter()
            w.writeBytes(blob)
            let headLength = n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5
            #expect(w.bytes.count == headLength + n)
            #expect(try CBORValue.decode(w.bytes) == .bytes(blob))
            let s = String(repeating: "x", count: n)
            #expect(try CBORValue.decode(CBORValue.text(s).encoded) == .text(s))
        }
    }

    @Test func indefiniteContainersAsTheWriterWritesThem() throws {
        var w = CBORWriter()
        w.beginIndefiniteMap()
        w.writeText("a")
        w.beginIndefiniteArray()
        w.writeInteger(1)
        w.writeTag(1)
        w.writeInteger(1_787_036_486_712)
        w.writeBreak()
        w.writeText("b")
        w.writeDouble(1.5)
        w.writeBreak()
        #expect(hexString(w.bytes) == "bf6161" + "9f01c11b000001a013accc38ff" + "6162fb3ff8000000000000" + "ff")
        #expect(try CBORValue.decode(w.bytes) == .map([
            entry(text("a"), .array([.unsigned(1), .tagged(1, .unsigned(1_787_036_486_712))])),
            entry(text("b"), .float(1.5)),
        ]))
    }

    /// Every one of the 65,536 half-precision patterns reads as the value RFC 8949 Appendix D
    /// gives it, and every value but NaN writes back as the same two bytes.
    @Test func everyHalfFloatRoundTrips() throws {
        for bits in 0...UInt16.max {
            let value = try CBORValue.decode([0xF9, UInt8(bits >> 8), UInt8(bits & 0xFF)])
            guard case .float(let d) = value else { Issue.record("\(bits)"); continue }
            let exponent = Int(bits >> 10 & 0x1F)
            if exponent == 31 && bits & 0x3FF != 0 {
                #expect(d.isNaN)
                continue
            }
            #expect(HalfFloat.encode(exactly: d) == bits, "half \(String(bits, radix: 16)) = \(d)")
            #expect(value.encoded == [0xF9, UInt8(bits >> 8), UInt8(bits & 0xFF)])
        }
    }

    @Test func floatsWriteInTheShortestExactWidth() {
        #expect(hexString(CBORValue.float(65504).encoded) == "f97bff")
        #expect(hexString(CBORValue.float(65505).encoded) == "fa477fe100")  // not a half: a single
        #expect(hexString(CBORValue.float(0x1p-24).encoded) == "f90001")  // smallest half subnormal
        #expect(hexString(CBORValue.float(0x1p-25).encoded) == "fa33000000")  // below it: a single
        #expect(hexString(CBORValue.float(1.1).encoded) == "fb3ff199999999999a")
        #expect(hexString(CBORValue.float(-0.0).encoded) == "f98000")
    }

    @Test func simpleValuesAndTagsRoundTrip() throws {
        for v in [0, 19, 32, 100, 255] as [UInt8] {
            #expect(try CBORValue.decode(CBORValue.simple(v).encoded) == .simple(v))
        }
        let nested = CBORValue.tagged(UInt64.max, .tagged(2, .bytes([1, 0])))
        #expect(try CBORValue.decode(nested.encoded) == nested)
    }

    // MARK: hostile and truncated input

    /// Every strict prefix of a well-formed item is an error, never a crash or a partial value.
    @Test func everyTruncationIsAnError() throws {
        var long = CBORWriter()
        long.beginIndefiniteMap()
        long.writeText("Data")
        long.writeBytes([UInt8](repeating: 7, count: 300))
        long.writeText("Timestamp")
        long.writeTag(1)
        long.writeInteger(1_787_036_486_712)
        long.writeText("List")
        long.beginArray(count: 3)
        long.writeDouble(-4.1)
        long.writeNull()
        long.writeText(String(repeating: "\u{6c34}", count: 100))
        long.writeBreak()
        let items = Self.appendixA.map { hex($0.0) }
            + [long.bytes, hex("7f657374726561646d696e67ff"), hex("bf61610161629f0203ffff")]
        for item in items {
            #expect(throws: Never.self) { _ = try CBORValue.decode(item) }
            for cut in 0..<item.count {
                #expect(readError(Array(item[..<cut])) != nil, "\(hexString(item)) cut at \(cut)")
            }
        }
    }

    @Test func lengthsBeyondTheBodyAreRefusedBeforeAllocating() {
        for bytes in [
            "5bffffffffffffffff", "7bffffffffffffffff", "9bffffffffffffffff", "bbffffffffffffffff",
            "5b7fffffffffffffff00", "9b000000010000000000", "ba0000000200", "5a00000002ff",
            "4201",  // two bytes claimed, one present
            "81",  // an array of one, nothing after
        ] {
            #expect(readError(hex(bytes)) != nil, "\(bytes)")
        }
        // A map of n entries needs 2n bytes: n = remaining/2 + 1 is refused, n = remaining/2 read.
        #expect(readError(hex("a3" + "0102" + "0304")) != nil)
        #expect(readError(hex("a2" + "0102" + "0304")) == nil)
    }

    @Test func nestingIsLimited() {
        let limit = CBORReader<CBORValueBuilder>.maximumDepth
        let ok = [UInt8](repeating: 0x81, count: limit - 1) + [0x80]
        #expect(readError(ok) == nil)
        #expect(readError([UInt8](repeating: 0x81, count: limit) + [0x80]) != nil)
        #expect(readError([UInt8](repeating: 0x9F, count: 10_000)) != nil)
        #expect(readError([UInt8](repeating: 0xC1, count: 10_000) + [0x00]) != nil)  // tags nest too
        #expect(readError([UInt8](repeating: 0xA1, count: 10_000)) != nil)
    }

    @Test func malformedItemsAreErrors() {
        let malformed = [
            "1c", "1d", "1e", "3c", "5c", "7d", "9e", "bc", "dc", "fc", "fd", "fe",  // reserved additional information
            "ff",  // a break outside an indefinite item
            "1f", "3f", "df",  // indefinite length on an integer or a tag
            "9f01", "bf6161", "5f41",  // indefinite items that never end
            "bf6161ff",  // a key without a value
            "5f6161ff", "7f4161ff", "5f5fffff", "7f7fffff", "5f01ff",  // chunks of the wrong kind
            "f800", "f813", "f81f",  // two-byte simple values below 32
            "62c328", "61ff", "63eda080",  // not UTF-8 (a lone surrogate too)
            "0000", "a0a0",  // bytes after the item
            "",
        ]
        for bytes in malformed {
            #expect(readError(hex(bytes)) != nil, "\(bytes)")
        }
    }

    @Test func errorsSayWhereAndWhy() {
        #expect(readError(hex("83010203ff")) == CBORSyntaxError(offset: 4, reason: "1 bytes after the item"))
        #expect(readError(hex("1c")) == CBORSyntaxError(offset: 1, reason: "reserved additional information 28"))
    }
}
