/// HMAC with SHA-256 (RFC 2104), the MAC SigV4 chains to derive its signing key
/// (`kDate → kRegion → kService → kSigning`) and to sign the string to sign, and
/// the engine's integrity check on shard iterators and pagination tokens.
public enum HMACSHA256 {
    /// Bytes of a MAC.
    public static let byteCount = SHA256.byteCount

    /// Equality whose time depends only on the lengths, never on where the bytes
    /// differ, so a forger learns nothing from how fast a MAC is refused.
    public static func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        var diff: UInt8 = a.count == b.count ? 0 : 1
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    /// The 32-byte MAC of `message` under `key`.
    public static func authenticate<Key: Sequence, Message: Sequence>(key: Key, message: Message) -> [UInt8]
    where Key.Element == UInt8, Message.Element == UInt8 {
        var keyBlock = Array(key)
        if keyBlock.count > SHA256.blockByteCount { keyBlock = SHA256.hash(keyBlock) }
        keyBlock += [UInt8](repeating: 0, count: SHA256.blockByteCount - keyBlock.count)
        var inner = SHA256()
        inner.update(keyBlock.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(keyBlock.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// Convenience for SigV4's string inputs (dates, region, service, string to sign), hashed as UTF-8.
    public static func authenticate<Key: Sequence>(key: Key, message: String) -> [UInt8] where Key.Element == UInt8 {
        authenticate(key: key, message: Array(message.utf8))
    }
}
