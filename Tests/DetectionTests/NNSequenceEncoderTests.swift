import Testing
import Detection

@Suite struct NNSequenceEncoderTests {
    @Test func sequenceEncoderChannels() {
        let enc = SequenceEncoder(seqLen: 2)
        let raw: [Float] = [1, 65535, 0, 0.001, 0x12, -1, 40, 0, 0, 0x01]
        let out = enc.encode(raw: raw, lengths: [2], count: 1)
        #expect(out.count == 2 * SequenceEncoder.channels)
        #expect(out[0] == 1 && abs(out[1] - 1) < 1e-5 && out[2] == 0)
        #expect(Array(out[4 ..< 12]) == [0, 1, 0, 0, 1, 0, 0, 0]) // SYN + ACK
        #expect(out[12] == -1 && out[16] == 1) // second packet: inbound, FIN
        let short = enc.encode(raw: raw, lengths: [1], count: 1)
        #expect(short[12 ..< 24].allSatisfy { $0 == 0 })
    }
}

extension NNSequenceEncoderTests {
    static func encode(_ p: [Float]) -> [Float] {
        var out = [Float](repeating: .nan, count: SequenceEncoder.channels)
        out.withUnsafeMutableBufferPointer {
            SequenceEncoder.encodePacket(direction: p[0], ipLength: p[1], payloadLength: p[2],
                                         interArrival: p[3], flags: p[4], into: $0.baseAddress!)
        }
        return out
    }

    /// Expected values from numpy: log1p(1500)/log1p(65535) = 0.659482,
    /// log1p(1460)/log1p(65535) = 0.657046, log1p(0.02 s · 1e6)/log1p(1e8) = 0.537631.
    @Test func lengthsAndGapsOnTheLogScale() {
        let e = Self.encode([1, 1500, 1460, 0.02, 0x18])
        #expect(abs(e[1] - 0.659482) < 1e-5 && abs(e[2] - 0.657046) < 1e-5 && abs(e[3] - 0.537631) < 1e-5)
        #expect(Array(e[4...]) == [0, 0, 0, 1, 1, 0, 0, 0])  // PSH + ACK
    }

    @Test func outOfRangeInputsAreClamped() {
        // A gap of a day: log1p(8.64e10)/log1p(1e8) = 1.367064, under the 1.5 cap; a gap of 1e30 s is capped.
        #expect(abs(Self.encode([1, 0, 0, 86_400, 0])[3] - 1.367064) < 1e-4)
        #expect(Self.encode([1, 0, 0, 1e30, 0])[3] == 1.5)
        // Negative lengths and gaps count as 0; flags above 255 are all bits; direction 0 stays 0.
        let e = Self.encode([0, -5, -1, -2, 300])
        #expect(e[0] == 0 && e[1] == 0 && e[2] == 0 && e[3] == 0)
        #expect(Array(e[4...]) == [1, 1, 1, 1, 1, 1, 1, 1])
        #expect(Array(Self.encode([-0.5, 0, 0, 0, -7])[4...]) == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Self.encode([-0.5, 0, 0, 0, 0])[0] == -1)
    }

    @Test func lengthsOutsideTheWindowAreClampedPerFlow() {
        let enc = SequenceEncoder(seqLen: 2)
        // Two flows of two packets: the first claims 5 packets (clamped to 2), the second -1 (none).
        let p: [Float] = [1, 100, 60, 0, 2]
        let raw = p + p + p + p
        let out = enc.encode(raw: raw, lengths: [5, -1], count: 2)
        #expect(out.count == 2 * 2 * 12)
        #expect(Array(out[0..<12]) == Self.encode(p) && Array(out[12..<24]) == Self.encode(p))
        #expect(out[24...].allSatisfy { $0 == 0 })
    }
}
