/// A fixed-capacity ring: appending past capacity overwrites the oldest
/// element. Memory is allocated once, so a series never grows however long ktop runs.
///
/// Complexity: `append` O(1); `last`, subscript O(1); iteration O(n).
public struct RingBuffer<Element>: Sequence {
    public let capacity: Int
    private var storage: [Element] = []
    private var head = 0 // index of the oldest element once full

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public mutating func append(_ e: Element) {
        if storage.count < capacity { storage.append(e); return }
        storage[head] = e
        head = (head + 1) % capacity
    }

    /// The i-th element, oldest first.
    public subscript(i: Int) -> Element { storage[(head + i) % storage.count] }

    public var last: Element? { storage.isEmpty ? nil : self[storage.count - 1] }

    /// The newest `n` elements, oldest first.
    public func suffix(_ n: Int) -> [Element] {
        let k = Swift.min(n, count)
        return (count - k..<count).map { self[$0] }
    }

    public func makeIterator() -> AnyIterator<Element> {
        var i = 0
        return AnyIterator { [self] in
            guard i < count else { return nil }
            defer { i += 1 }
            return self[i]
        }
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
