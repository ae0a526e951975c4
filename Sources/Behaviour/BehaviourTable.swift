import AppLayer
import CPrefetch
import Decoding
import Locking

/// What is known about behaviour across flows, with memory fixed at start:
/// per pair series — (client, server, server port, protocol) — the counts
/// of sessions in a sliding window of packet time and a ring of the last
/// sessions; per client, the threshold random walk over its first contacts
/// and the periodic series it keeps; per (client, registered domain), the
/// DNS series (`BehaviourTable+DNS.swift`); per target host, the sessions
/// it received and left one-sided (`BehaviourTable+Flood.swift`). Fed one finished flow at a time
/// (its first record) off the capture threads (`BehaviourStage`); each
/// observation returns the values the flow's record carries.
///
/// Both tables are open-addressed with a probe window of `probes` slots:
/// a key not found takes an empty or stale slot in its window, else the
/// least recently active entry there is evicted (approximate LRU, counted in
/// `counters`). Entries go stale after `beaconHorizonSeconds` (pairs) or
/// `scanStateSeconds` (clients) without activity. Not thread-safe: one
/// writer thread owns it.
public final class BehaviourTable {
    public static let ringLength = 32
    /// The fewest sessions (beats) a series' beaconing score is computed from.
    public static let beaconScoreMinSessions = 4
    public static let probes = 8
    static let bucketCount = 6

    /// One session in a pair's ring.
    struct Sample {
        var startNs: Int64 = 0
        var endNs: Int64 = 0
        var clientBytes: UInt32 = 0
        var serverBytes: UInt32 = 0
        var clientIPBytes: UInt32 = 0
        var flowID: UInt64 = 0
        var clientPort: UInt16 = 0
    }

    /// One bucket of a pair's window (1/`bucketCount` of it). Empty, it is
    /// all zero bytes (epoch 0, no sessions): it adds nothing to any window,
    /// and a table never touched costs no memory (`LargeAllocation.allocateZeroed`).
    struct Bucket {
        var epoch: Int64 = 0
        var sessions: UInt32 = 0
        var short: UInt32 = 0
        var failed: UInt32 = 0
        var reset: UInt32 = 0
        var refused: UInt32 = 0
        var unanswered: UInt32 = 0
        /// HTTP final responses and misses (404/403), and the missed paths' bitmap.
        var httpResponses: UInt32 = 0
        var httpMisses: UInt32 = 0
        var missedPaths: UInt64 = 0
    }

    struct Pair {
        var used = false
        var client = IPAddress.zero
        var server = IPAddress.zero
        var port: UInt16 = 0
        var proto: UInt8 = 0
        var lastNs: Int64 = 0
        var ringNext: UInt8 = 0
        var ringCount: UInt8 = 0
        var buckets = InlineArray<6, Bucket>(repeating: Bucket())
    }

    /// A periodic series a client keeps (for the poller exemption): a pair
    /// series (key: its server and port) or a DNS series (key: its registered
    /// domain with `dnsPeriodicTag` set); 0: empty.
    struct Periodic {
        var server: UInt64 = 0
        var gapSeconds: Double = 0
        var lastNs: Int64 = 0
    }

    struct Client {
        var used = false
        var address = IPAddress.zero
        var lastNs: Int64 = 0
        var llr: Double = 0
        var scanner = false
        var firstContacts: UInt32 = 0
        var failedFirstContacts: UInt32 = 0
        /// Bloom filter (2 hashes, 2048 bits) of the (server, port) pairs contacted.
        var contacted = InlineArray<32, UInt64>(repeating: 0)
        /// UDP first contacts and those that got nothing back, with their
        /// own Bloom filter (2 hashes, 1024 bits) so that a resolver's many
        /// servers do not fill the TCP walk's.
        var udpFirstContacts: UInt32 = 0
        var udpUnansweredFirstContacts: UInt32 = 0
        var udpContacted = InlineArray<16, UInt64>(repeating: 0)
        /// Sessions the host started, and how many of them were ICMP errors.
        var sessionsStarted: UInt32 = 0
        var icmpErrorsSent: UInt32 = 0
        var periodic = InlineArray<4, Periodic>(repeating: Periodic())
    }

    struct Slot {
        var hash: UInt64 = 0
        var lastNs: Int64 = 0
    }

    public struct Counters: Sendable, Equatable {
        public var observed: UInt64 = 0
        public var pairsHeld: Int = 0
        public var clientsHeld: Int = 0
        /// Live entries pushed out by a new key (the table was full in its probe window).
        public var pairEvictions: UInt64 = 0
        public var clientEvictions: UInt64 = 0
        public var dnsSeriesHeld: Int = 0
        public var dnsEvictions: UInt64 = 0
        public var targetsHeld: Int = 0
        public var targetEvictions: UInt64 = 0
        public init() {}
    }

