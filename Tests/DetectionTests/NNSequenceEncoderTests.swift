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
