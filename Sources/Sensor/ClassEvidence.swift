import Behaviour
import Decoding
import AppLayer
import Features
import Flows

/// What each attack class is, seen across flows or in the flow's protocol,
/// as a necessary condition for a model verdict of that class: a scan
/// touches many endpoints and most first contacts fail, a flood piles flows
/// or packets on one target, password guessing repeats sessions to one
/// service, a beacon comes back, a DNS tunnel is DNS, a web attack is HTTP.
///
/// The classifiers judge one flow; on traffic unlike their training data
/// they still give some attack class a confident probability (an SMTP
/// session called a DNS tunnel, a long HTTPS browsing connection called c2).
/// The evidence gate drops a model verdict whose class has none of its
/// evidence (docs/model-card.md, "Evidence gate", has the rules' costs and
/// gains measured leave-one-group-out and on the public captures). The
/// rules are definitions of the classes, not fitted to any capture; each
/// threshold is a count a real attack of the class exceeds within the
/// host-context or behaviour window.
package enum ClassEvidence {
    /// A scan's reach: distinct destination ports or hosts of the client, or its first contacts.
    static let scanReach = 4
    /// A scan's failures: the client's failed handshakes or failed first contacts.
    static let scanFailures = 2
    /// ICMP errors a host sent that make it a flood's or scan's target answering.
    static let floodICMPErrors = 10
    /// The share of a client's UDP first contacts left unanswered that makes its silent datagrams probes.
    static let scanUnansweredShare = 0.5
    /// A flood at its target: half-open connections, flows, or distinct sources.
    static let floodHalfOpen = 10
    static let floodFlows = 50
    static let floodSources = 20
    /// A flood from one client: sessions of its pair series (`floodFlows` of
    /// them when the server answered this one), or HTTP requests in one connection.
    static let floodSessions = 10
    /// … at a flood's pace: a median gap between their starts under a second.
    static let floodGapSeconds = 1.0
    static let floodRequests = 20
    /// A one-flow flood: packets one way, at least ten times those coming back.
    static let floodPackets = 1000
    /// Password guessing over HTTP keep-alive: POSTs in one connection. A
    /// campaign's first sessions have no repetition yet; a refused login
    /// shows in one.
    static let guessRequests = 3
    /// … or the repetition score at a campaign's pace: a quarter of whole is
    /// three similar short sessions at an attacker's pace over the campaign
    /// span; a page load's burst of short sessions, or repeat visits at a
    /// reader's pace, stay under it.
    static let guessRepetition = 0.25
    /// A beacon: its pair series' beaconing score; while the series is too
    /// young for one (under `BehaviourTable.beaconScoreMinSessions`), a
    /// return: `beaconSessions` sessions a median `beaconGapSeconds` apart
    /// or more (the first beat has no evidence yet; the gap is the score's
    /// shortest interval, `BehaviourConfig.beaconMinIntervalSeconds`).
    static let beaconSessions = 2
    static let beaconGapSeconds = 1.0
    /// A DNS tunnel carries data: a data type (TXT, NULL, ANY), the behaviour
    /// table's DNS-tunnel score, or a name far longer below its registered
    /// domain than ordinary names (CDN names in the lab stay under 40 characters).
    static let tunnelScore = 0.5
    static let tunnelSubdomainLength = 52

    /// Whether the flow shows the evidence `className` needs. `behaviour`
    /// nil (the behaviour stage off): what only the behaviour table can
    /// show is not held against the verdict. Classes without a rule
    /// (and "anomaly") always pass.
    package static func supports(_ className: String, record r: FlowRecord, behaviour b: BehaviourValues?) -> Bool {
        switch className {
        case "scan": return icmpError(r) ? answersFlood(r, b) : scanned(r, b) || flooded(r, b)
        // Scans and floods are both many-flow attacks and easily named one
        // for the other: either's evidence supports either. An ICMP error
        // counts for either only from a host answering a flood of probes,
        // and for a flood only when its errors go to many hosts (spoofed
        // sources), not to the few clients a closed service turns away.
        case "dos":
            if icmpError(r) { return answersFlood(r, b) && r.features[.src_distinct_dsts] >= Double(floodSources) }
            return flooded(r, b) || scanned(r, b)
        case "bruteforce": return guessed(r, b)
        case "c2": return beaconed(r, b)
        case "tunnel": return tunnelled(r)
        case "webattack": return attackedWeb(r)
        default: return true
        }
    }

    /// Bit c set when class `classes[c]` is supported (the training data's
    /// evidence mask: the threshold is fitted on what the sensor alerts).
    package static func mask(classes: [String], record r: FlowRecord, behaviour b: BehaviourValues?) -> UInt8 {
        var m: UInt8 = 0
        for (c, name) in classes.prefix(8).enumerated() where supports(name, record: r, behaviour: b) { m |= 1 << UInt8(c) }
        return m
    }

    static func scanned(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        let f = r.features
        let reach = f[.src_distinct_dports] >= Double(scanReach) || f[.src_distinct_dsts] >= Double(scanReach)
            || (b.map { $0.firstContacts >= UInt32(scanReach) } ?? false)
        guard reach else { return false }
        let failing = f[.src_failed_handshakes] >= Double(scanFailures) || f[.beh_scanning] > 0
            || (b.map { $0.failedFirstContacts >= UInt32(scanFailures) || $0.scanner } ?? false)
        return failing || probedUDP(r, b)
    }

    /// A UDP probe that got nothing back, from a client whose UDP first
    /// contacts mostly went unanswered: `scanReach` or more of them and at
    /// least `scanUnansweredShare` of all. A recursive resolver's lost or
    /// late answers are a few of its many servers; a UDP scan's closed and
    /// filtered ports are nearly all of its targets.
    static func probedUDP(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        guard r.proto == IPProto.udp && r.features[.bwd_pkts] == 0 else { return false }
        guard let b else { return true }
        let unanswered = Double(b.udpUnansweredFirstContacts)
        return unanswered >= Double(scanReach) && unanswered >= scanUnansweredShare * Double(b.udpFirstContacts)
    }

    /// An ICMP error (ICMP destination unreachable, source quench, redirect,
    /// time exceeded, parameter problem; ICMPv6 types 1–4) is a host's reply
    /// about another flow: a busy resolver's late answer draws a
    /// port-unreachable whose destination has many flows, and that is no
    /// flood.
    static func icmpError(_ r: FlowRecord) -> Bool {
        guard let m = ICMPMessage.decode(r.icmpToServer) else { return false }
        if r.proto == 1 { return [3, 4, 5, 11, 12].contains(m.type) }
        return r.proto == 58 && (1...4).contains(m.type)
    }

    /// An ICMP error is a scan's or flood's mark when its sender answers
    /// one: `floodICMPErrors` or more of the sessions it started were ICMP
    /// errors, and at least half. A busy resolver's port-unreachables for
    /// late answers are a few among its many queries. Without the behaviour
    /// table: the sender started `floodFlows` flows in the host-context window.
    static func answersFlood(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        guard let b else { return r.features[.src_flows] >= Double(floodFlows) }
        let errors = Double(b.icmpErrorsSent)
        return errors >= Double(floodICMPErrors) && 2 * errors >= Double(b.sessionsStarted)
    }

    static func flooded(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        let f = r.features
        // A visitor that exchanged data with a SYN-flooded server is not the flood.
        if f[.dst_half_open] >= Double(floodHalfOpen) && !ordinaryExchange(r) { return true }
        if f[.http_requests] >= Double(floodRequests) { return true }
        if f[.fwd_pkts] >= Double(floodPackets) && f[.bwd_pkts] * 10 <= f[.fwd_pkts] { return true }
        if lostAmongAnswers(r, b) { return false }
        // A DNS query nobody answered is a resolver's everyday loss, however
        // busy the server: a flood only when its own series goes unanswered.
        if unansweredDNSQuery(r) {
            guard let b else { return true }
            return b.sessions >= UInt32(floodSessions) && 2 * b.unansweredSessions >= b.sessions
        }
        // A busy server's counts are everybody's: they support the flows
        // that are no ordinary exchange with it.
        if (f[.dst_flows] >= Double(floodFlows) || f[.dst_distinct_srcs] >= Double(floodSources)) && !ordinaryExchange(r) {
            return true
        }
        guard let b else { return true }
        // Sessions at a flood's pace: a poller's hundreds a day are no flood.
        // Exchanges the server answered are one only in a flood's numbers: a
        // page load's parallel connections and a client's look-ups at its
        // resolver come as fast, a few dozen at a time.
        guard b.medianGapSeconds < floodGapSeconds else { return false }
        // Look-ups its resolver answered are no flood from one client,
        // however many: a browser's page loads make dozens a minute, in bursts.
        if answeredDNSQuery(r) { return false }
        return b.sessions >= UInt32(ordinaryExchange(r) ? floodFlows : floodSessions)
    }

    /// A well-formed DNS query over UDP that got an answer.
    static func answeredDNSQuery(_ r: FlowRecord) -> Bool {
        r.proto == IPProto.udp && r.dns.present && r.features[.bwd_pkts] > 0
    }

    /// A well-formed DNS query over UDP that got no answer.
    static func unansweredDNSQuery(_ r: FlowRecord) -> Bool {
        r.proto == IPProto.udp && r.dns.present && r.features[.bwd_pkts] == 0
    }

    /// A datagram that got nothing back in a series the server mostly
    /// answers: a recursive resolver's query lost on the way or answered
    /// late, to an authoritative server it asks all day. A flood's datagrams
    /// go unanswered as a rule (from each spoofed source, its one; from one
    /// source, most of its series).
    static func lostAmongAnswers(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        guard let b, r.proto != IPProto.tcp, r.features[.bwd_pkts] == 0 else { return false }
        // The series holds this session: it is one of the unanswered.
        return 2 * max(1, b.unansweredSessions) < b.sessions
    }

    /// Both sides sent payload (ICMP: the echo was answered): what every
    /// client of a busy server does, and what flood traffic — spoofed SYNs,
    /// datagrams nobody answers, connections held open without a request —
    /// does not.
    static func ordinaryExchange(_ r: FlowRecord) -> Bool {
        let f = r.features
        if r.proto == IPProto.icmp || r.proto == IPProto.icmpv6 { return f[.bwd_pkts] > 0 }
        return f[.fwd_payload_bytes] > 0 && f[.bwd_payload_bytes] > 0
    }

    /// A refused login in the flow itself (`LoginOutcome`), a run of HTTP
    /// POSTs in one connection (form guesses over keep-alive), or the
    /// repetition score — similar short sessions at an attacker's pace, or
    /// refused logins in earlier sessions — unless the series sends the same
    /// request on a clock's schedule (a mail check every minute). Repeated
    /// sessions alone are not enough: a browser opens several to one server.
    static func guessed(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        let f = r.features
        if refusedLogin(r) || (f[.http_requests] >= Double(guessRequests) && f[.http_method] == HTTPInfo.postMethodCode) { return true }
        guard let b else { return true }
        if b.pollerSchedule { return false }
        return f[.beh_repetition] >= guessRepetition
    }

    /// The server refused a login in this flow (`LoginOutcome.refused`).
    static func refusedLogin(_ r: FlowRecord) -> Bool { r.app?.login?.refused ?? false }

    /// A beacon comes back on a schedule. Once its series has the sessions
    /// the beaconing score is computed from, the score decides: a browser's
    /// dozens of connections to one site over a session are a series too,
    /// but not a schedule. Before that, the second and third beats count
    /// when they came back after a pause, not in a page load's burst of
    /// parallel connections (the score's own shortest interval).
    static func beaconed(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        if r.features[.beh_beaconing] > 0 { return true }
        guard let b else { return true }
        return b.sessions >= UInt32(beaconSessions) && b.sessions < UInt32(BehaviourTable.beaconScoreMinSessions)
            && b.medianGapSeconds >= beaconGapSeconds
    }

    static func tunnelled(_ r: FlowRecord) -> Bool {
        // ICMP tunnels carry their data in echo payloads (ICMP 8/0, ICMPv6 128/129).
        if r.proto == 1 || r.proto == 58 {
            guard let m = ICMPMessage.decode(r.icmpToServer) else { return false }
            return r.proto == 1 ? m.type == 8 || m.type == 0 : m.type == 128 || m.type == 129
        }
        let f = r.features
        let dns = f[.app_dns] > 0 || ((r.proto == 6 || r.proto == 17) && (r.srcPort == 53 || r.dstPort == 53))
        guard dns else { return false }
        // A data type carries data when asked under a name that can hold it:
        // not the registered domain itself (SPF) and not a protocol's own
        // underscore name (DKIM, DMARC, MTA-STS), which mail servers ask all day.
        let dataType = f[.dns_qtype_class] == 4 || (r.dns.present && r.dns.isDataCarryingType)
        let protocolName = r.dns.present && (r.dns.hasServiceLabel || r.dns.subdomainLength == 0)
        return (dataType && !protocolName)
            || f[.beh_dns_tunnel] >= tunnelScore || Int(r.dns.subdomainLength) >= tunnelSubdomainLength
    }

    /// A web attack is HTTP seen in the clear that carries an attack's marks:
    /// odd characters in the URI (quotes, angle brackets, traversals,
    /// semicolons, heavy percent-encoding), an error answer (a scanner's
    /// misses, a failing injection), or attack content in any of its
    /// requests, its form bodies included (`WebAttackContent`). A plain
    /// successful GET is not one, nor a browser's run of them over keep-alive.
    static func attackedWeb(_ r: FlowRecord) -> Bool {
        let f = r.features
        guard f[.app_http] > 0 else { return false }
        if let http = r.app?.http, !http.webAttack.isEmpty { return true }
        return f[.http_uri_quotes] > 0 || f[.http_uri_angles] > 0 || f[.http_uri_traversals] > 0
            || f[.http_uri_semicolons] > 0 || f[.http_uri_pct_share] >= 0.1 || f[.http_status_class] >= 4
    }
}
