import Testing
import Detection
import ModelFixtures
import Training

@Suite struct NNSerializationTests {
    static let d = NNFixtures.test

    static func probs(_ m: CNNModel) -> [Float] {
        var p: [Float] = []
        m.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count, scratch: CNNScratch(), into: &p)
        return p
    }
    static func probs(_ m: LSTMModel) -> [Float] {
        var p: [Float] = []
        m.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count, scratch: LSTMScratch(), into: &p)
        return p
    }
    static func probs(_ m: CNNInt8Model) -> [Float] {
        var p: [Float] = []
        m.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count, scratch: CNNInt8Scratch(), into: &p)
        return p
    }
    static func probs(_ m: LSTMInt8Model) -> [Float] {
        var p: [Float] = []
        m.predictProba(sequences: d.sequences, lengths: d.lengths, stats: d.stats, count: d.count, scratch: LSTMInt8Scratch(), into: &p)
        return p
    }

    @Test func roundTripsGiveIdenticalPredictions() throws {
        let cnn = try CNNModel(decoding: NNFixtures.cnn.encode())
        #expect(cnn == NNFixtures.cnn)
        #expect(Self.probs(cnn) == Self.probs(NNFixtures.cnn))
        let lstm = try LSTMModel(decoding: NNFixtures.lstm.encode())
        #expect(lstm == NNFixtures.lstm)
        #expect(Self.probs(lstm) == Self.probs(NNFixtures.lstm))
        let q = try CNNInt8Model(decoding: NNFixtures.cnnInt8.encode())
        #expect(q == NNFixtures.cnnInt8)
        #expect(Self.probs(q) == Self.probs(NNFixtures.cnnInt8))
        let ql = try LSTMInt8Model(decoding: NNFixtures.lstmInt8.encode())
        #expect(ql == NNFixtures.lstmInt8)
        #expect(Self.probs(ql) == Self.probs(NNFixtures.lstmInt8))
    }

    static func expectTruncationFails(_ bytes: [UInt8], _ decode: ([UInt8]) throws -> Void) {
        // Every proper prefix must throw (a truncated error for all but tiny prefixes).
        var cuts = Array(stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)))
        cuts.append(bytes.count - 1)
        for cut in cuts {
            #expect(throws: NNFormatError.self) { try decode(Array(bytes[..<cut])) }
            do { try decode(Array(bytes[..<cut])) } catch let e as NNFormatError {
                if case .truncated = e {} else { Issue.record("prefix \(cut): expected truncated, got \(e)") }
            } catch { Issue.record("unexpected error \(error)") }
        }
    }

    @Test func truncatedDataThrows() {
        Self.expectTruncationFails(NNFixtures.cnn.encode()) { _ = try CNNModel(decoding: $0) }
        Self.expectTruncationFails(NNFixtures.lstm.encode()) { _ = try LSTMModel(decoding: $0) }
        Self.expectTruncationFails(NNFixtures.cnnInt8.encode()) { _ = try CNNInt8Model(decoding: $0) }
        Self.expectTruncationFails(NNFixtures.lstmInt8.encode()) { _ = try LSTMInt8Model(decoding: $0) }
    }

    @Test func wrongMagicVersionAndTrailingBytesThrow() {
        var b = NNFixtures.cnn.encode()
        #expect(throws: NNFormatError.badMagic(expected: "FSLN", found: Array("FSCN".utf8))) { _ = try LSTMModel(decoding: b) }
        b[4] = 99
        #expect(throws: NNFormatError.unsupportedVersion(found: 99, supported: 1)) { _ = try CNNModel(decoding: b) }
        #expect(throws: NNFormatError.trailingBytes(1)) { _ = try CNNInt8Model(decoding: NNFixtures.cnnInt8.encode() + [0]) }
    }

    @Test func encodingIsLittleEndianWithHeader() {
        let b = NNFixtures.lstmInt8.encode()
        #expect(Array(b[0 ..< 4]) == Array("FSLQ".utf8))
        #expect(b[4] == 1 && b[5] == 0) // version 1, little-endian
        #expect(b[6] == 16 && b[7] == 0 && b[8] == 0 && b[9] == 0) // seqLen
    }
}
