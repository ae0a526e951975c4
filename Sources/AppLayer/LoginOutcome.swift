/// The protocols whose login outcome the sensor reads off the wire.
public enum LoginProtocol: UInt8, Sendable {
    case ssh, ftp, smtp, pop3, imap, http

    public var name: String {
        switch self {
        case .ssh: "ssh"
        case .ftp: "ftp"
        case .smtp: "smtp"
        case .pop3: "pop3"
        case .imap: "imap"
        case .http: "http"
        }
    }
}

/// How the logins of one connection went, as far as its first bytes (plain
/// text protocols) or first packets (SSH) show: failed attempts counted,
/// and whether one succeeded. A failed login is the one per-connection mark
/// of password guessing that no flow statistic carries; Zeek counts the same
/// events (`SSH::Password_Guessing`, `FTP::Bruteforcing`).
public struct LoginOutcome: Sendable, Equatable {
    public var proto: LoginProtocol
    /// Attempts the server refused.
    public var failures: Int
    /// true: the server accepted a login; false: it refused every attempt
    /// seen; nil: no decision was seen (HTTP answers say only refusals).
    public var succeeded: Bool?

    public init(proto: LoginProtocol, failures: Int, succeeded: Bool?) {
        self.proto = proto; self.failures = failures; self.succeeded = succeeded
    }

    /// The server refused a login: every attempt seen failed, or (other
    /// than SSH) one attempt failed. SSH servers refuse the "none" probe and
    /// public keys they do not know in sessions that then log in, so only a
    /// decided SSH failure counts.
    public var refused: Bool { succeeded == false || (proto != .ssh && failures > 0) }
}

/// A flow's first packets as SSH's login outcome reads them.
public struct PacketSizes {
    /// Payload sizes in order, positive from the client, negative from the
    /// server; packets without payload left out.
    public var sizes: UnsafeBufferPointer<Int32>
    /// Every packet of the flow is among them.
    public var complete: Bool
    /// The server's payload bytes and packets over the whole flow.
    public var serverPayloadBytes: Int
    public var serverPackets: Int

    public init(sizes: UnsafeBufferPointer<Int32>, complete: Bool, serverPayloadBytes: Int, serverPackets: Int) {
        self.sizes = sizes; self.complete = complete
        self.serverPayloadBytes = serverPayloadBytes; self.serverPackets = serverPackets
    }

    /// No packets known (the login outcome of SSH is then undecided).
    public static var none: PacketSizes {
        PacketSizes(sizes: UnsafeBufferPointer(start: nil, count: 0), complete: false, serverPayloadBytes: 0, serverPackets: 0)
    }
}
