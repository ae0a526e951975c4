/// A pair series' and its client's behaviour at the end of one flow: what
/// every flow record carries (`behaviour {…}`) and what behaviour verdicts
/// and alerts are made of. Scores are in [0, 1]; definitions in docs/features.md.
public struct BehaviourValues: Sendable, Equatable {
    // The pair series (client, server, server port, protocol) in the window.
    /// Sessions started in the window, this one included.
    public var sessions: UInt32 = 0
    /// Of those, sessions that ended short (see `SessionObservation.isShort`).
    public var shortSessions: UInt32 = 0
    /// Of those, sessions the server never answered or refused.
    public var failedSessions: UInt32 = 0
    /// Of those, sessions ended by a reset.
    public var resetSessions: UInt32 = 0
    /// Of those, sessions in which the server refused a login.
    public var refusedLoginSessions: UInt32 = 0
    /// Of those, datagram (non-TCP) sessions that got nothing back.
    public var unansweredSessions: UInt32 = 0
    /// Of the series' HTTP/1.x final responses in the window, how many were
    /// misses (404, 403), and the distinct missed paths (linear counting,
    /// approximate, at most 266): forced browsing across connections.
    public var httpResponses: UInt32 = 0
    public var httpMisses: UInt32 = 0
    public var httpMissedPaths: UInt32 = 0
    /// Over the ring (the last sessions, at most `BehaviourTable.ringLength`):
    /// coefficient of variation of client and server application bytes per session,
    /// share of the modal server size, median session duration and median gap between starts.
    public var clientBytesCV: Double = 0
    public var serverBytesCV: Double = 0
    public var modalSizeShare: Double = 0
    /// Share of the sessions in the window whose client sent exactly the most
    /// common number of application bytes (a poller's same request).
    public var sameRequestShare: Double = 0
    public var medianDurationSeconds: Double = 0
    public var medianGapSeconds: Double = 0
    /// The series had an earlier session to compare with: the distribution
    /// values (CVs, modal share, durations, gaps, beacon components) hold.
    public var hasSeriesStatistics: Bool = false
    /// (max − min) / median of the last up to 8 gaps (0 when under 3 sessions or a median under
    /// `beaconMinIntervalSeconds`; pauses over twice the median left out): at or below 0.3 the series keeps a clock's time.
    public var clockSpread: Double = 0
    /// The series sends the same request on a clock's schedule (clock
    /// spread at most 0.4 and `sameRequestShare` at least
    /// `pollerMinSameRequestShare`): a poller or a mail check, which
    /// repetition excuses and the evidence gate does not take as guessing.
    public var pollerSchedule: Bool = false
    /// Packet time from the series' first session in the window to this one's start.
    public var spanSeconds: Double = 0

    // Beaconing components (RITA v5 definitions).
    public var tsScore: Double = 0
    public var dsScore: Double = 0
    public var countScore: Double = 0
    public var gapSkew: Double = 0
    public var gapMAD: Double = 0
    /// The series is exempt from beacon verdicts: time synchronisation or
    /// one poller's schedule over several servers (see docs/features.md).
    public var beaconExempt: BeaconExemption = .none

    // The client's scan state.
    public var scanLLR: Double = 0
    public var firstContacts: UInt32 = 0
    public var failedFirstContacts: UInt32 = 0
    /// This session was a first contact of its client (it took a step of the walk).
    public var firstContact: Bool = false
    /// The client passed the TRW's scanner threshold while this state was held.
    public var scanner: Bool = false
    /// The client's UDP first contacts (unicast (server, port) pairs) and
    /// those that got no datagram back, over the scan state's lifetime.
    public var udpFirstContacts: UInt32 = 0
    public var udpUnansweredFirstContacts: UInt32 = 0
    /// Sessions the client started while its scan state was held, and how
    /// many of them were ICMP errors (a flooded or scanned host's replies).
    public var sessionsStarted: UInt32 = 0
    public var icmpErrorsSent: UInt32 = 0

    // The client's queries under the flow's registered domain (DNS flows only).
    public var dnsQueries: UInt32 = 0
    /// Distinct names below the domain over the last one to two windows (linear counting, approximate).
    public var dnsDistinctSubdomains: Double = 0
    public var dnsMeanSubdomainLength: Double = 0
    /// Mean of each name's subdomain entropy over its bound log2(min(length, 36)).
    public var dnsMeanEntropy: Double = 0
    /// Share of TXT, NULL and ANY queries.
    public var dnsDataTypeShare: Double = 0

