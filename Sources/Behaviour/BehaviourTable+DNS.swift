import AppLayer
import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// One window's worth of a (client, registered domain) DNS series. Empty,
/// it is all zero bytes (epoch 0, no queries), which adds nothing to a sum.
struct DNSWindow {
    var epoch: Int64 = 0
    var queries: UInt32 = 0
    var dataTypes: UInt32 = 0
    var subdomainLength: Double = 0
    var entropy: Double = 0
    /// Linear-counting bitmap (512 bits) of the subdomain hashes.
    var names = InlineArray<8, UInt64>(repeating: 0)
}

/// One beat of a DNS series: a run of look-ups, each starting less than
/// `beaconMinIntervalSeconds` after the one before (a resolver retry, the A
/// and AAAA queries of one look-up on two sockets, a data burst after a
/// check-in): one beat, as the pair series drops gaps under that interval.
/// 16 bytes.
struct DNSBeat {
    /// The run's first query's start.
    var startNs: Int64 = 0
    /// The client's IP bytes over the run's queries (RITA's src_ip_bytes of the beat).
    var clientIPBytes: UInt32 = 0
    /// The run's last query's start after its first, in ms (a run stops growing at 65.5 s).
    var runMs: UInt16 = 0
    /// The low 16 bits of the first query's subdomain hash: which name the
    /// beat looked up (the poller test's per-name schedule).
    var name: UInt16 = 0

    var lastNs: Int64 { startNs + Int64(runMs) * 1_000_000 }
}

/// A client's queries under one registered domain: the current window and
/// the one before (distinct names are counted over both: a bitmap cannot
/// forget one name, so the window tumbles and two are kept), and a ring of
/// the latest `BehaviourTable.dnsRingLength` beats for the DNS beacon score.
struct DNSSeries {
    var client = IPAddress.zero
    var domain: UInt64 = 0
    var windows = InlineArray<2, DNSWindow>(repeating: DNSWindow())
    /// The latest beats by start, `beatCount` of them from the first entry (in no order).
    var beats = InlineArray<16, DNSBeat>(repeating: DNSBeat())
    var beatCount: UInt8 = 0
}

