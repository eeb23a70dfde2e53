import Testing

@testable import StreamEngine

/// `--memory-budget` sizes and the machine-derived default.
@Suite struct SystemMemoryTests {
    @Test(arguments: [
        ("512MiB", 512 << 20), ("512mib", 512 << 20), ("4GiB", 4 << 30), ("1.5G", 3 << 29), ("800MB", 800 << 20),
        ("1073741824", 1 << 30), ("2048K", 2 << 20), ("1 GiB", 1 << 30), ("0", 0), ("16B", 16),
    ])
    func sizesAsPeopleWriteThem(text: String, bytes: Int) {
        #expect(SystemMemory.parseSize(text) == bytes)
    }

    @Test(arguments: [
        "", "MiB", "12x", "-1MiB", "1e400", "nan", "inf", "0%", "101%", "-5%", "9999999999TiB", "1e30", "GiB4",
    ])
    func nonsenseIsRefused(text: String) {
        #expect(SystemMemory.parseSize(text) == nil)
    }

    @Test func percentagesAreOfTheMachine() {
        #expect(SystemMemory.parseSize("100%") == SystemMemory.available)
        #expect(SystemMemory.parseSize("25%") == SystemMemory.available / 4)
    }

    @Test func theDefaultIsAQuarterOfWhatTheMachineOffers() {
        #expect(SystemMemory.available > 0)
        #expect(SystemMemory.defaultBudget == max(64 << 20, SystemMemory.available / 4))
        #expect(EngineConfiguration().retainedBytesBudget == SystemMemory.defaultBudget)
        if let limit = SystemMemory.cgroupLimit() { #expect(SystemMemory.available <= limit) }
        SystemMemory.returnFreedPages()
    }

    @Test func residentBytesCountTheBookkeeping() {
        // Inline payloads and keys: only the deque slot.
        #expect(StoredRecord.residentBytes(dataCount: 14, keyUTF8Count: 15) == MemoryLayout<StoredRecord>.stride)
        // Heap payload and key: each pays its header and malloc's 16-byte rounding.
        let r = StoredRecord.residentBytes(dataCount: 100, keyUTF8Count: 20)
        #expect(r == MemoryLayout<StoredRecord>.stride + 128 + 112 + 32 + 32)
        #expect(StoredRecord.residentBytes(dataCount: 10_240, keyUTF8Count: 0) > 10_240)
    }
}
