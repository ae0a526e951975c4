#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
import Synchronization

/// Source of `Int8Matrix.id`s (lets scratch caches recognise the weights they widened).
private let int8MatrixIDs = Atomic<UInt64>(1)

/// An int8 weight matrix (`outputs x inputs`, symmetric per-output-channel scales) packed for
/// the int8 × int8 → int32 kernels.
///
/// Packed layout: outputs are grouped in blocks of 16; within a block, for each pair of inputs
/// `(2p, 2p+1)`, the 16 outputs' two weights are stored next to each other
/// (`[block][pair][output 0..<16][2]`). A kernel step broadcasts one input pair and multiply-adds
/// it against 16 outputs at once (pmaddwd on x86_64), so no horizontal sums are needed.
/// `inputs` is padded to an even count and `outputs` to a multiple of 16 with zero weights.
public struct Int8Matrix: Sendable, Equatable {
    public static let block = 16

    public let outputs: Int
    public let inputs: Int
    /// Number of input pairs (`ceil(inputs / 2)`).
    public let pairs: Int
    public let blocks: Int
    /// Packed int8 weights, `blocks * pairs * 32` bytes.
    public let packed: [Int8]
    /// Per-output dequantisation factor: real weight ≈ int8 weight × scale.
    public let scales: [Float]
    /// Process-unique identity of these weights (copies share it); not serialized and not
    /// part of equality.
    public let id: UInt64

    public static func == (a: Int8Matrix, b: Int8Matrix) -> Bool {
        a.outputs == b.outputs && a.inputs == b.inputs && a.packed == b.packed && a.scales == b.scales
    }

    /// Packs row-major int8 weights `[outputs][inputs]`.
    public init(outputs: Int, inputs: Int, rowMajor w: [Int8], scales: [Float]) {
        precondition(w.count == outputs * inputs && scales.count == outputs)
        self.outputs = outputs; self.inputs = inputs; self.scales = scales
        pairs = (inputs + 1) / 2
        blocks = (outputs + Self.block - 1) / Self.block
        var p = [Int8](repeating: 0, count: blocks * pairs * 2 * Self.block)
        for o in 0 ..< outputs {
            let b = o / Self.block, lane = o % Self.block
            for i in 0 ..< inputs {
                p[((b * pairs + i / 2) * Self.block + lane) * 2 + (i & 1)] = w[o * inputs + i]
            }
        }
        packed = p
        id = int8MatrixIDs.add(1, ordering: .relaxed).oldValue
    }

    /// Writes the packed weights sign-extended to Int16 (same layout, `blocks * pairs * 32`
    /// values) — the operand form of pmaddwd.
    public func widen(into out: UnsafeMutablePointer<Int16>) {
        for i in 0 ..< packed.count { out[i] = Int16(packed[i]) }
    }

    /// Quantizes float weights `[outputs][inputs]` per output channel: scale = maxabs / 127.
    public init(quantizing w: [Float], outputs: Int, inputs: Int) {
        precondition(w.count == outputs * inputs)
        var q = [Int8](repeating: 0, count: w.count)
        var scales = [Float](repeating: 1, count: outputs)
        for o in 0 ..< outputs {
            var m: Float = 0
            for i in 0 ..< inputs { m = max(m, abs(w[o * inputs + i])) }
            let s = m > 0 ? m / 127 : 1
            scales[o] = s
            for i in 0 ..< inputs { q[o * inputs + i] = Int8(max(-127, min(127, (w[o * inputs + i] / s).rounded()))) }
        }
        self.init(outputs: outputs, inputs: inputs, rowMajor: q, scales: scales)
    }

    /// Row-major int8 weights `[outputs][inputs]` (the serialized form).
    public var rowMajor: [Int8] {
        var w = [Int8](repeating: 0, count: outputs * inputs)
        for o in 0 ..< outputs {
            let b = o / Self.block, lane = o % Self.block
            for i in 0 ..< inputs { w[o * inputs + i] = packed[((b * pairs + i / 2) * Self.block + lane) * 2 + (i & 1)] }
        }
        return w
    }

    /// Bytes of int8 weights plus Float scales.
    public var byteCount: Int { outputs * inputs + 4 * outputs }

    /// Padded output count (multiple of 16): the size of a kernel's Int32 output row.
    public var paddedOutputs: Int { blocks * Self.block }

    func encode(into w: inout NNByteWriter) {
        w.int(outputs); w.int(inputs); w.int8s(rowMajor); w.floats(scales)
    }

    init(decoding r: inout NNByteReader, _ name: String) throws {
        let o = try r.int("\(name).outputs"), i = try r.int("\(name).inputs")
        let w = try r.int8s("\(name).weights", count: o * i)
        let s = try r.floats("\(name).scales", count: o)
        self.init(outputs: o, inputs: i, rowMajor: w, scales: s)
    }
}

