// Branch-free elementwise math used by both the float and the int8 paths (and by training,
// so that gradients match the inference functions exactly).

public enum NNMath {
    /// exp(x) with ~2e-6 relative error, vectorisable (no libm call).
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = x < -87 ? -87 : (x > 88 ? 88 : x)
        let t = xc * 1.442_695_04 // log2(e)
        let k = roundToInt32(t)
        let f = (t - Float(k)) * 0.693_147_18 // ln 2 * frac, |f| <= 0.35
        // Taylor series for e^f up to f^6 (error < 3e-7 on |f| <= 0.35).
        let p = 1 + f * (1 + f * (0.5 + f * (0.166_666_67 + f * (0.041_666_668 + f * (0.008_333_334 + f * 0.001_388_889)))))
        return p * Float(bitPattern: UInt32(bitPattern: (k &+ 127) << 23))
    }

    /// Round-to-nearest-even Float → Int32 for |x| < 2^22 without the trapping range check of
    /// `Int32(_:)` (adds 1.5·2^23 so the integer lands in the mantissa), so loops vectorise.
    @inline(__always)
    public static func roundToInt32(_ x: Float) -> Int32 {
        Int32(bitPattern: (x + 12_582_912).bitPattern) &- 0x4B40_0000
    }

    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    @inline(__always)
    public static func tanh(_ x: Float) -> Float { 2 / (1 + exp(-2 * x)) - 1 }

    /// Eight-lane `exp` with the same formula as the scalar one (vector Swift SIMD, no libm).
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var xc = x.replacing(with: -87, where: x .< -87)
        xc = xc.replacing(with: 88, where: xc .> 88)
        let t = xc * 1.442_695_04
        let r = t + 12_582_912
        let k = unsafeBitCast(r, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let f = (t - (r - 12_582_912)) * 0.693_147_18
        var p = f * 0.001_388_889 + 0.008_333_334
        p = p * f + 0.041_666_668
        p = p * f + 0.166_666_67
        p = p * f + 0.5
        p = p * f + 1
        p = p * f + 1
        return p * unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
    }

    @inline(__always)
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp(-x)) }

    @inline(__always)
    public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> { 2 / (1 + exp(-2 * x)) - 1 }

    /// In-place row-wise softmax of a `rows x cols` matrix.
    public static func softmaxRows(_ z: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0 ..< rows {
            let p = z + r * cols
            var m = p[0]
            for j in 1 ..< cols where p[j] > m { m = p[j] }
            var s: Float = 0
            for j in 0 ..< cols { let e = exp(p[j] - m); p[j] = e; s += e }
            let inv = 1 / s
            for j in 0 ..< cols { p[j] *= inv }
        }
    }
}
