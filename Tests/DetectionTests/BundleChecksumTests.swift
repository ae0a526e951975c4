import Testing
import Detection

@Suite struct BundleChecksumTests {
    @Test func crc32KnownVector() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    /// Expected values from Python's `zlib.crc32` (the polynomial the bundle header uses).
    @Test func matchesZlib() {
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum((0...255).map { UInt8($0) }) == 0x2905_8C73)
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 32)) == 0x190A_55AD)
        #expect(CRC32.checksum([UInt8](repeating: 0xFF, count: 32)) == 0xFF6C_AB0B)
        // bytes((i * 37 + 11) & 0xff for i in range(1000))
        let pattern = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
        #expect(CRC32.checksum(pattern) == 0xC390_5A1D)
    }

    @Test func runningUpdateAndSlicesGiveTheOneShotValue() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
        for cut in [0, 1, 7, 500, 999, 1000] {
            let head = bytes[..<cut].withUnsafeBytes { CRC32.update(0, $0) }
            let whole = bytes[cut...].withUnsafeBytes { CRC32.update(head, $0) }
            #expect(whole == 0xC390_5A1D, "cut at \(cut)")
        }
        // A slice not starting at index 0 is checksummed from its own start.
        #expect(CRC32.checksum(Array("xx123456789".utf8)[2...]) == 0xCBF4_3926)
    }

    @Test func everySingleBitFlipChangesTheChecksum() {
        let bytes = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 91) }
        let base = CRC32.checksum(bytes)
        for i in bytes.indices {
            for bit in 0..<8 {
                var b = bytes
                b[i] ^= 1 << bit
                #expect(CRC32.checksum(b) != base, "byte \(i) bit \(bit)")
            }
        }
    }
}