    public let config: BehaviourConfig
    public internal(set) var counters = Counters()
    // Fixed storage, allocated once (see `init`), read and written in place.
    private let pairs: UnsafeMutablePointer<Pair>
    /// Probe index beside each table, 16 bytes a slot (a probe window is two
    /// cache lines): the key's hash (0: empty) and the entry's last activity.
    private let pairIndex: UnsafeMutablePointer<Slot>
    private let clientIndex: UnsafeMutablePointer<Slot>
    private let pairCount: Int
    private let ring: UnsafeMutablePointer<Sample>
    let clients: UnsafeMutablePointer<Client>
    private let clientCount: Int
    let dnsSeries: UnsafeMutablePointer<DNSSeries>
    let dnsIndex: UnsafeMutablePointer<Slot>
    let dnsCount: Int
    /// Flood targets and their probe index (`BehaviourTable+Flood.swift`).
    let targets: UnsafeMutablePointer<FloodTarget>
    let targetIndex: UnsafeMutablePointer<Slot>
    let targetCount: Int
    let floodBucketNs: Int64
    let floodWindowNs: Int64
    let windowNs: Int64
    private let trw: ThresholdRandomWalk
    private let bucketNs: Int64
    let horizonNs: Int64
    private let scanStateNs: Int64

    // Scratch arrays reused across observations (no allocation per flow once grown).
    // `gaps`, `scored` and `ipSizes` serve the DNS series too, after the pair series is done with them.
    private var starts: [Double] = []
    var gaps: [Double] = []
    var scored: [Double] = []
    private var clientSizes: [Double] = []
    private var serverSizes: [Double] = []
    var ipSizes: [Double] = []
    private var durations: [Double] = []
    var scratch: [Double] = []
    // The DNS series' beats by start, and the gaps between look-ups of one name (`BehaviourTable+DNS.swift`).
    var beatScratch: [DNSBeat] = []
    var nameTags: [UInt16] = []
    var nameGaps: [Double] = []

    /// Memory per pair series and per client (the tables' whole memory is
    /// `pairCapacity × bytesPerPair + clientCapacity × bytesPerClient`).
    public static var bytesPerPair: Int {
        MemoryLayout<Pair>.stride + MemoryLayout<Slot>.stride + ringLength * MemoryLayout<Sample>.stride
    }
    public static var bytesPerClient: Int { MemoryLayout<Client>.stride + MemoryLayout<Slot>.stride }
    public static var bytesPerDNSSeries: Int { MemoryLayout<DNSSeries>.stride + MemoryLayout<Slot>.stride }
    public static var bytesPerTarget: Int { MemoryLayout<FloodTarget>.stride + MemoryLayout<Slot>.stride }

    /// `prefault` (live capture) writes every table now, so that its memory
    /// is resident from the start and a flood cannot grow the process past
    /// what its configuration says. Otherwise (replay) the tables come from
    /// `calloc` (every field of every empty entry is zero: epoch 0, not
    /// used, never heard): only the pages of entries taken are ever
    /// touched, and a small capture pays for little of the configured tables.
    public init(config: BehaviourConfig = BehaviourConfig(), prefault: Bool = true) {
        self.config = config
        pairCount = max(Self.probes, config.pairCapacity)
        clientCount = max(Self.probes, config.clientCapacity)
        dnsCount = max(Self.probes, config.dnsCapacity)
        targetCount = max(Self.probes, config.targetCapacity)
        func table<T>(_ empty: T, _ count: Int) -> UnsafeMutablePointer<T> {
            guard prefault else { return LargeAllocation.allocateZeroed(T.self, count: count) }
            let p = UnsafeMutablePointer<T>.allocate(capacity: count)
            p.initialize(repeating: empty, count: count)
            return p
        }
        pairs = table(Pair(), pairCount)
        pairIndex = table(Slot(), pairCount)
        clientIndex = table(Slot(), clientCount)
        ring = table(Sample(), pairCount * Self.ringLength)
        clients = table(Client(), clientCount)
        dnsSeries = table(DNSSeries(), dnsCount)
        dnsIndex = table(Slot(), dnsCount)
        targets = table(FloodTarget(), targetCount)
        targetIndex = table(Slot(), targetCount)
        floodBucketNs = Int64(config.floodWindowSeconds) * 1_000_000_000 / Int64(Self.bucketCount)
        floodWindowNs = floodBucketNs * Int64(Self.bucketCount)
        windowNs = Int64(config.windowSeconds) * 1_000_000_000
        trw = ThresholdRandomWalk(theta0: config.trwTheta0, theta1: config.trwTheta1,
                                  alpha: config.trwAlpha, beta: config.trwBeta)
        bucketNs = Int64(config.windowSeconds) * 1_000_000_000 / Int64(Self.bucketCount)
        horizonNs = Int64(config.beaconHorizonSeconds) * 1_000_000_000
        scanStateNs = Int64(config.scanStateSeconds) * 1_000_000_000
        starts.reserveCapacity(Self.ringLength); gaps.reserveCapacity(Self.ringLength)
        scored.reserveCapacity(Self.ringLength); clientSizes.reserveCapacity(Self.ringLength)
        serverSizes.reserveCapacity(Self.ringLength); ipSizes.reserveCapacity(Self.ringLength)
        durations.reserveCapacity(Self.ringLength); scratch.reserveCapacity(Self.ringLength)
        beatScratch.reserveCapacity(Self.dnsRingLength); nameTags.reserveCapacity(Self.dnsRingLength)
        nameGaps.reserveCapacity(Self.dnsRingLength)
    }

