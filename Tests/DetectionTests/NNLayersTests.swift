import Testing
@testable import Detection
import ModelFixtures

@Suite struct NNLayersTests {
    @Test func denseApplyMatchesANaiveLoop() {
        var r = TestRNG(state: 11)
        let inputs = 9, outputs = 4, rows = 6
        let w = (0..<inputs * outputs).map { _ in Float(r.normal()) }
        let b = (0..<outputs).map { _ in Float(r.normal()) }
        let x = (0..<rows * inputs).map { _ in Float(r.normal()) }
        let layer = DenseLayer(inputs: inputs, outputs: outputs, weight: w, bias: b)
        var y = [Float](repeating: .nan, count: rows * outputs)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { layer.apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) } }
        for i in 0..<rows {
            for o in 0..<outputs {
                var s = Double(b[o])
                for k in 0..<inputs { s += Double(w[o * inputs + k]) * Double(x[i * inputs + k]) }
                #expect(abs(Double(y[i * outputs + o]) - s) < 1e-4, "row \(i) out \(o)")
            }
        }
    }

    @Test func denseHandComputedAndNoRows() {
        // W = [[1, 2], [3, 4], [-1, 0]], b = [0.5, 0, 1], x = [1, -1] → [-0.5, -1, 0].
        let layer = DenseLayer(inputs: 2, outputs: 3, weight: [1, 2, 3, 4, -1, 0], bias: [0.5, 0, 1])
        var y = [Float](repeating: 99, count: 3)
        [Float(1), -1].withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { layer.apply(xp.baseAddress!, rows: 1, into: $0.baseAddress!) } }
        #expect(y == [-0.5, -1, 0])
        y = [99, 99, 99]
        [Float(1), -1].withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { layer.apply(xp.baseAddress!, rows: 0, into: $0.baseAddress!) } }
        #expect(y == [99, 99, 99])  // zero rows: output untouched
    }

    @Test func layersRoundTripAndNameTheFieldThatIsShort() throws {
        let dense = DenseLayer(inputs: 2, outputs: 1, weight: [1, 2], bias: [3])
        let conv = Conv1DLayer(inChannels: 1, outChannels: 2, kernel: 3, weight: [1, 2, 3, 4, 5, 6], bias: [0, 1])
        let lstm = LSTMLayer(inputs: 1, hidden: 1, wx: [1, 2, 3, 4], wh: [5, 6, 7, 8], bias: [0, 0, 1, 0])
        var w = NNByteWriter()
        dense.encode(into: &w); conv.encode(into: &w); lstm.encode(into: &w)
        var r = NNByteReader(w.bytes)
        #expect(try DenseLayer(decoding: &r, "d") == dense)
        #expect(try Conv1DLayer(decoding: &r, "c") == conv)
        #expect(try LSTMLayer(decoding: &r, "l") == lstm)
        try r.expectEnd()
        #expect(conv.rowWidth == 3)
        // The weight count must be inputs × outputs; the error names the field.
        var cut = NNByteReader(Array(w.bytes.prefix(12)))
        #expect { _ = try DenseLayer(decoding: &cut, "head") } throws: { "\($0)".contains("head.weight") }
        // An even kernel is refused at decode.
        var ew = NNByteWriter()
        ew.int(1); ew.int(1); ew.int(2); ew.floats([1, 2]); ew.floats([0])
        var er = NNByteReader(ew.bytes)
        #expect(throws: NNFormatError.invalidShape("c.kernel must be odd")) { _ = try Conv1DLayer(decoding: &er, "c") }
    }
}
