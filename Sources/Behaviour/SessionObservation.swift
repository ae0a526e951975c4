import AppLayer
import Decoding

/// How a session (one flow, its first record) ended, as far as its flow
/// counters tell.
public enum SessionOutcome: UInt8, Sendable {
    /// The server never answered the client's SYN, or refused it with a RST
    /// (a failed first contact for the threshold random walk).
    case failed
    /// The server answered (TCP: SYN-ACK; other protocols: any reply).
    case answered
    /// Nothing tells (TCP picked up mid-stream, only the server's side seen,
    /// a one-way datagram): left out of the scan test.
    case unknown
}

/// What one finished flow tells the behaviour table: the pair series it
/// belongs to, when it started and ended, and the application bytes and
/// packets each way.
public struct SessionObservation: Sendable {
    public var client: IPAddress
    public var server: IPAddress
    public var serverPort: UInt16
    public var clientPort: UInt16 = 0
    /// The flow's id (for example flows in alerts).
    public var flowID: UInt64 = 0
    /// The flow's first DNS question, when it is a DNS query (`present`).
    public var dns = DNSQuestion()
    public var proto: UInt8
    public var startNs: Int64
    public var endNs: Int64
    /// Application (payload) bytes each way.
    public var clientBytes: UInt64
    public var serverBytes: UInt64
    /// IP bytes the client sent (headers included; RITA's data size).
    public var clientIPBytes: UInt64
    public var clientPackets: UInt64
    public var serverPackets: UInt64
    public var outcome: SessionOutcome
    /// The server or the client reset the session.
    public var reset: Bool
    /// The server's address is a unicast one (multicast and broadcast
    /// destinations take no part in the scan test).
    public var serverIsUnicast: Bool
    /// The session carried a login whose outcome showed (refused or accepted).
    public var login = false
    /// The server refused a login in this session (`LoginOutcome.refused`).
    public var loginRefused = false
    /// The session is an ICMP error message (a host's reply about another flow).
    public var icmpError = false
    /// HTTP/1.x final responses the server sent, how many were misses (404,
    /// 403), and the missed paths as a 64-bit linear-counting bitmap
    /// (`HTTPInfo.missedPaths`): forced browsing across connections.
    public var httpResponses: UInt32 = 0
    public var httpMisses: UInt32 = 0
    public var httpMissedPaths: UInt64 = 0

    public init(client: IPAddress, server: IPAddress, serverPort: UInt16, proto: UInt8, startNs: Int64, endNs: Int64,
                clientBytes: UInt64, serverBytes: UInt64, clientIPBytes: UInt64 = 0, clientPackets: UInt64, serverPackets: UInt64,
                outcome: SessionOutcome, reset: Bool = false, serverIsUnicast: Bool = true) {
        self.client = client; self.server = server; self.serverPort = serverPort; self.proto = proto
        self.startNs = startNs; self.endNs = endNs
        self.clientBytes = clientBytes; self.serverBytes = serverBytes; self.clientIPBytes = clientIPBytes
        self.clientPackets = clientPackets; self.serverPackets = serverPackets
        self.outcome = outcome; self.reset = reset; self.serverIsUnicast = serverIsUnicast
    }

    /// A short session in the sense of Bro 2.x's SSH guessing heuristic
    /// (`base/protocols/ssh/main.bro`), for any TCP service: the server
    /// answered, both sides spoke (more than `minSpoken` application bytes
    /// each) and the server sent less than `maxServerBytes` in fewer than
    /// `maxServerPackets` packets — an exchange that ended before anything
    /// substantial (a shell, a mailbox, a page) came back — or the session
    /// was reset before that. Datagram exchanges (a DNS query, an NTP poll)
    /// are not sessions in this sense, and unanswered SYNs are the scan
    /// test's business.
    public func isShort(_ c: BehaviourConfig) -> Bool {
        guard proto == IPProto.tcp, outcome == .answered else { return false }
        if reset && serverBytes < UInt64(c.shortMaxServerBytes) && clientBytes > 0 { return true }
        return clientBytes > UInt64(c.shortMinSpokenBytes) && serverBytes > UInt64(c.shortMinSpokenBytes)
            && serverBytes < UInt64(c.shortMaxServerBytes) && serverPackets < UInt64(c.shortMaxServerPackets)
    }
}
