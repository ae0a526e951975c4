import Foundation
import Testing
import Detection
import ModelFixtures

/// The float CNN against its documented definition, computed by loops in
/// Double: "same"-padded conv → ReLU → conv → ReLU over the flow's valid
/// packets (steps at or past the length are zeros), [max ‖ mean] pooling,
/// the statistics appended, dense head, softmax.
@Suite struct CNNModelTests {
    static func random(_ n: Int, _ r: inout TestRNG, scale: Double = 0.5) -> [Float] {
        (0..<n).map { _ in Float(r.normal() * scale) }
    }

    static let shape = NNShape(seqLen: 6, channels: 3, statsDim: 2, classes: 4)

    static func model() -> CNNModel {
        var r = TestRNG(state: 21)
        let f1 = 5, f2 = 4, k = 3
        let c1 = Conv1DLayer(inChannels: 3, outChannels: f1, kernel: k, weight: random(f1 * k * 3, &r), bias: random(f1, &r))
        let c2 = Conv1DLayer(inChannels: f1, outChannels: f2, kernel: k, weight: random(f2 * k * f1, &r), bias: random(f2, &r))
        let head = DenseLayer(inputs: 2 * f2 + 2, outputs: 4, weight: random(4 * (2 * f2 + 2), &r), bias: random(4, &r))
        return CNNModel(shape: shape, conv1: c1, conv2: c2, head: head)
    }

    /// `[t][in]` → `[t][out]`, zero outside `0..<len`.
    static func conv(_ x: [[Double]], _ l: Conv1DLayer, len: Int) -> [[Double]] {
        let t = x.count, pad = l.kernel / 2
        return (0..<t).map { step in
            (0..<l.outChannels).map { o in
                guard step < len else { return 0 }
                var s = Double(l.bias[o])
                for j in 0..<l.kernel {
                    let src = step + j - pad
                    guard src >= 0 && src < len else { continue }
                    for c in 0..<l.inChannels { s += Double(l.weight[(o * l.kernel + j) * l.inChannels + c]) * x[src][c] }
                }
                return max(0, s)
            }
        }
    }

    static func reference(_ m: CNNModel, sequence: [Float], length: Int, stats: [Float]) -> [Double] {
        let t = m.shape.seqLen, c = m.shape.channels
        let len = min(max(length, 0), t)
        let x = (0..<t).map { s in (0..<c).map { Double(sequence[s * c + $0]) } }
        let y2 = conv(conv(x, m.conv1, len: len), m.conv2, len: len)
        let f = m.conv2.outChannels
        var mx = [Double](repeating: 0, count: f), mean = [Double](repeating: 0, count: f)
        for s in 0..<len { for j in 0..<f { mx[j] = max(mx[j], y2[s][j]); mean[j] += y2[s][j] / Double(len) } }
        let input = mx + mean + stats.map(Double.init)
        return referenceHeadProbabilities(m.head, input)
    }

    @Test func probabilitiesMatchTheDefinition() {
        let m = Self.model()
        var r = TestRNG(state: 22)
        let lengths = [0, 1, 4, 6, 9]
        let seq = Self.random(lengths.count * 6 * 3, &r, scale: 1), stats = Self.random(lengths.count * 2, &r, scale: 1)
        var probs: [Float] = []
        m.predictProba(sequences: seq, lengths: lengths, stats: stats, count: lengths.count, scratch: CNNScratch(), into: &probs)
        #expect(probs.count == lengths.count * 4)
        for (i, len) in lengths.enumerated() {
            let want = Self.reference(m, sequence: Array(seq[(i * 18)..<((i + 1) * 18)]), length: len,
                                      stats: Array(stats[(i * 2)..<((i + 1) * 2)]))
            for k in 0..<4 {
                #expect(abs(Double(probs[i * 4 + k]) - want[k]) < 1e-4, "flow \(i) class \(k): \(probs[i * 4 + k]) vs \(want[k])")
            }
        }
    }

    @Test func packetsPastTheLengthAreIgnored() {
        let m = Self.model()
        var r = TestRNG(state: 23)
        let seq = Self.random(18, &r, scale: 1), stats: [Float] = [0.3, -1]
        var other = seq
        for i in (3 * 3)..<18 { other[i] = 1000 }  // steps 3...5 changed, length 3
        var a: [Float] = [], b: [Float] = []
        m.predictProba(sequences: seq, lengths: [3], stats: stats, count: 1, scratch: CNNScratch(), into: &a)
        m.predictProba(sequences: other, lengths: [3], stats: stats, count: 1, scratch: CNNScratch(), into: &b)
        #expect(a == b)
        #expect(abs(a.reduce(0, +) - 1) < 1e-5)
    }

    @Test func decodingRefusesLayersThatDoNotChain() throws {
        let m = Self.model()
        #expect(try CNNModel(decoding: m.encode()) == m)
        // conv2 fed 4 channels where conv1 gives 5.
        var r = TestRNG(state: 24)
        let c2 = Conv1DLayer(inChannels: 4, outChannels: 4, kernel: 3, weight: Self.random(48, &r), bias: Self.random(4, &r))
        var w = NNByteWriter()
        w.magic(CNNModel.magic); w.u16(CNNModel.version)
        w.int(6); w.int(3); w.int(2); w.int(4)            // shape
        let good = m.encode()
        // Re-encode with the mismatched conv2: magic+version (6) + shape (16) + conv1, then c2, then head.
        let conv1Bytes = 12 + (4 + 4 * m.conv1.weight.count) + (4 + 4 * m.conv1.bias.count)
        var tail = NNByteWriter()
        tail.int(c2.inChannels); tail.int(c2.outChannels); tail.int(c2.kernel); tail.floats(c2.weight); tail.floats(c2.bias)
        tail.int(m.head.inputs); tail.int(m.head.outputs); tail.floats(m.head.weight); tail.floats(m.head.bias)
        let bad = Array(good[0..<(22 + conv1Bytes)]) + tail.bytes
        #expect(throws: NNFormatError.invalidShape("CNN layer dimensions do not chain")) { _ = try CNNModel(decoding: bad) }
        #expect(Array(good.prefix(22)) == w.bytes)
    }
}