    // The client's look-ups under the flow's registered domain as a beacon
    // (DNS flows only): RITA v5's components, as for a pair series, over the
    // series' ring of beats (a beat: a run of queries each under
    // `beaconMinIntervalSeconds` after the one before).
    /// Beats in the ring within the beacon horizon, this flow's included.
    public var dnsBeats: UInt32 = 0
    /// The gaps are each name's (from a beat to the next beat of the same
    /// name: names recur for at least half the gaps), not the beats'.
    public var dnsTimedPerName: Bool = false
    /// Median gap (from a beat's last query to the next beat's first, or to
    /// the next beat of the same name when `dnsTimedPerName`).
    public var dnsMedianGapSeconds: Double = 0
    public var dnsTsScore: Double = 0
    public var dnsDsScore: Double = 0
    public var dnsCountScore: Double = 0
    public var dnsGapSkew: Double = 0
    public var dnsGapMAD: Double = 0
    /// The DNS series is exempt from beacon verdicts: one poller's schedule
    /// over several names or domains, or the look-ups of a periodic pair series.
    public var dnsBeaconExempt: BeaconExemption = .none
    /// round3(dns_count_score × (2·dns_ts_score + dns_ds_score) / 3); 0 when exempt.
    public var dnsBeaconing: Double = 0

    // The flow's target host over the flood window (one-sided flows, and
    // ICMP errors the target sent, only; `BehaviourTable+Flood.swift`).
    /// Sessions the target received, how many were one-sided, and of those
    /// the TCP requests it never answered.
    public var floodSessions: UInt32 = 0
    public var floodOneSided: UInt32 = 0
    public var floodRequests: UInt32 = 0
    /// Distinct sources and ports of the one-sided sessions (64-bit linear counting: approximate, at most 266).
    public var floodSources: UInt32 = 0
    public var floodPorts: UInt32 = 0
    /// The capture showed the target's side in the window (it answered a session or started one).
    public var floodTargetHeard = false
    /// The flooded host is the flow's client: an ICMP error it sent.
    public var floodTargetIsClient = false
    /// The window the flood counts cover (`BehaviourConfig.floodWindowSeconds`; 0: not counted).
    public var floodWindowSeconds: UInt32 = 0

    public var repetition: Double = 0
    /// max(the pair series' beacon score, `dnsBeaconing`).
    public var beaconing: Double = 0
    public var scanning: Double = 0
    public var dnsTunnel: Double = 0
    public var flooding: Double = 0
    /// The flow's own HTTP requests' web-attack content (set by the sensor's
    /// behaviour stage from the parsed requests, docs/features.md "Web
    /// attacks by content"): 0.8 for one request, 1 for two or more or an
    /// attack tool's User-Agent; or forced browsing across the pair series'
    /// connections (set by the table: 0.8 at `forcedBrowsingMissedPaths`
    /// distinct missed paths). The families as `WebAttackFamilies` bits and
    /// the requests that showed them (for forced browsing, the misses).
    public var webAttack: Double = 0
    public var webAttackFamilies: UInt8 = 0
    public var webAttackRequests: UInt32 = 0

    public init() {}

    /// The largest of the behaviour scores (a verdict is possible only when it reaches the lowest threshold).
    public var strongestScore: Double { max(repetition, beaconing, scanning, dnsTunnel, flooding, webAttack) }

    /// The beacon score is the DNS series' (the client's look-ups under one
    /// registered domain), not the pair series': its campaign is per
    /// (client, registered domain), whichever resolver carries it.
    public var beaconingIsDNS: Bool { dnsBeaconing > 0 && dnsBeaconing >= beaconing }
}

public enum BeaconExemption: UInt8, Sendable {
    /// `lookups`: a DNS series on the schedule of a periodic pair series of
    /// the same client (the look-ups before its connections: that series is
    /// the one scored, and allowed or exempted).
    case none, timeSync, poller, lookups
    public var name: String {
        switch self {
        case .none: "none"
        case .timeSync: "time_sync"
        case .poller: "poller"
        case .lookups: "lookups"
        }
    }
}

/// The behaviours a verdict or an alert can name.
public enum BehaviourKind: UInt8, Sendable, CaseIterable {
    case repetition, beaconing, scanning, dnsTunnel, flooding
    /// A flow's own web-attack content (its verdicts and campaigns go the behaviours' way).
    case webAttack

    public var name: String {
        switch self {
        case .repetition: "repetition"
        case .beaconing: "beaconing"
        case .scanning: "scanning"
        case .dnsTunnel: "dns_tunnel"
        case .flooding: "flooding"
        case .webAttack: "web_attack"
        }
    }

    /// The model class whose meaning the behaviour carries (its verdicts use the class's policy too).
    public var className: String {
        switch self {
        case .repetition: "bruteforce"
        case .beaconing: "c2"
        case .scanning: "scan"
        case .dnsTunnel: "tunnel"
        case .flooding: "dos"
        case .webAttack: "webattack"
        }
    }

    public func score(_ v: BehaviourValues) -> Double {
        switch self {
        case .repetition: v.repetition
        case .beaconing: v.beaconing
        case .scanning: v.scanning
        case .dnsTunnel: v.dnsTunnel
        case .flooding: v.flooding
        case .webAttack: v.webAttack
        }
    }
}