    deinit {
        pairs.deinitialize(count: pairCount); pairs.deallocate()
        pairIndex.deallocate(); clientIndex.deallocate()
        ring.deinitialize(count: pairCount * Self.ringLength); ring.deallocate()
        clients.deinitialize(count: clientCount); clients.deallocate()
        dnsSeries.deinitialize(count: dnsCount); dnsSeries.deallocate(); dnsIndex.deallocate()
        targets.deinitialize(count: targetCount); targets.deallocate(); targetIndex.deallocate()
    }

    /// Asks the CPU to start loading what `observe(o)` will touch first (the
    /// probe windows and home entries of its pair and client), so that a
    /// caller walking a batch can overlap those misses with the previous
    /// observation. Changes nothing.
    public func prefetch(_ o: SessionObservation) {
        let ph = Int((Self.pairHash(o) | 1) % UInt64(pairCount))
        fs_prefetch_range(pairIndex + ph, Self.probes * MemoryLayout<Slot>.stride)
        fs_prefetch_range(pairs + ph, MemoryLayout<Pair>.stride)
        let ch = Int((Self.mix(o.client) | 1) % UInt64(clientCount))
        fs_prefetch_range(clientIndex + ch, Self.probes * MemoryLayout<Slot>.stride)
        fs_prefetch_range(clients + ch, MemoryLayout<Client>.stride)
        prefetchFlood(o)
    }

    /// Adds one session to its pair series and its client's scan state and
    /// returns the values at its end.
    public func observe(_ o: SessionObservation) -> BehaviourValues {
        counters.observed &+= 1
        var v = BehaviourValues()
        let p = pairSlot(o)
        record(o, pair: p)
        seriesValues(o, pair: p, into: &v)
        scanValues(o, into: &v)
        if o.dns.present && !o.dns.isArpa { dnsValues(o, into: &v) }
        floodValues(o, into: &v)
        return v
    }

    /// The flows of `o`'s pair series in the ring (flow id, client port),
    /// newest last, at most `limit`: example flows for an alert.
    public func recentFlows(of o: SessionObservation, limit: Int) -> [(flowID: UInt64, clientPort: UInt16)] {
        let n = pairCount
        let h = Self.pairHash(o) | 1
        let home = Int(h % UInt64(n))
        for k in 0..<Self.probes {
            let i = (home + k) % n
            guard pairIndex[i].hash == h && holds(pairs + i, o) else { continue }
            let e = pairs + i
            let count = Int(e.pointee.ringCount)
            var out: [(flowID: UInt64, clientPort: UInt16)] = []
            for back in stride(from: min(limit, count), through: 1, by: -1) {
                let r = (Int(e.pointee.ringNext) - back + Self.ringLength) % Self.ringLength
                let s = ring[i * Self.ringLength + r]
                out.append((s.flowID, s.clientPort))
            }
            return out
        }
        return []
    }

    // MARK: Pair series

    /// Distinct paths answered 404/403 in a pair series' window at which
    /// forced browsing scores 0.8 (and 1 at 1.25 times as many).
    public static let forcedBrowsingMissedPaths = 20.0

