/// Turns raw per-packet values into the model's input channels.
///
/// Raw packet (5 values): direction (±1), IP length, payload length, inter-arrival time in
/// seconds, TCP flags byte (0...255). Encoded packet (`SequenceEncoder.channels` = 12 values):
/// 0 direction (sign, −1/0/+1), 1 log1p(IP length)/log1p(65535), 2 log1p(payload)/log1p(65535),
/// 3 log1p(IAT in µs)/log1p(1e8) (clamped to [0, 1.5]), 4...11 TCP flag bits FIN, SYN, RST,
/// PSH, ACK, URG, ECE, CWR as 0/1.
public struct SequenceEncoder: Sendable, Equatable {
    public static let rawChannels = 5
    public static let channels = 12

    public let seqLen: Int

    public init(seqLen: Int = 32) { self.seqLen = seqLen }

    public static let lenNorm: Float = 1 / Float(11.090370) // 1 / log1p(65535)
    public static let iatNorm: Float = 1 / Float(18.420681) // 1 / log1p(1e8)
    /// Inter-arrival times are taken in microseconds and capped after scaling.
    public static let iatMicroseconds: Float = 1e6, iatCap: Float = 1.5

    /// Encodes one packet into `out[0..<12]`.
    @inline(__always)
    public static func encodePacket(direction: Float, ipLength: Float, payloadLength: Float,
                                    interArrival: Float, flags: Float,
                                    into out: UnsafeMutablePointer<Float>) {
        out[0] = direction > 0 ? 1 : (direction < 0 ? -1 : 0)
        out[1] = log1pf(max(ipLength, 0)) * lenNorm
        out[2] = log1pf(max(payloadLength, 0)) * lenNorm
        out[3] = min(log1pf(max(interArrival, 0) * iatMicroseconds) * iatNorm, iatCap)
        let f = UInt8(clamping: Int(max(0, min(flags, 255))))
        for bit in 0 ..< 8 { out[4 + bit] = (f >> UInt8(bit)) & 1 == 1 ? 1 : 0 }
    }

    /// Encodes `count` flows of raw packets (`count * seqLen * 5`) into
    /// `count * seqLen * 12` channels; positions at or past a flow's length are zeroed.
    public func encode(raw: UnsafeBufferPointer<Float>, lengths: UnsafeBufferPointer<Int>, count: Int,
                       into out: UnsafeMutableBufferPointer<Float>) {
        let rc = Self.rawChannels, c = Self.channels
        precondition(raw.count >= count * seqLen * rc && out.count >= count * seqLen * c && lengths.count >= count)
        let rp = raw.baseAddress!, op = out.baseAddress!
        for n in 0 ..< count {
            let len = min(max(lengths[n], 0), seqLen)
            for t in 0 ..< seqLen {
                let dst = op + (n * seqLen + t) * c
                if t < len {
                    let src = rp + (n * seqLen + t) * rc
                    Self.encodePacket(direction: src[0], ipLength: src[1], payloadLength: src[2],
                                      interArrival: src[3], flags: src[4], into: dst)
                } else {
                    dst.update(repeating: 0, count: c)
                }
            }
        }
    }

    /// Array convenience for `encode(raw:lengths:count:into:)`.
    public func encode(raw: [Float], lengths: [Int], count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count * seqLen * Self.channels)
        raw.withUnsafeBufferPointer { r in
            lengths.withUnsafeBufferPointer { l in
                out.withUnsafeMutableBufferPointer { o in encode(raw: r, lengths: l, count: count, into: o) }
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
