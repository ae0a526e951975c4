import AppLayer
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// One window's worth of a (client, registered domain) DNS series.
struct DNSWindow {
    var epoch: Int64 = -1
    var queries: UInt32 = 0
    var dataTypes: UInt32 = 0
    var subdomainLength: Double = 0
    var entropy: Double = 0
    /// Linear-counting bitmap (512 bits) of the subdomain hashes.
    var names = InlineArray<8, UInt64>(repeating: 0)
}

/// A client's queries under one registered domain: the current window and
/// the one before (distinct names are counted over both: a bitmap cannot
/// forget one name, so the window tumbles and two are kept).
struct DNSSeries {
    var client = IPAddress.zero
    var domain: UInt64 = 0
    var windows = InlineArray<2, DNSWindow>(repeating: DNSWindow())
}

extension BehaviourTable {
    /// DNS tunnelling / DNS C2 per client and registered domain (docs/features.md):
    ///   volume = clamp((distinct − 8) / (64 − 8), 0, 1)
    ///   shape  = max(TXT/NULL/ANY share, clamp((mean subdomain length − 10) / (30 − 10), 0, 1) × mean normalised entropy)
    ///   dns_tunnel = volume × shape
    func dnsValues(_ o: SessionObservation, into v: inout BehaviourValues) {
        let q = o.dns
        let i = dnsSlot(o.client, domain: q.domainHash, at: o.startNs)
        let s = dnsSeries + i
        let epoch = max(0, o.startNs) / windowNs
        let k = Int(epoch & 1)
        if s.pointee.windows[k].epoch != epoch {
            s.pointee.windows[k] = DNSWindow()
            s.pointee.windows[k].epoch = epoch
        }
        let n = Double(q.subdomainLength)
        let bound = n >= 2 ? log2(min(n, 36)) : 0
        s.pointee.windows[k].queries &+= 1
        if q.isDataCarryingType { s.pointee.windows[k].dataTypes &+= 1 }
        s.pointee.windows[k].subdomainLength += n
        s.pointee.windows[k].entropy += bound > 0 ? min(1, Double(q.subdomainEntropy) / bound) : 0
        if q.subdomainHash != 0 {
            let bit = Int(q.subdomainHash & 511)
            s.pointee.windows[k].names[bit >> 6] |= 1 << UInt64(bit & 63)
        }
        // This window and the previous one, if it is the one just before.
        var queries = 0.0, data = 0.0, length = 0.0, entropy = 0.0
        var zeros = 0
        for w in 0..<2 {
            let win = s.pointee.windows[w]
            guard win.epoch == epoch || win.epoch == epoch - 1 else { continue }
            queries += Double(win.queries); data += Double(win.dataTypes)
            length += win.subdomainLength; entropy += win.entropy
        }
        for word in 0..<8 {
            var bits: UInt64 = 0
            for w in 0..<2 {
                let win = s.pointee.windows[w]
                if win.epoch == epoch || win.epoch == epoch - 1 { bits |= win.names[word] }
            }
            zeros += 64 - bits.nonzeroBitCount
        }
        let m = 512.0
        let distinct = zeros == 0 ? m * log(m) : -m * log(Double(zeros) / m)
        v.dnsQueries = UInt32(queries)
        v.dnsDistinctSubdomains = (distinct * 10).rounded() / 10
        v.dnsMeanSubdomainLength = queries > 0 ? length / queries : 0
        v.dnsMeanEntropy = queries > 0 ? entropy / queries : 0
        v.dnsDataTypeShare = queries > 0 ? data / queries : 0
        let c = config
        let volume = min(1, max(0, (distinct - c.dnsDistinctLow) / (c.dnsDistinctHigh - c.dnsDistinctLow)))
        let longRandom = min(1, max(0, (v.dnsMeanSubdomainLength - c.dnsLengthLow) / (c.dnsLengthHigh - c.dnsLengthLow)))
            * v.dnsMeanEntropy
        v.dnsTunnel = SeriesStatistics.round3(volume * max(v.dnsDataTypeShare, longRandom))
    }

    /// The slot of (client, domain)'s series, taken (and cleared) if new.
    private func dnsSlot(_ client: IPAddress, domain: UInt64, at ns: Int64) -> Int {
        let h = (Self.mix(client) ^ (domain &* 0x9E37_79B9_7F4A_7C15)) | 1
        let (i, probed) = probe(dnsIndex, count: dnsCount, hash: h, at: ns, staleAfter: 2 * windowNs) {
            dnsSeries[$0].client == client && dnsSeries[$0].domain == domain
        }
        if probed == .found {
            dnsIndex[i].lastNs = max(dnsIndex[i].lastNs, ns)
            return i
        }
        let d = Self.change(probed)
        counters.dnsSeriesHeld += d.held; counters.dnsEvictions &+= d.evicted
        dnsSeries[i] = DNSSeries(client: client, domain: domain)
        return i
    }
}
