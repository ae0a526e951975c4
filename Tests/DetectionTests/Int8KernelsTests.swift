import Testing
import Detection
import Training

/// The int8 matrix-vector kernels (fast, portable, two-row and widened
/// variants) against a plain integer dot product.
@Suite struct Int8KernelsTests {
    @Test func int8KernelMatchesReference() {
        var rng = NNRandom(seed: 77)
        for (outputs, inputs) in [(32, 36), (7, 67), (128, 44), (5, 3), (16, 1)] {
            let w = (0 ..< outputs * inputs).map { _ in Int8.random(in: -127 ... 127, using: &rng) }
            let m = Int8Matrix(outputs: outputs, inputs: inputs, rowMajor: w, scales: [Float](repeating: 1, count: outputs))
            #expect(m.rowMajor == w)
            var x = [Int16](repeating: 0, count: 2 * m.pairs)
            for i in 0 ..< inputs { x[i] = Int16.random(in: -127 ... 127, using: &rng) }
            var y = x.reversed() as [Int16]
            if inputs % 2 == 1 { y[inputs] = 0 }
            var fast = [Int32](repeating: 0, count: m.paddedOutputs), fast2 = fast, portable = fast
            var wide = fast, wide2 = fast, widePortable = fast
            m.packed.withUnsafeBufferPointer { wp in
                Int8Kernels.matvec(x, wp.baseAddress!, pairs: m.pairs, blocks: m.blocks, into: &fast)
                Int8Kernels.matvecPortable(x, wp.baseAddress!, pairs: m.pairs, blocks: m.blocks, into: &portable)
                var other = fast
                Int8Kernels.matvec2(y, x, wp.baseAddress!, pairs: m.pairs, blocks: m.blocks, into: &other, &fast2)
            }
            let cache = Int8WidenedWeights()
            let w16 = cache.weights(m, slot: 0)
            #expect(cache.weights(m, slot: 0) == w16)
            Int8Kernels.matvec(x, widened: w16, pairs: m.pairs, blocks: m.blocks, into: &wide)
            Int8Kernels.matvecWidenedPortable(x, w16, pairs: m.pairs, blocks: m.blocks, into: &widePortable)
            var other = wide
            Int8Kernels.matvec2(y, x, widened: w16, pairs: m.pairs, blocks: m.blocks, into: &other, &wide2)
            for o in 0 ..< outputs {
                var ref: Int32 = 0
                for i in 0 ..< inputs { ref += Int32(w[o * inputs + i]) * Int32(x[i]) }
                #expect(fast[o] == ref && portable[o] == ref && fast2[o] == ref)
                #expect(wide[o] == ref && wide2[o] == ref && widePortable[o] == ref)
            }
        }
    }
}
