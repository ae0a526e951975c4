/// Sizes, windows and score constants of the behaviour table. Memory is
/// fixed at start by `pairCapacity` and `clientCapacity` (see
/// `BehaviourTable.bytesPerPair` / `bytesPerClient`; docs/features.md).
public struct BehaviourConfig: Sendable, Equatable {
    /// Window of packet time over which sessions are counted (repetition, counts).
    public var windowSeconds: Int = 1800
    /// Pair series — (client, server, server port, protocol) — held at once.
    public var pairCapacity: Int = 16384
    /// Clients (scan state) held at once.
    public var clientCapacity: Int = 16384
    /// (client, registered domain) DNS series held at once.
    public var dnsCapacity: Int = 16384
    /// Flood targets (hosts receiving sessions) held at once.
    public var targetCapacity: Int = 16384
    /// A client's scan state is forgotten after this long without a new first contact.
    public var scanStateSeconds: Int = 4 * 3600
    /// A pair's session ring is forgotten after this long without a session
    /// (beacons slower than the window are still scored).
    public var beaconHorizonSeconds: Int = 4 * 3600

    // Short sessions (Bro 2.x SSH guessing rule, generalised).
    public var shortMinSpokenBytes: Int = 10
    public var shortMaxServerBytes: Int = 4000
    public var shortMaxServerPackets: Int = 40

    // Repetition: count, similarity and pace.
    /// Short sessions in the window at which the count component reaches 1.
    public var repetitionSessions: Int = 5
    /// Median gap between attempts at or below which the pace component is 1 …
    public var repetitionFullPaceSeconds: Double = 45
    /// … and at or above which it is 0 (linear between).
    public var repetitionNoPaceSeconds: Double = 90
    /// A series on a clock's schedule is a poller only when at least this
    /// share of its sessions carried exactly the same number of client bytes
    /// (the same request every time).
    public var pollerMinSameRequestShare: Double = 0.8
    /// Time the short sessions must cover before the repetition score is whole (linear below).
    public var repetitionMinSpanSeconds: Double = 20
    /// Sessions with a refused login in the window at which repetition is whole on that count alone.
    public var repetitionRefusedLogins: Int = 3
    /// Bin width for the modal share of the server's bytes per session.
    public var sizeBinBytes: Double = 64

    // Beaconing.
    /// Sessions at which the connection-count component reaches 1 (at least 4 are scored).
    public var beaconSessions: Int = 12
    /// Time a series must cover before its count component reaches 1.
    public var beaconMinSpanSeconds: Double = 120
    /// Shortest median interval scored as a beacon (RITA works in whole seconds).
    public var beaconMinIntervalSeconds: Double = 1

    // DNS tunnelling: distinct subdomains at which the volume component starts and is whole,
    // and the mean subdomain length at which the long-random component starts and is whole.
    public var dnsDistinctLow: Double = 8
    public var dnsDistinctHigh: Double = 64
    public var dnsLengthLow: Double = 10
    public var dnsLengthHigh: Double = 30

    // Flooding, per target host over `floodWindowSeconds` (docs/features.md, "Flooding").
    /// The window one-sided sessions are counted over (six buckets).
    public var floodWindowSeconds: Int = 60
    /// One-sided sessions at which the volume component starts and is whole.
    public var floodSessionsLow: Int = 100
    public var floodSessionsHigh: Int = 300
    /// Requests the target never answered (connections held open) at which that component starts and is whole.
    public var floodRequestsLow: Int = 20
    public var floodRequestsHigh: Int = 60
    /// A flood comes from many sources, or piles on a few ports, or carries
    /// bulk data in its datagrams; one source spread over many ports with
    /// empty probes is a scan.
    public var floodSources: Int = 20
    public var floodPorts: Int = 4
    public var floodBulkBytes: Int = 100

    // Threshold random walk (Jung et al. 2004).
    public var trwTheta0: Double = 0.8
    public var trwTheta1: Double = 0.2
    public var trwAlpha: Double = 0.01
    public var trwBeta: Double = 0.99

    public init() {}

    /// The first key whose value cannot work, with the reason; nil when all can.
    public func invalidSetting() -> (key: String, reason: String)? {
        if windowSeconds < 60 { return ("behaviour.window_seconds", "must be at least 60") }
        if pairCapacity < 16 { return ("behaviour.pair_capacity", "must be at least 16") }
        if clientCapacity < 16 { return ("behaviour.client_capacity", "must be at least 16") }
        if dnsCapacity < 16 { return ("behaviour.dns_capacity", "must be at least 16") }
        if targetCapacity < 16 { return ("behaviour.target_capacity", "must be at least 16") }
        if floodWindowSeconds < 6 { return ("behaviour.flood_window_seconds", "must be at least 6") }
        if !(floodSessionsHigh > floodSessionsLow && floodSessionsLow >= 0) {
            return ("behaviour.flood_sessions_high", "must be above flood_sessions_low")
        }
        if !(floodRequestsHigh > floodRequestsLow && floodRequestsLow >= 0) {
            return ("behaviour.flood_requests_high", "must be above flood_requests_low")
        }
        if scanStateSeconds < windowSeconds { return ("behaviour.scan_state_seconds", "must be at least window_seconds") }
        if beaconHorizonSeconds < windowSeconds { return ("behaviour.beacon_horizon_seconds", "must be at least window_seconds") }
        if repetitionSessions < 3 { return ("behaviour.repetition_sessions", "must be at least 3") }
        if repetitionRefusedLogins < 2 { return ("behaviour.repetition_refused_logins", "must be at least 2") }
        if beaconSessions < 4 { return ("behaviour.beacon_sessions", "must be at least 4") }
        if !(repetitionNoPaceSeconds > repetitionFullPaceSeconds) {
            return ("behaviour.repetition_no_pace_seconds", "must be above repetition_full_pace_seconds")
        }
        if !(trwTheta0 > trwTheta1 && trwTheta1 > 0 && trwTheta0 < 1) {
            return ("behaviour.trw_theta", "needs 0 < theta1 < theta0 < 1")
        }
        return nil
    }
}
