import Behaviour
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
    /// A flood at its target: half-open connections, flows, or distinct sources.
    static let floodHalfOpen = 10
    static let floodFlows = 50
    static let floodSources = 20
    /// A flood from one client: sessions of its pair series, or HTTP requests in one connection.
    static let floodSessions = 10
    static let floodRequests = 20
    /// A one-flow flood: packets one way, at least ten times those coming back.
    static let floodPackets = 1000
    /// Password guessing: sessions to one service, or HTTP requests in one
    /// connection (basic-auth guesses over keep-alive). A campaign's first
    /// two sessions have none of this yet; a refused login shows in one.
    static let guessSessions = 3
    static let guessRequests = 3
    /// A beacon: sessions of its pair series (the first beat has no evidence yet).
    static let beaconSessions = 2
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
        case "scan": return scanned(r, b) || flooded(r, b)
        // Scans and floods are both many-flow attacks and easily named one
        // for the other: either's evidence supports either.
        case "dos": return icmpError(r) ? answersFlood(r) : flooded(r, b) || scanned(r, b)
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
        // A UDP probe that got nothing back is a failed contact of its own.
        let unansweredUDP = r.proto == 17 && f[.bwd_pkts] == 0
        return failing || unansweredUDP
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

    /// An ICMP error is a flood's mark when its sender answers a flood: it
    /// started `floodFlows` flows (its replies among them) in the window.
    static func answersFlood(_ r: FlowRecord) -> Bool { r.features[.src_flows] >= Double(floodFlows) }

    static func flooded(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        let f = r.features
        if f[.dst_half_open] >= Double(floodHalfOpen) || f[.dst_flows] >= Double(floodFlows)
            || f[.dst_distinct_srcs] >= Double(floodSources) || f[.http_requests] >= Double(floodRequests) {
            return true
        }
        if f[.fwd_pkts] >= Double(floodPackets) && f[.bwd_pkts] * 10 <= f[.fwd_pkts] { return true }
        guard let b else { return true }
        return b.sessions >= UInt32(floodSessions)
    }

    /// A refused login in the flow itself (`LoginOutcome`), a run of HTTP
    /// requests, or repeated sessions to the service, unless those sessions
    /// send the same request on a clock's schedule (a mail check every minute).
    static func guessed(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        let f = r.features
        if refusedLogin(r) || f[.http_requests] >= Double(guessRequests) { return true }
        guard let b else { return true }
        if b.pollerSchedule { return false }
        return f[.beh_repetition] > 0 || b.sessions >= UInt32(guessSessions)
    }

    /// The server refused a login in this flow (`LoginOutcome.refused`).
    static func refusedLogin(_ r: FlowRecord) -> Bool { r.app?.login?.refused ?? false }

    static func beaconed(_ r: FlowRecord, _ b: BehaviourValues?) -> Bool {
        if r.features[.beh_beaconing] > 0 { return true }
        guard let b else { return true }
        return b.sessions >= UInt32(beaconSessions)
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
        return f[.dns_qtype_class] == 4 || (r.dns.present && r.dns.isDataCarryingType)
            || f[.beh_dns_tunnel] >= tunnelScore || Int(r.dns.subdomainLength) >= tunnelSubdomainLength
    }

    /// A web attack is HTTP seen in the clear that carries an attack's marks:
    /// odd characters in the URI (quotes, angle brackets, traversals,
    /// semicolons, heavy percent-encoding), an error answer, or a run of
    /// requests (a scanner). A plain successful GET is not one.
    static func attackedWeb(_ r: FlowRecord) -> Bool {
        let f = r.features
        guard f[.app_http] > 0 else { return false }
        return f[.http_uri_quotes] > 0 || f[.http_uri_angles] > 0 || f[.http_uri_traversals] > 0
            || f[.http_uri_semicolons] > 0 || f[.http_uri_pct_share] >= 0.1 || f[.http_status_class] >= 4
            || f[.http_requests] >= Double(guessRequests)
    }
}
