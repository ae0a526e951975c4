import Testing
import Detection

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct NNMathTests {
    @Test func vectorAndScalarActivationsAreBitIdentical() {
        // The 8-lane LSTM cell (release builds) and the scalar one (training, debug) must agree.
        for start in stride(from: -100, to: 100, by: 8) {
            var v = SIMD8<Float>()
            for i in 0 ..< 8 { v[i] = Float(start + i) * 0.37 }
            let e = NNMath.exp(v), s = NNMath.sigmoid(v), t = NNMath.tanh(v)
            for i in 0 ..< 8 {
                #expect(e[i] == NNMath.exp(v[i]))
                #expect(s[i] == NNMath.sigmoid(v[i]))
                #expect(t[i] == NNMath.tanh(v[i]))
            }
        }
    }

    @Test func fastExpIsAccurate() {
        var worst: Float = 0
        for i in -800 ... 800 {
            let x = Float(i) / 10
            worst = max(worst, abs(NNMath.exp(x) - expf(x)) / expf(x))
        }
        #expect(worst < 1e-5)
        #expect(NNMath.roundToInt32(2.5) == 2 && NNMath.roundToInt32(-3.6) == -4)
    }
}