/// int8 × int8 → int32 kernels. Activations are int8-range values (−127...127) held in Int16
/// lanes (what pmaddwd consumes); rows must have `2 * pairs` readable elements.
public enum Int8Kernels {
    /// Quantizes `count` floats with `inverseScale` into −127...127 (round to nearest).
    @inline(__always)
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, inverseScale: Float,
                                into q: UnsafeMutablePointer<Int16>) {
        for i in 0 ..< count {
            var v = x[i] * inverseScale
            v = v > 127 ? 127 : (v < -127 ? -127 : v)
            q[i] = Int16(truncatingIfNeeded: NNMath.roundToInt32(v))
        }
    }

    #if arch(x86_64)
    /// One block's four accumulators: 16 outputs at `out`.
    @inline(__always)
    static func storeBlock(_ a0: __m128i, _ a1: __m128i, _ a2: __m128i, _ a3: __m128i,
                           to out: UnsafeMutablePointer<Int32>) {
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: a0, as: __m128i.self)
        o.storeBytes(of: a1, toByteOffset: 16, as: __m128i.self)
        o.storeBytes(of: a2, toByteOffset: 32, as: __m128i.self)
        o.storeBytes(of: a3, toByteOffset: 48, as: __m128i.self)
    }
    #endif

    /// out[o] = Σ_i x[i]·W[o][i] for all padded outputs of `w` (one activation row).
    @inline(__always)
    public static func matvec(_ x: UnsafePointer<Int16>, _ w: UnsafePointer<Int8>, pairs: Int, blocks: Int,
                              into out: UnsafeMutablePointer<Int32>) {
        #if arch(x86_64)
        let xr = UnsafeRawPointer(x)
        var wp = UnsafeRawPointer(w)
        let zero = _mm_setzero_si128()
        for b in 0 ..< blocks {
            var a0 = zero, a1 = zero, a2 = zero, a3 = zero
            for p in 0 ..< pairs {
                let xv = _mm_set1_epi32(xr.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                let v0 = wp.loadUnaligned(as: __m128i.self)
                let v1 = wp.loadUnaligned(fromByteOffset: 16, as: __m128i.self)
                wp += 32
                let s0 = _mm_cmpgt_epi8(zero, v0), s1 = _mm_cmpgt_epi8(zero, v1)
                a0 = _mm_add_epi32(a0, _mm_madd_epi16(xv, _mm_unpacklo_epi8(v0, s0)))
                a1 = _mm_add_epi32(a1, _mm_madd_epi16(xv, _mm_unpackhi_epi8(v0, s0)))
                a2 = _mm_add_epi32(a2, _mm_madd_epi16(xv, _mm_unpacklo_epi8(v1, s1)))
                a3 = _mm_add_epi32(a3, _mm_madd_epi16(xv, _mm_unpackhi_epi8(v1, s1)))
            }
            storeBlock(a0, a1, a2, a3, to: out + b * 16)
        }
        #else
        matvecPortable(x, w, pairs: pairs, blocks: blocks, into: out)
        #endif
    }

    /// Two activation rows against the same weights (each weight vector widened once).
    @inline(__always)
    public static func matvec2(_ x0: UnsafePointer<Int16>, _ x1: UnsafePointer<Int16>, _ w: UnsafePointer<Int8>,
                               pairs: Int, blocks: Int,
                               into out0: UnsafeMutablePointer<Int32>, _ out1: UnsafeMutablePointer<Int32>) {
        #if arch(x86_64)
        let xr0 = UnsafeRawPointer(x0), xr1 = UnsafeRawPointer(x1)
        var wp = UnsafeRawPointer(w)
        let zero = _mm_setzero_si128()
        for b in 0 ..< blocks {
            var a0 = zero, a1 = zero, a2 = zero, a3 = zero
            var c0 = zero, c1 = zero, c2 = zero, c3 = zero
            for p in 0 ..< pairs {
                let xv = _mm_set1_epi32(xr0.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                let yv = _mm_set1_epi32(xr1.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                let v0 = wp.loadUnaligned(as: __m128i.self)
                let v1 = wp.loadUnaligned(fromByteOffset: 16, as: __m128i.self)
                wp += 32
                let s0 = _mm_cmpgt_epi8(zero, v0), s1 = _mm_cmpgt_epi8(zero, v1)
                let w0 = _mm_unpacklo_epi8(v0, s0), w1 = _mm_unpackhi_epi8(v0, s0)
                let w2 = _mm_unpacklo_epi8(v1, s1), w3 = _mm_unpackhi_epi8(v1, s1)
                a0 = _mm_add_epi32(a0, _mm_madd_epi16(xv, w0)); c0 = _mm_add_epi32(c0, _mm_madd_epi16(yv, w0))
                a1 = _mm_add_epi32(a1, _mm_madd_epi16(xv, w1)); c1 = _mm_add_epi32(c1, _mm_madd_epi16(yv, w1))
                a2 = _mm_add_epi32(a2, _mm_madd_epi16(xv, w2)); c2 = _mm_add_epi32(c2, _mm_madd_epi16(yv, w2))
                a3 = _mm_add_epi32(a3, _mm_madd_epi16(xv, w3)); c3 = _mm_add_epi32(c3, _mm_madd_epi16(yv, w3))
            }
            storeBlock(a0, a1, a2, a3, to: out0 + b * 16)
            storeBlock(c0, c1, c2, c3, to: out1 + b * 16)
        }
        #else
        matvecPortable(x0, w, pairs: pairs, blocks: blocks, into: out0)
        matvecPortable(x1, w, pairs: pairs, blocks: blocks, into: out1)
        #endif
    }

    /// `matvec` with weights already widened to Int16 (`Int8Matrix.widen`): one load and one
    /// pmaddwd per 4 outputs and input pair, no sign extension in the loop.
    @inline(__always)
    public static func matvec(_ x: UnsafePointer<Int16>, widened w: UnsafePointer<Int16>, pairs: Int, blocks: Int,
                              into out: UnsafeMutablePointer<Int32>) {
        #if arch(x86_64)
        let xr = UnsafeRawPointer(x)
        var wp = UnsafeRawPointer(w)
        let zero = _mm_setzero_si128()
        for b in 0 ..< blocks {
            var a0 = zero, a1 = zero, a2 = zero, a3 = zero
            for p in 0 ..< pairs {
                let xv = _mm_set1_epi32(xr.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                a0 = _mm_add_epi32(a0, _mm_madd_epi16(wp.loadUnaligned(as: __m128i.self), xv))
                a1 = _mm_add_epi32(a1, _mm_madd_epi16(wp.loadUnaligned(fromByteOffset: 16, as: __m128i.self), xv))
                a2 = _mm_add_epi32(a2, _mm_madd_epi16(wp.loadUnaligned(fromByteOffset: 32, as: __m128i.self), xv))
                a3 = _mm_add_epi32(a3, _mm_madd_epi16(wp.loadUnaligned(fromByteOffset: 48, as: __m128i.self), xv))
                wp += 64
            }
            storeBlock(a0, a1, a2, a3, to: out + b * 16)
        }
        #else
        matvecWidenedPortable(x, w, pairs: pairs, blocks: blocks, into: out)
        #endif
    }

    /// Two activation rows against widened weights (each weight vector loaded once).
    @inline(__always)
    public static func matvec2(_ x0: UnsafePointer<Int16>, _ x1: UnsafePointer<Int16>, widened w: UnsafePointer<Int16>,
                               pairs: Int, blocks: Int,
                               into out0: UnsafeMutablePointer<Int32>, _ out1: UnsafeMutablePointer<Int32>) {
        #if arch(x86_64)
        let xr0 = UnsafeRawPointer(x0), xr1 = UnsafeRawPointer(x1)
        var wp = UnsafeRawPointer(w)
        let zero = _mm_setzero_si128()
        for b in 0 ..< blocks {
            var a0 = zero, a1 = zero, a2 = zero, a3 = zero
            var c0 = zero, c1 = zero, c2 = zero, c3 = zero
            for p in 0 ..< pairs {
                let xv = _mm_set1_epi32(xr0.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                let yv = _mm_set1_epi32(xr1.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self))
                let w0 = wp.loadUnaligned(as: __m128i.self)
                let w1 = wp.loadUnaligned(fromByteOffset: 16, as: __m128i.self)
                let w2 = wp.loadUnaligned(fromByteOffset: 32, as: __m128i.self)
                let w3 = wp.loadUnaligned(fromByteOffset: 48, as: __m128i.self)
                wp += 64
                a0 = _mm_add_epi32(a0, _mm_madd_epi16(w0, xv)); c0 = _mm_add_epi32(c0, _mm_madd_epi16(w0, yv))
                a1 = _mm_add_epi32(a1, _mm_madd_epi16(w1, xv)); c1 = _mm_add_epi32(c1, _mm_madd_epi16(w1, yv))
                a2 = _mm_add_epi32(a2, _mm_madd_epi16(w2, xv)); c2 = _mm_add_epi32(c2, _mm_madd_epi16(w2, yv))
                a3 = _mm_add_epi32(a3, _mm_madd_epi16(w3, xv)); c3 = _mm_add_epi32(c3, _mm_madd_epi16(w3, yv))
            }
            storeBlock(a0, a1, a2, a3, to: out0 + b * 16)
            storeBlock(c0, c1, c2, c3, to: out1 + b * 16)
        }
        #else
        matvecWidenedPortable(x0, w, pairs: pairs, blocks: blocks, into: out0)
        matvecWidenedPortable(x1, w, pairs: pairs, blocks: blocks, into: out1)
        #endif
    }

    /// Reference implementation of the widened-weight `matvec`.
    public static func matvecWidenedPortable(_ x: UnsafePointer<Int16>, _ w: UnsafePointer<Int16>, pairs: Int,
                                             blocks: Int, into out: UnsafeMutablePointer<Int32>) {
        for b in 0 ..< blocks {
            for lane in 0 ..< 16 {
                var acc: Int32 = 0
                for p in 0 ..< pairs {
                    let base = w + ((b * pairs + p) * 16 + lane) * 2
                    acc &+= Int32(x[2 * p]) &* Int32(base[0]) &+ Int32(x[2 * p + 1]) &* Int32(base[1])
                }
                out[b * 16 + lane] = acc
            }
        }
    }

    /// Reference / non-x86 implementation of `matvec`.
    public static func matvecPortable(_ x: UnsafePointer<Int16>, _ w: UnsafePointer<Int8>, pairs: Int, blocks: Int,
                                      into out: UnsafeMutablePointer<Int32>) {
        for b in 0 ..< blocks {
            var acc = SIMD16<Int32>()
            for p in 0 ..< pairs {
                let x0 = Int32(x[2 * p]), x1 = Int32(x[2 * p + 1])
                let base = w + (b * pairs + p) * 32
                for lane in 0 ..< 16 {
                    acc[lane] &+= x0 &* Int32(base[2 * lane]) &+ x1 &* Int32(base[2 * lane + 1])
                }
            }
            for lane in 0 ..< 16 { out[b * 16 + lane] = acc[lane] }
        }
    }

    /// The int8 classifiers' dense head on `count` rows of Float head input
    /// (`head.inputs` values each): each row quantized per feature with
    /// `inverseFeatureScales` (the feature scales are folded into `head`'s
    /// weights), one matrix-vector product, dequantized with `head.scales`,
    /// plus `bias`, softmax; `head.outputs` probabilities per row into `probs`.
    /// `quantized` holds `2 * head.pairs` values, `acc` `head.paddedOutputs`.
    public static func denseSoftmax(_ features: UnsafePointer<Float>, count: Int, head: Int8Matrix,
                                    widened wh: UnsafePointer<Int16>, bias: [Float], inverseFeatureScales: [Float],
                                    quantized fq: UnsafeMutablePointer<Int16>, acc: UnsafeMutablePointer<Int32>,
                                    into probs: UnsafeMutablePointer<Float>) {
        let fc = head.inputs, k = head.outputs
        if fc < 2 * head.pairs { fq[fc] = 0 } // the pad of an odd feature count
        head.scales.withUnsafeBufferPointer { dqh in
        bias.withUnsafeBufferPointer { bh in
        inverseFeatureScales.withUnsafeBufferPointer { ifs in
            for n in 0 ..< count {
                let f = features + n * fc
                for i in 0 ..< fc {
                    var v = f[i] * ifs[i]
                    v = v > 127 ? 127 : (v < -127 ? -127 : v)
                    fq[i] = Int16(truncatingIfNeeded: NNMath.roundToInt32(v))
                }
                matvec(fq, widened: wh, pairs: head.pairs, blocks: head.blocks, into: acc)
                let logits = probs + n * k
                for o in 0 ..< k { logits[o] = Float(acc[o]) * dqh[o] + bh[o] }
                NNMath.softmaxRows(logits, rows: 1, cols: k)
            }
        } } }
    }
}

/// Per-thread cache of widened (Int16) copies of a model's int8 weight matrices, like the
/// packing buffers of a GEMM library: refreshed only when the scratch meets a different
/// matrix (by `Int8Matrix.id`), so steady-state scoring never re-widens.
public final class Int8WidenedWeights {
    private var buffers: [NNBuffer<Int16>] = []
    private var ids: [UInt64] = []

    public init() {}

    /// Widened weights of `m` in slot `slot` (one slot per matrix of a model).
    @inline(__always)
    public func weights(_ m: Int8Matrix, slot: Int) -> UnsafePointer<Int16> {
        if slot < ids.count && ids[slot] == m.id { return UnsafePointer(buffers[slot].pointer) }
        return refresh(m, slot: slot)
    }

    private func refresh(_ m: Int8Matrix, slot: Int) -> UnsafePointer<Int16> {
        while ids.count <= slot { ids.append(0); buffers.append(NNBuffer(zero: 0)) }
        let p = buffers[slot].ensure(m.packed.count)
        m.widen(into: p)
        ids[slot] = m.id
        return UnsafePointer(p)
    }

    /// Bytes currently held (for reporting).
    public var byteCount: Int { buffers.reduce(0) { $0 + 2 * $1.capacity } }
}
