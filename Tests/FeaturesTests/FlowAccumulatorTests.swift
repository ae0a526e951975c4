import Foundation
import Testing
@testable import Decoding
@testable import Context
@testable import Features

@Suite struct FlowAccumulatorTests {
    /// The flow table reuses slots with `reset()` instead of a new
    /// accumulator: a reset one must compute exactly what a fresh one does,
    /// whatever the flow before it left behind (longer sequence, flags,
    /// windows, payload, backwards timestamps, host context).
    @Test func resetAccumulatorComputesWhatAFreshOneDoes() {
        var pool = ByteHistogramPool(capacity: 4)
        let config = FeatureConfig()
        let data: [UInt8] = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        func feed(_ acc: inout FlowAccumulator, _ packets: [(DecodedPacket, Direction)]) {
            for (p, d) in packets {
                data.withUnsafeBytes { acc.add(p, direction: d, bytes: ByteView($0), pool: &pool, config: config) }
            }
        }
        var old: [(DecodedPacket, Direction)] = []
        for i in 0..<40 {
            old.append((packet(ts: 100 - Double(i % 3), len: 40 + i * 7, payload: i % 2 == 0 ? data.count : 0,
                               flags: UInt8(truncatingIfNeeded: 0x10 | (i & 0x0F)), window: UInt16(1000 + i)),
                        i % 3 == 0 ? .backward : .forward))
        }
        let next: [(DecodedPacket, Direction)] = [
            (packet(ts: 200.0, len: 60, flags: 0x02, window: 64240), .forward),
            (packet(ts: 200.2, len: 60, flags: 0x12, window: 65160), .backward),
        ]
        var reused = FlowAccumulator()
        feed(&reused, old)
        reused.context.srcFlows = 9
        pool.release(reused.histogram)
        reused.reset()
        feed(&reused, next)
        var fresh = FlowAccumulator()
        feed(&fresh, next)
        let a = reused.finish(pool: pool), b = fresh.finish(pool: pool)
        for f in Feature.allCases { #expect(a[f] == b[f], "\(f): \(a[f]) after reset, \(b[f]) fresh") }
        #expect(reused.sequence.count == 2 && reused.negativeIATs == 0 && reused.histogram == -1)
        for i in 0..<PacketSequence.length { #expect(reused.sequence[i] == fresh.sequence[i]) }
        #expect(reused.context == HostContextSnapshot())
    }

    /// `finish(pool:into:)` writes every feature: a vector full of NaN
    /// (what a reused record could hold) comes out equal to a fresh finish.
    @Test func finishIntoAVectorSetsEveryFeature() {
        var pool = ByteHistogramPool(capacity: 4)
        var acc = FlowAccumulator()
        let payload: [UInt8] = Array("hello".utf8)
        payload.withUnsafeBytes {
            acc.add(packet(ts: 1, len: 45, payload: 5, flags: 0x18, window: 100), direction: .forward,
                    bytes: ByteView($0), pool: &pool, config: FeatureConfig())
        }
        var v = FeatureVector()
        for f in Feature.allCases { v[f] = .nan }
        acc.finish(pool: pool, into: &v)
        let fresh = acc.finish(pool: pool)
        for f in Feature.allCases { #expect(v[f] == fresh[f], "\(f)") }
        // "hello": h, e, o once and l twice in 5 bytes: 3·0.2·log2(5) + 0.4·log2(2.5) ≈ 1.92193 bits.
        #expect(abs(fresh[.fwd_payload_entropy] - (0.6 * log2(5) + 0.4 * log2(2.5))) < 1e-12)
    }

    /// A four-packet TCP exchange computed by hand:
    ///   t=0.0  fwd  60 B  SYN           payload 0
    ///   t=0.5  bwd  60 B  SYN|ACK       payload 0
    ///   t=1.5  fwd  44 B  ACK|PSH       payload 4 "AAAA"
    ///   t=1.6  bwd  48 B  ACK|FIN|PSH   payload 4 "ABAB"
    /// (With and without the pool's bins written at start-up: without, a
    /// handle's bins are cleared when it is first acquired.)
    @Test(arguments: [true, false]) func handComputedFlow(prefault: Bool) {
        var pool = ByteHistogramPool(capacity: 4, prefault: prefault)
        var acc = FlowAccumulator()
        let config = FeatureConfig()
        let bytesFwd: [UInt8] = Array("AAAA".utf8), bytesBwd: [UInt8] = Array("ABAB".utf8)
        let none: [UInt8] = []
        func add(_ p: DecodedPacket, _ d: Direction, _ b: [UInt8]) {
            b.withUnsafeBytes { acc.add(p, direction: d, bytes: ByteView($0), pool: &pool, config: config) }
        }
        add(packet(ts: 0.0, len: 60, flags: 0x02, window: 64240), .forward, none)
        add(packet(ts: 0.5, len: 60, flags: 0x12, window: 65160), .backward, none)
        add(packet(ts: 1.5, len: 44, payload: 4, flags: 0x18, window: 502), .forward, bytesFwd)
        add(packet(ts: 1.6, len: 48, payload: 4, flags: 0x19, window: 509), .backward, bytesBwd)
        let v = acc.finish(pool: pool)
        func near(_ f: Feature, _ x: Double, _ tol: Double = 1e-9) -> Bool { abs(v[f] - x) <= tol }
        #expect(near(.duration_s, 1.6))
        #expect(v[.fwd_pkts] == 2 && v[.bwd_pkts] == 2)
        #expect(v[.fwd_bytes] == 104 && v[.bwd_bytes] == 108)
        #expect(v[.fwd_payload_bytes] == 4 && v[.bwd_payload_bytes] == 4)
        // Lengths 60 60 44 48: mean 53, sample var ((49+49+81+25)/3) = 68
        #expect(v[.pkt_len_min] == 44 && v[.pkt_len_max] == 60 && near(.pkt_len_mean, 53))
        #expect(near(.pkt_len_std, 68.0.squareRoot()))
        #expect(near(.fwd_pkt_len_mean, 52) && near(.bwd_pkt_len_mean, 54))
        // IATs 0.5 1.0 0.1: mean 0.5333…, sample var = ((0.0333²+0.4667²+0.4333²)/2)
        let iats = [0.5, 1.0, 0.1]
        let m = iats.reduce(0, +) / 3
        let sd = (iats.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 2).squareRoot()
        #expect(near(.iat_mean_s, m) && near(.iat_std_s, sd) && near(.iat_min_s, 0.1) && near(.iat_max_s, 1.0))
        #expect(near(.fwd_iat_mean_s, 1.5) && near(.bwd_iat_mean_s, 1.1))
        #expect(v[.fwd_iat_std_s] == 0)
        // Flags: SYN 2, ACK 3, PSH 2, FIN 1; fwd SYN 1, bwd FIN 1.
        #expect(v[.syn_count] == 2 && v[.ack_count] == 3 && v[.psh_count] == 2 && v[.fin_count] == 1)
        #expect(v[.rst_count] == 0 && v[.fwd_syn_count] == 1 && v[.bwd_fin_count] == 1 && v[.bwd_ack_count] == 2)
        // Four distinct flag combinations, one packet each: 2 bits.
        #expect(near(.tcp_flag_entropy, 2))
        // Payload: fwd "AAAA" 0 bits, bwd "ABAB" 1 bit, together A×6 B×2.
        #expect(near(.fwd_payload_entropy, 0) && near(.bwd_payload_entropy, 1))
        #expect(near(.payload_entropy, 0.8112781244591328))
        #expect(near(.pkts_per_s, 4 / 1.6) && near(.bytes_per_s, 212 / 1.6))
        #expect(v[.fwd_init_win_bytes] == 64240 && v[.bwd_init_win_bytes] == 65160)
        // Sequence: the first entries as (dir, len, payload, iat, flags).
        #expect(acc.sequence.count == 4)
        #expect(acc.sequence[1] == SequenceEntry(direction: -1, tcpFlags: 0x12, ipLength: 60, payloadLength: 0, iat: 0.5))
        #expect(acc.sequence[3].direction == -1 && abs(acc.sequence[3].iat - 0.1) < 1e-6)
    }

    @Test func timestampsGoingBackwardsNeverGiveNegativeIATs() {
        var pool = ByteHistogramPool(capacity: 0)
        var acc = FlowAccumulator()
        for (t, d) in [(10.0, Direction.forward), (9.0, .backward), (9.5, .forward), (11.0, .backward)] {
            acc.add(packet(ts: t, len: 40, proto: 17), direction: d, bytes: ByteView(base: nil, count: 0),
                    pool: &pool, config: FeatureConfig())
        }
        let v = acc.finish(pool: pool)
        #expect(v[.iat_min_s] >= 0 && v[.fwd_iat_min_s] >= 0 && v[.bwd_iat_min_s] >= 0)
        #expect(acc.negativeIATs == 2)
        #expect(abs(v[.duration_s] - 1.0) < 1e-9)
    }

    @Test func entropyOnlyOverTheConfiguredPrefix() {
        var pool = ByteHistogramPool(capacity: 2)
        var config = FeatureConfig()
        config.entropyPrefixBytes = 4
        var acc = FlowAccumulator()
        let b: [UInt8] = Array("AAAABBBB".utf8)
        b.withUnsafeBytes {
            acc.add(packet(ts: 0, len: 48, payload: 8), direction: .forward, bytes: ByteView($0), pool: &pool, config: config)
            acc.add(packet(ts: 1, len: 48, payload: 8), direction: .forward, bytes: ByteView($0), pool: &pool, config: config)
        }
        #expect(acc.finish(pool: pool)[.fwd_payload_entropy] == 0)
    }

    @Test func flowsWithoutPayloadTakeNoHistogram() {
        var pool = ByteHistogramPool(capacity: 1)
        var acc = FlowAccumulator()
        acc.add(packet(ts: 0, len: 40, flags: 0x02), direction: .forward, bytes: ByteView(base: nil, count: 0),
                pool: &pool, config: FeatureConfig())
        #expect(acc.histogram == -1)
    }

    @Test func exhaustedPoolIsCountedNotFatal() {
        var pool = ByteHistogramPool(capacity: 0)
        var acc = FlowAccumulator()
        let b: [UInt8] = [1, 2, 3]
        b.withUnsafeBytes {
            acc.add(packet(ts: 0, len: 43, payload: 3), direction: .forward, bytes: ByteView($0), pool: &pool, config: FeatureConfig())
        }
        #expect(acc.histogram == -1 && pool.exhausted == 1)
        #expect(acc.finish(pool: pool)[.payload_entropy] == 0)
    }

    @Test func sequenceKeepsOnlyTheFirst32Packets() {
        var pool = ByteHistogramPool(capacity: 0)
        var acc = FlowAccumulator()
        for i in 0..<40 {
            acc.add(packet(ts: Double(i), len: 40 + i, proto: 17), direction: .forward,
                    bytes: ByteView(base: nil, count: 0), pool: &pool, config: FeatureConfig())
        }
        #expect(acc.sequence.count == 32)
        #expect(acc.sequence[31].ipLength == 71)
    }
}
