import Foundation
import Testing
import Detection
import ModelFixtures

/// The float LSTM against its documented definition in Double: gates i, f,
/// g, o from `wx·x + wh·h + b`, c = f·c + i·g, h = o·tanh(c) over the flow's
/// valid packets, then [h ‖ stats] → dense → softmax.
@Suite struct LSTMModelTests {
    static func random(_ n: Int, _ r: inout TestRNG, scale: Double = 0.5) -> [Float] {
        (0..<n).map { _ in Float(r.normal() * scale) }
    }

    // hidden 9: the cell's 8-wide SIMD loop and its scalar tail both run.
    static let shape = NNShape(seqLen: 5, channels: 3, statsDim: 2, classes: 3)
    static let hidden = 9

    static func model() -> LSTMModel {
        var r = TestRNG(state: 31)
        let h = hidden
        let l = LSTMLayer(inputs: 3, hidden: h, wx: random(4 * h * 3, &r), wh: random(4 * h * h, &r), bias: random(4 * h, &r))
        let head = DenseLayer(inputs: h + 2, outputs: 3, weight: random(3 * (h + 2), &r), bias: random(3, &r))
        return LSTMModel(shape: shape, lstm: l, head: head)
    }

    static func reference(_ m: LSTMModel, sequence: [Float], length: Int, stats: [Float]) -> [Double] {
        let l = m.lstm, h = l.hidden, c = m.shape.channels
        func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        var hs = [Double](repeating: 0, count: h), cs = [Double](repeating: 0, count: h)
        for t in 0..<min(max(length, 0), m.shape.seqLen) {
            var g = (0..<4 * h).map { Double(l.bias[$0]) }
            for r in 0..<4 * h {
                for k in 0..<c { g[r] += Double(l.wx[r * c + k]) * Double(sequence[t * c + k]) }
                for k in 0..<h { g[r] += Double(l.wh[r * h + k]) * hs[k] }
            }
            for j in 0..<h {
                let i = sigmoid(g[j]), f = sigmoid(g[h + j]), gg = tanh(g[2 * h + j]), o = sigmoid(g[3 * h + j])
                cs[j] = f * cs[j] + i * gg
                hs[j] = o * tanh(cs[j])
            }
        }
        let input = hs + stats.map(Double.init)
        return referenceHeadProbabilities(m.head, input)
    }

    @Test func probabilitiesMatchTheDefinition() {
        let m = Self.model()
        var r = TestRNG(state: 32)
        let lengths = [0, 1, 3, 5, 8]
        let per = 5 * 3
        let seq = Self.random(lengths.count * per, &r, scale: 1), stats = Self.random(lengths.count * 2, &r, scale: 1)
        var probs: [Float] = []
        m.predictProba(sequences: seq, lengths: lengths, stats: stats, count: lengths.count, scratch: LSTMScratch(), into: &probs)
        #expect(probs.count == lengths.count * 3)
        for (i, len) in lengths.enumerated() {
            let want = Self.reference(m, sequence: Array(seq[(i * per)..<((i + 1) * per)]), length: len,
                                      stats: Array(stats[(i * 2)..<((i + 1) * 2)]))
            for k in 0..<3 {
                #expect(abs(Double(probs[i * 3 + k]) - want[k]) < 1e-4, "flow \(i) class \(k): \(probs[i * 3 + k]) vs \(want[k])")
            }
        }
    }

    @Test func anEmptyFlowHasAZeroHiddenStateAndLaterPacketsAreIgnored() throws {
        let m = Self.model()
        var r = TestRNG(state: 33)
        let seq = Self.random(15, &r, scale: 1)
        var out = [Float](repeating: .nan, count: Self.hidden)
        NNBatch.with(sequences: seq, lengths: [0], stats: [0, 0], count: 1) { b in
            out.withUnsafeMutableBufferPointer { m.encodeSequences(b, scratch: LSTMScratch(), into: $0.baseAddress!, stride: Self.hidden) }
        }
        #expect(out.allSatisfy { $0 == 0 })
        var changed = seq
        for i in 6..<15 { changed[i] = -50 }  // steps 2...4, length 2
        var a: [Float] = [], b: [Float] = []
        m.predictProba(sequences: seq, lengths: [2], stats: [1, 1], count: 1, scratch: LSTMScratch(), into: &a)
        m.predictProba(sequences: changed, lengths: [2], stats: [1, 1], count: 1, scratch: LSTMScratch(), into: &b)
        #expect(a == b)
        #expect(try LSTMModel(decoding: m.encode()) == m)
    }
}
