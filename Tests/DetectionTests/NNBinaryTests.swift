import Testing
import Detection

@Suite struct NNBinaryTests {
    /// Python: `b'CNN1' + struct.pack('<H', 3) + struct.pack('<I', 0x01020304) + struct.pack('<I', 5)
    /// + struct.pack('<f', 2.0) + struct.pack('<Iff', 2, 0.5, -3.0) + struct.pack('<Ibbb', 3, -128, 0, 127)`.
    static let sampleBytes: [UInt8] = [
        67, 78, 78, 49,                 // magic "CNN1"
        3, 0,                           // u16 version 3
        4, 3, 2, 1,                     // u32 0x01020304
        5, 0, 0, 0,                     // int 5 (u32)
        0, 0, 0, 64,                    // f32 2.0
        2, 0, 0, 0, 0, 0, 0, 63, 0, 0, 64, 192,  // floats [0.5, -3] (u32 count)
        3, 0, 0, 0, 128, 0, 127,        // int8s [-128, 0, 127]
    ]

    @Test func writerLayout() {
        var w = NNByteWriter()
        w.magic("CNN1"); w.u16(3); w.u32(0x0102_0304); w.int(5); w.f32(2)
        w.floats([0.5, -3]); w.int8s([-128, 0, 127])
        #expect(w.bytes == Self.sampleBytes)
    }

    @Test func readerReadsBackAndChecksTheEnd() throws {
        var r = NNByteReader(Self.sampleBytes)
        try r.expectMagic("CNN1")
        try r.expectVersion(3)
        #expect(try r.u32("x") == 0x0102_0304 && r.int("n") == 5 && r.f32("f") == 2)
        #expect(try r.floats("w", count: 2) == [0.5, -3])
        #expect(try r.int8s("q") == [-128, 0, 127])
        #expect(r.remaining == 0)
        try r.expectEnd()
    }

    @Test func errorsSayWhatWasBeingReadAndWhere() {
        var bad = NNByteReader(Self.sampleBytes)
        #expect(throws: NNFormatError.badMagic(expected: "LST1", found: [67, 78, 78, 49])) { try bad.expectMagic("LST1") }
        var version = NNByteReader(Self.sampleBytes)
        try? version.expectMagic("CNN1")
        #expect(throws: NNFormatError.unsupportedVersion(found: 3, supported: 4)) { try version.expectVersion(4) }
        // Cut inside the float array: the count says 2 values (8 bytes) at offset 22, 6 are there.
        var cut = NNByteReader(Array(Self.sampleBytes.prefix(28)))
        try? cut.expectMagic("CNN1"); try? cut.expectVersion(3)
        _ = try? cut.u32("x"); _ = try? cut.int("n"); _ = try? cut.f32("f")
        #expect(throws: NNFormatError.truncated(context: "conv.weight", offset: 22, needed: 8, available: 6)) {
            try cut.floats("conv.weight")
        }
        #expect(NNFormatError.truncated(context: "conv.weight", offset: 22, needed: 8, available: 6).description
            == "truncated model data while reading conv.weight: need 8 bytes at offset 22, only 6 left")
        // A count over the limit, a count that disagrees with the shape, leftovers.
        var big = NNByteReader([0, 1, 0, 0])
        #expect(throws: NNFormatError.invalidShape("hidden = 256 exceeds 255")) { try big.int("hidden", limit: 255) }
        var shape = NNByteReader([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: NNFormatError.invalidShape("dense.bias has 2 values, expected 3")) { try shape.floats("dense.bias", count: 3) }
        var rest = NNByteReader([1, 0, 9])
        _ = try? rest.u16("v")
        #expect(throws: NNFormatError.trailingBytes(1)) { try rest.expectEnd() }
    }

    @Test func floatBitPatternsSurviveARoundTrip() throws {
        let values: [Float] = [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 / 3]
        var w = NNByteWriter()
        w.floats(values); w.f32(.nan)
        var r = NNByteReader(w.bytes)
        #expect(try r.floats("v").map(\.bitPattern) == values.map(\.bitPattern))
        #expect(try r.f32("nan").isNaN)
    }
}