    /// Forced browsing across connections: a client that guesses paths
    /// opens a new connection every few requests, so no one connection holds
    /// enough misses (`WebAttackContent.forcedBrowsing`); its pair series
    /// does. Scored on a flow that missed itself, when the series' misses
    /// are at least half of its responses in the window:
    /// min(1, 0.8 × distinct missed paths / `forcedBrowsingMissedPaths`),
    /// kept only from 0.5 up.
    private func forcedBrowsingValues(_ o: SessionObservation, missedPaths: UInt64, into v: inout BehaviourValues) {
        v.httpMissedPaths = Self.distinctEstimate(missedPaths)
        guard o.httpMisses > 0, 2 * UInt64(v.httpMisses) >= UInt64(v.httpResponses) else { return }
        let score = SeriesStatistics.round3(min(1, 0.8 * Double(v.httpMissedPaths) / Self.forcedBrowsingMissedPaths))
        guard score >= 0.5 else { return }
        v.webAttack = score
        v.webAttackFamilies |= WebAttackFamilies.forcedBrowsing.rawValue
        v.webAttackRequests = v.httpMisses
    }

    static func mix(_ a: IPAddress) -> UInt64 {
        var h = a.hi &* 0x9E37_79B9_7F4A_7C15
        h ^= (a.lo &+ UInt64(a.version)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    static func pairHash(_ o: SessionObservation) -> UInt64 {
        var h = mix(o.client) ^ (mix(o.server) &* 0x94D0_49BB_1331_11EB)
        h ^= (UInt64(o.serverPort) << 8 | UInt64(o.proto)) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return h &* 0xBF58_476D_1CE4_E5B9
    }

    private func holds(_ e: UnsafeMutablePointer<Pair>, _ o: SessionObservation) -> Bool {
        e.pointee.used && e.pointee.client == o.client && e.pointee.server == o.server
            && e.pointee.port == o.serverPort && e.pointee.proto == o.proto
    }

    /// What `probe` found or replaced.
    enum Probed { case found, empty, stale, live }

    /// The slot of the key with hash `h` in a table's probe window (`holds`
    /// says whether slot i holds the key), or the slot it takes: an empty
    /// one, else one idle longer than `staleAfter` at `ns`, else the least
    /// recently active (its index entry is rewritten for the new key; the
    /// caller clears the entry and counts with `change`).
    func probe(_ index: UnsafeMutablePointer<Slot>, count n: Int, hash h: UInt64, at ns: Int64, staleAfter: Int64,
               holds: (Int) -> Bool) -> (slot: Int, probed: Probed) {
        let home = Int(h % UInt64(n))
        var victim = home, victimNs = Int64.max
        for k in 0..<Self.probes {
            let i = (home + k) % n
            let slot = index[i]
            if slot.hash == h && holds(i) { return (i, .found) }
            let stale = slot.hash == 0 || ns - slot.lastNs > staleAfter
            let rank = stale ? Int64.min : slot.lastNs
            if rank < victimNs { victim = i; victimNs = rank }
        }
        let probed: Probed = index[victim].hash == 0 ? .empty : (victimNs == Int64.min ? .stale : .live)
        index[victim] = Slot(hash: h, lastNs: ns)
        return (victim, probed)
    }

    /// How entries held and evictions change when `probe` took a slot.
    static func change(_ p: Probed) -> (held: Int, evicted: UInt64) {
        switch p {
        case .empty: (1, 0)
        case .live: (0, 1)
        case .found, .stale: (0, 0)
        }
    }

    /// The slot of `o`'s pair series, taken (and cleared) if new.
    private func pairSlot(_ o: SessionObservation) -> Int {
        let (i, probed) = probe(pairIndex, count: pairCount, hash: Self.pairHash(o) | 1, at: o.startNs,
                                staleAfter: horizonNs) { holds(pairs + $0, o) }
        guard probed != .found else { return i }
        let d = Self.change(probed)
        counters.pairsHeld += d.held; counters.pairEvictions &+= d.evicted
        let e = pairs + i
        e.pointee = Pair()
        e.pointee.used = true; e.pointee.client = o.client; e.pointee.server = o.server
        e.pointee.port = o.serverPort; e.pointee.proto = o.proto; e.pointee.lastNs = o.startNs
        return i
    }

    private func record(_ o: SessionObservation, pair i: Int) {
        let epoch = max(0, o.startNs) / bucketNs
        let e = pairs + i
        let k = Int(epoch % Int64(Self.bucketCount))
        if e.pointee.buckets[k].epoch < epoch { e.pointee.buckets[k] = Bucket(); e.pointee.buckets[k].epoch = epoch }
        if e.pointee.buckets[k].epoch == epoch {
            e.pointee.buckets[k].sessions &+= 1
            if o.isShort(config) { e.pointee.buckets[k].short &+= 1 }
            if o.outcome == .failed { e.pointee.buckets[k].failed &+= 1 }
            if o.reset { e.pointee.buckets[k].reset &+= 1 }
            if o.loginRefused { e.pointee.buckets[k].refused &+= 1 }
            if o.proto != IPProto.tcp && o.outcome != .answered { e.pointee.buckets[k].unanswered &+= 1 }
            e.pointee.buckets[k].httpResponses &+= o.httpResponses
            e.pointee.buckets[k].httpMisses &+= o.httpMisses
            e.pointee.buckets[k].missedPaths |= o.httpMissedPaths
        }
        let slot = i * Self.ringLength + Int(e.pointee.ringNext)
        ring[slot] = Sample(startNs: o.startNs, endNs: o.endNs, clientBytes: UInt32(clamping: o.clientBytes),
                            serverBytes: UInt32(clamping: o.serverBytes), clientIPBytes: UInt32(clamping: o.clientIPBytes),
                            flowID: o.flowID, clientPort: o.clientPort)
        e.pointee.ringNext = UInt8((Int(e.pointee.ringNext) + 1) % Self.ringLength)
        e.pointee.ringCount = UInt8(min(Self.ringLength, Int(e.pointee.ringCount) + 1))
        e.pointee.lastNs = max(e.pointee.lastNs, o.startNs)
        pairIndex[i].lastNs = e.pointee.lastNs
    }

    private func seriesValues(_ o: SessionObservation, pair i: Int, into v: inout BehaviourValues) {
        let e = pairs + i
        let epoch = max(0, o.startNs) / bucketNs
        var missedPaths: UInt64 = 0
        for b in 0..<Self.bucketCount {
            let bk = e.pointee.buckets[b]
            guard bk.epoch > epoch - Int64(Self.bucketCount), bk.epoch <= epoch else { continue }
            v.sessions &+= bk.sessions; v.shortSessions &+= bk.short
            v.failedSessions &+= bk.failed; v.resetSessions &+= bk.reset
            v.refusedLoginSessions &+= bk.refused
            v.unansweredSessions &+= bk.unanswered
            v.httpResponses &+= bk.httpResponses; v.httpMisses &+= bk.httpMisses
            missedPaths |= bk.missedPaths
        }
        if v.httpMisses > 0 { forcedBrowsingValues(o, missedPaths: missedPaths, into: &v) }
        // Refused logins need no comparison: the server said what they were.
        // They speak for this session when it was a login too (a refused
        // one, or the guess that got in), not for a page fetched beside them.
        if o.login { v.repetition = refusedLoginRepetition(v.refusedLoginSessions) }
        // A series' first session: nothing to compare it with.
        if e.pointee.ringCount == 1 { return }
        v.hasSeriesStatistics = true
        // The ring's sessions within the beacon horizon of this one, by start.
        starts.removeAll(keepingCapacity: true); clientSizes.removeAll(keepingCapacity: true)
        serverSizes.removeAll(keepingCapacity: true); ipSizes.removeAll(keepingCapacity: true)
        durations.removeAll(keepingCapacity: true)
        var earliestInWindow = o.startNs
        let windowNs = Int64(config.windowSeconds) * 1_000_000_000
        for r in 0..<Int(e.pointee.ringCount) {
            let s = ring[i * Self.ringLength + r]
            guard o.startNs - s.startNs <= horizonNs, s.startNs - o.startNs <= horizonNs else { continue }
            starts.append(Double(s.startNs) * 1e-9)
            durations.append(Double(max(0, s.endNs - s.startNs)) * 1e-9)
            if o.startNs - s.startNs <= windowNs {
                clientSizes.append(Double(s.clientBytes)); serverSizes.append(Double(s.serverBytes))
                earliestInWindow = min(earliestInWindow, s.startNs)
            }
            ipSizes.append(Double(s.clientIPBytes))
        }
        starts.sort(); durations.sort(); ipSizes.sort()
        v.spanSeconds = Double(o.startNs - earliestInWindow) * 1e-9
        v.clientBytesCV = SeriesStatistics.coefficientOfVariation(clientSizes)
        v.serverBytesCV = SeriesStatistics.coefficientOfVariation(serverSizes)
        v.modalSizeShare = SeriesStatistics.modalShare(serverSizes, binWidth: config.sizeBinBytes, scratch: &scratch)
        v.sameRequestShare = SeriesStatistics.modalShare(clientSizes, binWidth: 1, scratch: &scratch)
        v.medianDurationSeconds = SeriesStatistics.median(sorted: durations[...])
        gaps.removeAll(keepingCapacity: true); scored.removeAll(keepingCapacity: true)
        for k in starts.indices.dropFirst() {
            let g = starts[k] - starts[k - 1]
            gaps.append(g)
            if g >= config.beaconMinIntervalSeconds { scored.append(g) }
        }
        gaps.sort(); scored.sort()
        v.medianGapSeconds = SeriesStatistics.median(sorted: gaps[...])

        // Beaconing: RITA v5's timestamp and data-size scores, with a connection-count component.
        var periodicity = 0.0
        // A resolver's port carries every name its clients look up: one
        // series of unrelated queries, not a beacon (DNS C2 is scored per
        // registered domain). A series whose typical gap is below the
        // shortest interval is a burst, not a beacon.
        let resolver = o.serverPort == 53 && (o.proto == IPProto.udp || o.proto == IPProto.tcp)
        // A beacon calls a server that answers: multicast and broadcast
        // announcements (SSDP, mDNS) are not.
        if !resolver && o.serverIsUnicast && starts.count >= Self.beaconScoreMinSessions && scored.count >= Self.beaconScoreMinSessions - 1
            && v.medianGapSeconds >= config.beaconMinIntervalSeconds {
            let b = beaconComponents(gaps: &scored, sizes: ipSizes, span: starts[starts.count - 1] - starts[0])
            v.tsScore = b.ts; v.gapSkew = b.skew; v.gapMAD = b.mad; v.dsScore = b.ds
            v.countScore = b.count; v.beaconing = b.beaconing
            v.beaconExempt = beaconExemption(o, values: v)
            if v.beaconExempt != .none { v.beaconing = 0 }
        }

        // Repetition: many similar short sessions at an attacker's pace, not a clock's.
        // A clock excuses only a client that sends the same request each time
        // (a poller, a mail check); a guesser with a fixed delay between tries
        // (ncrack's cd=5s, hydra -W) sends a different credential each time.
        periodicity = clockLikeness() * (v.sameRequestShare >= config.pollerMinSameRequestShare ? 1 : 0)
        v.clockSpread = lastClockSpread
        v.pollerSchedule = periodicity >= 0.5
        let count = min(1, max(0, Double(Int(v.shortSessions) - 2) / Double(config.repetitionSessions - 2)))
        let similarity = max(0, 1 - max(v.clientBytesCV, v.serverBytesCV))
        let full = config.repetitionFullPaceSeconds, none = config.repetitionNoPaceSeconds
        let pace = gaps.isEmpty ? 0 : min(1, max(0, (none - v.medianGapSeconds) / (none - full)))
        // A campaign, not a burst: a page load's parallel connections end within seconds.
        let campaign = min(1, v.spanSeconds / config.repetitionMinSpanSeconds)
        v.repetition = max(v.repetition, SeriesStatistics.round3(count * similarity * pace * (1 - periodicity) * campaign))
    }

    /// Repetition as the server's refusals show it, for a session that was a
    /// login itself: 0 at one refused login
    /// in the window, whole at `repetitionRefusedLogins` (a user who mistypes
    /// twice stays under a verdict; a guesser's third refusal reaches it),
    /// whatever the sessions' sizes and pace — slow, varied and fixed-delay
    /// guessing alike. Zeek counts the same events (SSH::Password_Guessing,
    /// FTP::Bruteforcing), over a larger count per client.
    func refusedLoginRepetition(_ refused: UInt32) -> Double {
        let full = Double(config.repetitionRefusedLogins)
        return SeriesStatistics.round3(min(1, max(0, (Double(refused) - 1) / (full - 1))))
    }

    /// RITA v5's beacon components of one series (docs/features.md,
    /// "Beaconing"), the one formula both the pair series and the DNS series
    /// (`dnsBeaconValues`) are scored with.
    struct BeaconComponents {
        var ts = 0.0, ds = 0.0, count = 0.0, skew = 0.0, mad = 0.0, beaconing = 0.0
    }

    /// The beacon components of a series whose sorted gaps of at least
    /// `beaconMinIntervalSeconds` are `gaps` (missed beats are folded in
    /// place when `foldMissedBeats`: pair series; DNS series are scored as
    /// RITA scores, unfolded, see `dnsBeaconValues`), whose sorted client IP
    /// bytes per session are `sizes` and whose starts cover `span` seconds.
    /// Uses `scratch`; allocates nothing once the scratch arrays have grown.
    func beaconComponents(gaps: inout [Double], sizes: [Double], span: Double, foldMissedBeats: Bool = true) -> BeaconComponents {
        if foldMissedBeats { SeriesStatistics.splitMissedBeats(&gaps) }
        let ts = SeriesStatistics.regularityScore(sorted: gaps, minIQR: 10, defaultMADScore: 1, scratch: &scratch)
        let ds = SeriesStatistics.regularityScore(sorted: sizes, minIQR: 10, defaultMADScore: 0, scratch: &scratch)
        // The count component needs both enough sessions and enough time
        // (a page load's burst of requests is not a schedule).
        // Beats, missed ones included (gaps after folding, plus one).
        let count = min(1, max(0, Double(gaps.count + 1 - 3) / Double(config.beaconSessions - 3)),
                        span / config.beaconMinSpanSeconds)
        return BeaconComponents(ts: ts.score, ds: ds.score, count: count, skew: ts.skew, mad: ts.mad,
                                beaconing: SeriesStatistics.round3(count * (2 * ts.score + ds.score) / 3))
    }

    private var lastClockSpread = 0.0
    private var recentGaps: [Double] = []

    /// How much the series' recent gaps look like a clock's schedule, in
    /// [0, 1]: the spread (max − min) / median of the last up to 8 gaps
    /// between starts (in start order), pauses over twice the median left
    /// out while two gaps remain, is 1 at ≤ 30 % and 0 at ≥ 50 % (a poller
    /// may jitter its schedule by ±15 % to spread its load).
    /// Pollers and mail clients keep time; password guessers go as fast as
    /// the server's answers let them, or wait a randomised time. Judged from
    /// the third session (two gaps), when repetition's count first counts. A
    /// median gap under 1 s is never taken as a clock (a schedule that fast is a burst).
    private func clockLikeness() -> Double {
        lastClockSpread = 0
        guard starts.count >= 3 else { return 0 }
        recentGaps.removeAll(keepingCapacity: true)
        for k in max(1, starts.count - 8)..<starts.count { recentGaps.append(starts[k] - starts[k - 1]) }
        recentGaps.sort()
        let median = SeriesStatistics.median(sorted: recentGaps[...])
        guard median >= config.beaconMinIntervalSeconds else { return 0 }
        // A pause — a gap over twice the median: the poller restarted, the
        // laptop slept, a beat was missed — does not unmake a schedule.
        var longest = recentGaps.count - 1
        while longest > 1 && recentGaps[longest] > 2 * median { longest -= 1 }
        let spread = (recentGaps[longest] - recentGaps[0]) / median
        lastClockSpread = spread
        return min(1, max(0, (0.5 - spread) / 0.2))
    }

    /// Periodic series that are not beacons by their shape: NTP's fixed
    /// 48-byte exchange with a server on port 123 (time synchronisation),
    /// or a client polling three or more servers on one schedule (within
    /// 10 % of this series' interval: monitoring).
    private func beaconExemption(_ o: SessionObservation, values v: BehaviourValues) -> BeaconExemption {
        if o.proto == IPProto.udp && o.serverPort == 123 && o.clientPackets > 0 && o.serverPackets > 0
            && o.clientBytes == 48 * o.clientPackets && o.serverBytes == 48 * o.serverPackets {
            return .timeSync
        }
        guard v.tsScore >= 0.9, v.countScore >= 0.5 else { return .none }
        let c = clientSlot(o.client, at: o.startNs)
        let me = (Self.mix(o.server) ^ UInt64(o.serverPort)) & ~Self.dnsPeriodicTag
        var others = 0, stalest = 0, stalestRank = (tier: 3, ns: Int64.max), mine = -1
        let gap = v.medianGapSeconds
        for k in 0..<4 {
            let q = clients[c].periodic[k]
            if q.server == me { mine = k; continue }
            // DNS series are neither counted here nor kept over a pair series:
            // an empty slot is taken first, then the stalest DNS series', then
            // the stalest pair series', so the pair series of a poller hold
            // their slots as they would without DNS series.
            let dns = q.server & Self.dnsPeriodicTag != 0
            let rank = (tier: q.server == 0 ? 0 : dns ? 1 : 2, ns: q.lastNs)
            if rank < stalestRank { stalest = k; stalestRank = rank }
            if !dns && q.server != 0 && o.startNs - q.lastNs <= horizonNs && abs(q.gapSeconds - gap) <= 0.1 * gap { others += 1 }
        }
        clients[c].periodic[mine >= 0 ? mine : stalest] = Periodic(server: me, gapSeconds: gap, lastNs: o.startNs)
        return others >= 2 ? .poller : .none
    }

    // MARK: Clients

    /// The slot of `address`'s client state, taken (and cleared) if new.
    func clientSlot(_ address: IPAddress, at ns: Int64) -> Int {
        let (i, probed) = probe(clientIndex, count: clientCount, hash: Self.mix(address) | 1, at: ns,
                                staleAfter: scanStateNs) { clients[$0].address == address }
        guard probed != .found else { return i }
        let d = Self.change(probed)
        counters.clientsHeld += d.held; counters.clientEvictions &+= d.evicted
        let e = clients + i
        e.pointee = Client()
        e.pointee.used = true; e.pointee.address = address; e.pointee.lastNs = ns
        return i
    }

    /// Sets hash `h`'s two bits in a Bloom filter of `N` × 64 bits (a power
    /// of two); whether both were set already (the key was, or may have been, seen).
    static func testAndSet<let N: Int>(_ filter: inout InlineArray<N, UInt64>, _ h: UInt64) -> Bool {
        let bits = N * 64, shift = UInt64(bits.trailingZeroBitCount)
        let b1 = Int(h & UInt64(bits - 1)), b2 = Int((h >> shift) & UInt64(bits - 1))
        let seen = filter[b1 >> 6] & (1 << UInt64(b1 & 63)) != 0 && filter[b2 >> 6] & (1 << UInt64(b2 & 63)) != 0
        filter[b1 >> 6] |= 1 << UInt64(b1 & 63)
        filter[b2 >> 6] |= 1 << UInt64(b2 & 63)
        return seen
    }

    /// The threshold random walk over first contacts: TCP sessions to a
    /// unicast server whose outcome is known, each (server, port) once per
    /// client (a Bloom filter; once it fills, repeats may pass as seen).
    /// UDP first contacts are counted beside it, not walked: an unanswered
    /// datagram is a closed or filtered port to a scanner and a lost or
    /// late answer to a resolver, and only their share tells them apart.
    private func scanValues(_ o: SessionObservation, into v: inout BehaviourValues) {
        let counts = o.proto == IPProto.tcp && o.outcome != .unknown && o.serverIsUnicast
        let c = clientSlot(o.client, at: o.startNs)
        let e = clients + c
        let countsUDP = o.proto == IPProto.udp && o.serverIsUnicast
        let contact = counts || countsUDP ? Self.mix(o.server) ^ (UInt64(o.serverPort) &* 0x9E37_79B9_7F4A_7C15) : 0
        if counts {
            if !Self.testAndSet(&e.pointee.contacted, contact) {
                e.pointee.firstContacts &+= 1
                v.firstContact = true
                let failed = o.outcome == .failed
                if failed { e.pointee.failedFirstContacts &+= 1 }
                let s = trw.step(e.pointee.llr, failed: failed)
                e.pointee.llr = s.llr
                if s.scanner { e.pointee.scanner = true }
                e.pointee.lastNs = max(e.pointee.lastNs, o.startNs)
                clientIndex[c].lastNs = e.pointee.lastNs
            }
        }
        if countsUDP {
            if !Self.testAndSet(&e.pointee.udpContacted, contact) {
                e.pointee.udpFirstContacts &+= 1
                if o.outcome != .answered { e.pointee.udpUnansweredFirstContacts &+= 1 }
                e.pointee.lastNs = max(e.pointee.lastNs, o.startNs)
                clientIndex[c].lastNs = e.pointee.lastNs
            }
        }
        e.pointee.sessionsStarted &+= 1
        if o.icmpError { e.pointee.icmpErrorsSent &+= 1 }
        v.sessionsStarted = e.pointee.sessionsStarted
        v.icmpErrorsSent = e.pointee.icmpErrorsSent
        v.udpFirstContacts = e.pointee.udpFirstContacts
        v.udpUnansweredFirstContacts = e.pointee.udpUnansweredFirstContacts
        v.scanLLR = e.pointee.llr; v.scanner = e.pointee.scanner
        // The scan score belongs to the probes, not to everything the
        // scanning host does (its DNS look-ups, its other sessions).
        // Only probes: a failed first contact, or an answered one the client
        // sent nothing on (a connect scan's SYN, SYN-ACK, RST); a session
        // with data is the host's own business even when it scans too.
        let probe = o.outcome == .failed || o.clientBytes == 0
        if v.firstContact && probe { v.scanning = e.pointee.scanner ? 1 : trw.score(e.pointee.llr) }
        v.firstContacts = e.pointee.firstContacts; v.failedFirstContacts = e.pointee.failedFirstContacts
    }
}
