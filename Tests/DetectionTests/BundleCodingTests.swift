import Testing
import Detection

@Suite struct BundleCodingTests {
    /// One value of each kind; the expected bytes are Python's
    /// `struct.pack('<B', 7) + struct.pack('<H', 0x0102) + … + b'n\xc3\xa9'`.
    static let sampleBytes: [UInt8] = [
        7,                                              // u8
        2, 1,                                           // u16 0x0102
        239, 190, 173, 222,                             // u32 0xDEADBEEF
        254, 255, 255, 255, 255, 255, 255, 255,         // i64 -2
        0, 0, 192, 191,                                 // f32 -1.5
        154, 153, 153, 153, 153, 153, 185, 63,          // f64 0.1
        1,                                              // bool true
        2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 128, 190,      // [Float] 1, -0.25
        1, 0, 0, 0, 0, 0, 0, 0, 156, 117, 0, 136, 60, 228, 55, 126, // [Double] 1e300
        2, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 1, 0,     // [Int32] -1, 65536
        3, 0, 0, 0, 0, 0, 0, 0, 110, 195, 169,                      // string "né" (3 UTF-8 bytes)
    ]

    @Test func writerLayoutIsLittleEndianWithU64Counts() {
        var w = BundleWriter()
        w.u8(7); w.u16(0x0102); w.u32(0xDEAD_BEEF); w.i64(-2); w.f32(-1.5); w.f64(0.1); w.bool(true)
        w.f32Array([1, -0.25]); w.f64Array([1e300]); w.i32Array([-1, 65536]); w.string("né")
        #expect(w.bytes == Self.sampleBytes)
    }

    @Test func readerReadsBackEveryKind() throws {
        var r = BundleReader(Self.sampleBytes, section: "s")
        #expect(try r.u8() == 7 && r.u16() == 0x0102 && r.u32() == 0xDEAD_BEEF && r.i64() == -2)
        #expect(try r.f32() == -1.5 && r.f64() == 0.1 && r.bool())
        #expect(try r.f32Array() == [1, -0.25] && r.f64Array() == [1e300] && r.i32Array() == [-1, 65536])
        #expect(try r.string() == "né")
        #expect(r.isAtEnd && r.remaining == 0)
        try r.expectEnd()
    }

    @Test func errorsNameTheSectionAndOffset() throws {
        // Short read: 2 bytes left at offset 1 when 4 are needed.
        var r = BundleReader([1, 2, 3], section: "lof")
        _ = try? r.u8()
        #expect(throws: BundleError.corruptSection(section: "lof", offset: 1, reason: "needed 4 bytes, only 2 left")) {
            try r.u32()
        }
        #expect("\(r.fail("x"))" == #"section "lof": corrupt at offset 1: x"#)
        // A boolean byte other than 0 or 1.
        var b = BundleReader([0, 2], section: "flags")
        let first = try b.bool()
        #expect(first == false)
        #expect(throws: BundleError.corruptSection(section: "flags", offset: 2, reason: "bad boolean byte 2")) { try b.bool() }
        // Trailing bytes.
        var t = BundleReader([1, 2, 3], section: "t")
        _ = try? t.u8()
        #expect(throws: BundleError.corruptSection(section: "t", offset: 1, reason: "2 unexpected trailing bytes")) {
            try t.expectEnd()
        }
    }

    @Test func aCountLargerThanTheBytesLeftFailsBeforeAllocatingAndLeavesTheOffset() {
        // Count 3 floats (12 bytes) with only 8 bytes of payload.
        var w = BundleWriter()
        w.count(3); w.f32(1); w.f32(2)
        var r = BundleReader(w.bytes, section: "norm")
        #expect(throws: BundleError.corruptSection(section: "norm", offset: 0, reason: "count 3 exceeds the 8 bytes left")) {
            try r.f32Array()
        }
        #expect(r.offset == 0)
        // A count near UInt64.max does not overflow into a small size.
        var big = BundleWriter()
        big.u64(UInt64.max / 4 + 1); big.raw([0, 0, 0, 0])
        var rb = BundleReader(big.bytes, section: "big")
        #expect(throws: BundleError.self) { try rb.f32Array() }
        var rs = BundleReader(big.bytes, section: "big")
        #expect(throws: BundleError.self) { try rs.string() }
    }

    @Test func tagsAndRawBytes() throws {
        var w = BundleWriter()
        w.tag("LOF1"); w.raw([9, 8])
        #expect(w.bytes == [0x4C, 0x4F, 0x46, 0x31, 9, 8])
        var r = BundleReader(w.bytes, section: "lof")
        try r.expectTag("LOF1")
        #expect(try r.take(2) == [9, 8])
        var wrong = BundleReader(w.bytes, section: "lof")
        #expect(throws: BundleError.corruptSection(section: "lof", offset: 0, reason: "expected payload tag \"OCS1\"")) {
            try wrong.expectTag("OCS1")
        }
        var short = BundleReader([0x4C, 0x4F], section: "lof")
        #expect(throws: BundleError.self) { try short.expectTag("LOF1") }
    }
}
