import Testing
@testable import Context
@testable import Decoding

@Suite struct HostContextTableTests {
    let s1 = IPAddress(v4: 10, 0, 0, 1)

    @Test func countsFlowsDestinationsAndPortsInTheWindow() {
        let t = HostContextTable()
        var snap = HostContextSnapshot()
        for (i, port) in [22, 80, 443, 8080].enumerated() {
            let dst = IPAddress(v4: 10, 0, 1, UInt8(i % 3))
            snap = t.flowStarted(src: s1, dst: dst, dport: UInt16(port), ts: Int64(i) * 1_000_000_000, halfOpen: true)
        }
        #expect(snap.srcFlows == 4)
        #expect(snap.srcDistinctDsts == 3)
        #expect(snap.srcDistinctDports == 4)
        // The fourth flow's destination (10.0.1.0) also saw the first.
        #expect(snap.dstFlows == 2 && snap.dstDistinctSrcs == 1 && snap.dstHalfOpen == 2)
    }

    @Test func oldActivityLeavesTheWindow() {
        var c = HostContextConfig()
        c.windowSeconds = 60; c.buckets = 6
        let t = HostContextTable(config: c)
        let d = IPAddress(v4: 10, 0, 1, 1)
        _ = t.flowStarted(src: s1, dst: d, dport: 1, ts: 0, halfOpen: false)
        t.handshakeFailed(src: s1, ts: 0)
        let later = t.flowStarted(src: s1, dst: d, dport: 2, ts: 120_000_000_000, halfOpen: false)
        #expect(later.srcFlows == 1 && later.srcFailedHandshakes == 0 && later.srcDistinctDports == 1)
        t.handshakeFailed(src: s1, ts: 121_000_000_000)
        let next = t.flowStarted(src: s1, dst: d, dport: 3, ts: 122_000_000_000, halfOpen: false)
        #expect(next.srcFailedHandshakes == 1 && next.srcFlows == 2)
    }

    @Test func halfOpenGoesDownWhenClosed() {
        let t = HostContextTable()
        let d = IPAddress(v4: 10, 0, 1, 9)
        _ = t.flowStarted(src: s1, dst: d, dport: 80, ts: 0, halfOpen: true)
        t.halfOpenClosed(dst: d)
        let s = t.flowStarted(src: s1, dst: d, dport: 81, ts: 1, halfOpen: false)
        #expect(s.dstHalfOpen == 0)
    }

    @Test func memoryIsBoundedByCapacity() {
        var c = HostContextConfig()
        c.capacity = 256
        let t = HostContextTable(config: c, stripeCount: 4)
        for i in 0..<5000 {
            let src = IPAddress(v4: 10, UInt8(i >> 16 & 255), UInt8(i >> 8 & 255), UInt8(i & 255))
            _ = t.flowStarted(src: src, dst: s1, dport: 80, ts: Int64(i), halfOpen: false)
        }
        // 5000 sources through a 256-host table: it never holds more than 256.
        #expect(t.stripeCount * t.perStripe == 256)
        let used = t.hostsHeld
        #expect(used <= 256 && used > 128)
        #expect(t.memoryBytes == 256 * HostContextTable.bytesPerHost)
    }

    /// The host table's division (floating-point estimate, corrected) is
    /// exact: checked against Int64 `/` and `%` over random and edge values.
    @Test func fastDivisionIsExact() {
        var rng = SystemRandomNumberGenerator()
        for d in [Int64(1), 2, 3, 6, 7, 8, 1_000_000_000, 10_000_000_000, 123_456_789_012] {
            let inv = 1 / Double(d)
            var xs: [Int64] = [0, 1, d - 1, d, d + 1, Int64.max, Int64.max - 1, Int64.max / d * d, Int64.max / d * d - 1]
            for _ in 0..<2000 { xs.append(Int64.random(in: 0...Int64.max, using: &rng)) }
            for _ in 0..<2000 { xs.append(Int64.random(in: 0...(1 << 61), using: &rng)) }
            for x in xs where x >= 0 {
                let r = HostContextTable.divide(x, d, reciprocal: inv)
                #expect(r.quotient == x / d && Int64(r.remainder) == x % d, "\(x) / \(d)")
            }
        }
    }
}