extension BehaviourTable {
    /// Beats a DNS series keeps (`DNSSeries.beats`).
    public static let dnsRingLength = 16
    /// Marks a DNS series' entry in a client's periodic series (`Periodic.server`).
    static let dnsPeriodicTag: UInt64 = 1 << 63

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
        dnsBeaconValues(o, series: s, into: &v)
    }

    /// Beaconing per client and registered domain (docs/features.md,
    /// "Beaconing"): the look-up joins the series' ring of beats, and the
    /// beats within the beacon horizon are scored with the pair series'
    /// formula (`beaconComponents`) over one clock: when look-ups of names
    /// seen before in the ring make at least half the gaps, each name's own
    /// (the gap from a beat to the next beat of the same name: a poller
    /// resolving two hosts under one domain every 15 s is on a 15 s clock,
    /// not on its beats' alternating 8.5 s and 6.5 s; a client whose
    /// look-ups under its organisation's domain mix a mail check every 60 s
    /// with bursts of web look-ups keeps two clocks, each scored as it
    /// runs), else the beats' (fresh
    /// names: a nonce per check-in); gaps from a beat's last query to the
    /// next one's first, client IP bytes per beat. Missed beats are not
    /// folded (RITA does not fold): a client's look-ups under a domain often
    /// come at random, as a browser's do, and folding the gaps of a Poisson
    /// series that fall near 2–4 × its median floods the median with copies
    /// (a synthetic browsing client's CDN domains: ts 0.86–0.98, beaconing up
    /// to 0.99; unfolded at most 0.835). At least 4 beats, 3 gaps of at least
    /// `beaconMinIntervalSeconds` and a median gap of at least that.
    /// `beaconing` becomes the larger of the pair series' and this one.
    func dnsBeaconValues(_ o: SessionObservation, series s: UnsafeMutablePointer<DNSSeries>,
                         into v: inout BehaviourValues) {
        recordBeat(o, series: s)
        // The beats within the horizon of this look-up, by start.
        beatScratch.removeAll(keepingCapacity: true)
        for r in 0..<Int(s.pointee.beatCount) {
            let b = s.pointee.beats[r]
            guard o.startNs - b.startNs <= horizonNs, b.startNs - o.startNs <= horizonNs else { continue }
            beatScratch.append(b)
        }
        beatScratch.sort { $0.startNs < $1.startNs }
        let n = beatScratch.count
        v.dnsBeats = UInt32(n)
        guard n >= 2 else { return }
        // Gaps from each beat to the next beat of the same name, by name.
        nameTags.removeAll(keepingCapacity: true); nameGaps.removeAll(keepingCapacity: true)
        for k in 1..<n {
            for j in stride(from: k - 1, through: 0, by: -1) where beatScratch[j].name == beatScratch[k].name {
                nameTags.append(beatScratch[k].name)
                nameGaps.append(Double(beatScratch[k].startNs - beatScratch[j].lastNs) * 1e-9)
                break
            }
        }
        // At least half the gaps: a schedule of recurring names, not fresh
        // names with a chance repeat of their 16-bit tags.
        v.dnsTimedPerName = 2 * nameGaps.count >= n - 1
        // The pair series is done with these scratch arrays.
        gaps.removeAll(keepingCapacity: true); scored.removeAll(keepingCapacity: true)
        ipSizes.removeAll(keepingCapacity: true)
        for k in 0..<n {
            ipSizes.append(Double(beatScratch[k].clientIPBytes))
            if k > 0 && !v.dnsTimedPerName { gaps.append(Double(beatScratch[k].startNs - beatScratch[k - 1].lastNs) * 1e-9) }
        }
        if v.dnsTimedPerName { gaps.append(contentsOf: nameGaps) }
        for g in gaps where g >= config.beaconMinIntervalSeconds { scored.append(g) }
        gaps.sort(); scored.sort(); ipSizes.sort()
        v.dnsMedianGapSeconds = SeriesStatistics.median(sorted: gaps[...])
        guard n >= Self.beaconScoreMinSessions, scored.count >= Self.beaconScoreMinSessions - 1, v.dnsMedianGapSeconds >= config.beaconMinIntervalSeconds else { return }
        let span = Double(beatScratch[n - 1].lastNs - beatScratch[0].startNs) * 1e-9
        let b = beaconComponents(gaps: &scored, sizes: ipSizes, span: span, foldMissedBeats: false)  // see above
        v.dnsTsScore = b.ts; v.dnsDsScore = b.ds; v.dnsCountScore = b.count
        v.dnsGapSkew = b.skew; v.dnsGapMAD = b.mad; v.dnsBeaconing = b.beaconing
        v.dnsBeaconExempt = dnsBeaconExemption(o, values: v)
        if v.dnsBeaconExempt != .none { v.dnsBeaconing = 0 }
        v.beaconing = max(v.beaconing, v.dnsBeaconing)
    }

    /// Adds `o` to the beat it belongs to — one it starts less than
    /// `beaconMinIntervalSeconds` before or after the queries of (or among
    /// them), joining the two beats it bridges — else makes it a beat of its
    /// own, in a free entry or in the oldest beat's (a look-up older than the
    /// 16 beats of a full ring is left out). Flows end, and are observed,
    /// out of order (a UDP flow ends at its idle timeout, found by a sweep
    /// of the flow table: a burst's queries come seconds apart in any
    /// order), so the beats are the latest 16 by start, not a ring in
    /// arrival order. Beats stay at least `beaconMinIntervalSeconds` apart
    /// (but for runs cut at 65.5 s).
    private func recordBeat(_ o: SessionObservation, series s: UnsafeMutablePointer<DNSSeries>) {
        let minNs = Int64(config.beaconMinIntervalSeconds * 1e9), capNs = Int64(UInt16.max) * 1_000_000
        let bytes = UInt32(clamping: o.clientIPBytes)
        let name = UInt16(truncatingIfNeeded: o.dns.subdomainHash)
        var count = Int(s.pointee.beatCount)
        // The run `o` made so far: itself, then the beat it joined.
        var joined = -1
        var run = DNSBeat(startNs: o.startNs, clientIPBytes: bytes, runMs: 0, name: name)
        for k in 0..<count {
            let b = s.pointee.beats[k]
            let first = min(b.startNs, run.startNs), last = max(b.lastNs, run.lastNs)
            guard run.startNs < b.lastNs + minNs, run.lastNs > b.startNs - minNs, last - first <= capNs else { continue }
            let sum = b.clientIPBytes.addingReportingOverflow(run.clientIPBytes)
            let merged = DNSBeat(startNs: first, clientIPBytes: sum.overflow ? .max : sum.partialValue,
                                 runMs: UInt16((last - first) / 1_000_000), name: run.startNs < b.startNs ? run.name : b.name)
            if joined < 0 {
                s.pointee.beats[k] = merged
                joined = k; run = merged
                continue
            }
            // `o` bridges beat `joined` and this one (it cannot bridge more:
            // beats are 1 s apart): one beat, the last entry moved to the freed one.
            count -= 1
            if joined == count { joined = k }  // the joined beat is the last entry: it moves to k's
            s.pointee.beats[k] = s.pointee.beats[count]
            s.pointee.beats[joined] = merged
            s.pointee.beatCount = UInt8(count)
            return
        }
        guard joined < 0 else { return }
        if count < Self.dnsRingLength {
            s.pointee.beats[count] = run
            s.pointee.beatCount = UInt8(count + 1)
            return
        }
        var oldest = 0
        for k in 1..<count where s.pointee.beats[k].startNs < s.pointee.beats[oldest].startNs { oldest = k }
        if run.startNs > s.pointee.beats[oldest].startNs { s.pointee.beats[oldest] = run }
    }

    /// DNS series that are not beacons by their shape: the pair series'
    /// poller test, with the names of a DNS series counted as the periodic
    /// series they are. The series' schedule is its median gap (each name's
    /// own when names recur: a poller resolving two hosts under one domain
    /// every 15 s has a look-up every 7.5 s but a schedule of 15 s). A client
    /// keeping three or more periodic things on that schedule within 10 % —
    /// names of this series, other DNS series, pair series — is a poller; a
    /// DNS series on the schedule of one of the client's periodic pair
    /// series is that series' look-ups (`lookups`: the pair series is
    /// scored, and allowed or exempted, on its own). Regular series
    /// (ts ≥ 0.9, count ≥ 0.5) enter the client's periodic series, as pair
    /// series do.
    private func dnsBeaconExemption(_ o: SessionObservation, values v: BehaviourValues) -> BeaconExemption {
        guard v.dnsTsScore >= 0.9, v.dnsCountScore >= 0.5 else { return .none }
        let schedule = v.dnsMedianGapSeconds
        var names = 1
        if v.dnsTimedPerName {
            // Distinct names with a look-up on the schedule.
            names = 0
            for i in nameGaps.indices where abs(nameGaps[i] - schedule) <= 0.1 * schedule {
                var seen = false
                for j in 0..<i where nameTags[j] == nameTags[i] && abs(nameGaps[j] - schedule) <= 0.1 * schedule {
                    seen = true; break
                }
                if !seen { names += 1 }
            }
        }
        let c = clientSlot(o.client, at: o.startNs)
        let me = o.dns.domainHash | Self.dnsPeriodicTag
        var pairs = 0, others = 0, mine = -1, victim = -1, victimNs = Int64.max
        for k in 0..<4 {
            let q = clients[c].periodic[k]
            if q.server == me { mine = k; continue }
            let live = q.server != 0 && o.startNs - q.lastNs <= horizonNs
            let dns = q.server & Self.dnsPeriodicTag != 0
            if live && abs(q.gapSeconds - schedule) <= 0.1 * schedule {
                if dns { others += 1 } else { pairs += 1 }
            }
            // A DNS series takes an empty or stale slot or another DNS
            // series' slot, never a live pair series' (the pair poller test counts those).
            if (!live || dns) && q.lastNs < victimNs { victim = k; victimNs = q.lastNs }
        }
        let slot = mine >= 0 ? mine : victim
        if slot >= 0 { clients[c].periodic[slot] = Periodic(server: me, gapSeconds: schedule, lastNs: o.startNs) }
        if names + pairs + others >= 3 { return .poller }
        return pairs >= 1 ? .lookups : .none
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
