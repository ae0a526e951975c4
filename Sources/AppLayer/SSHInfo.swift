/// The name-lists of one side's SSH_MSG_KEXINIT (RFC 4253 §7.1), exactly as
/// sent (comma-separated), each cut at `SSHEndpoint.nameListCapacity`.
public struct SSHKexInit: Sendable, Equatable {
    public var kexAlgorithms = ""
    public var serverHostKeyAlgorithms = ""
    public var encryptionClientToServer = ""
    public var encryptionServerToClient = ""
    public var macClientToServer = ""
    public var macServerToClient = ""
    public var compressionClientToServer = ""
    public var compressionServerToClient = ""
    public var languagesClientToServer = ""
    public var languagesServerToClient = ""
    /// Name-lists read whole, in order (10 when the message was complete).
    public var listsRead = 0
    /// The stream prefix ended inside the message.
    public var cut = false
    /// A list was longer than `SSHEndpoint.nameListCapacity` and was cut.
    public var listTruncated = false

    public init() {}

    /// The four lists of a HASSH (client: the client-to-server ones;
    /// server: server-to-client) joined by `;`; nil unless all four were
    /// read whole and uncut.
    public func hasshAlgorithms(client: Bool) -> String? {
        guard listsRead >= 8, !listTruncated else { return nil }
        return client
            ? "\(kexAlgorithms);\(encryptionClientToServer);\(macClientToServer);\(compressionClientToServer)"
            : "\(kexAlgorithms);\(encryptionServerToClient);\(macServerToClient);\(compressionServerToClient)"
    }
}

/// What one side of an SSH connection said about itself before encryption:
/// its identification line (RFC 4253 §4.2) and its KEXINIT.
public struct SSHEndpoint: Sendable, Equatable {
    /// Longest identification line kept (RFC 4253 §4.2: 255 bytes with CR LF).
    public static let bannerCapacity = 255
    /// Longest name-list kept as text (OpenSSH's longest lists are about 400 bytes).
    public static let nameListCapacity = 2048

    /// Between `SSH-` and the next `-`: `2.0`, `1.99`, `1.5`.
    public var protoVersion = ""
    /// From after that `-` to the first space or line end (`OpenSSH_8.9p1`).
    public var softwareVersion = ""
    /// After the first space (`Ubuntu-3ubuntu0.1`); nil when there is none.
    public var comments: String?
    /// Bytes of the identification line on the wire, without its CR LF.
    public var bannerLength = 0
    /// The line was longer than `bannerCapacity` (the fields hold its start), or the prefix ended inside it.
    public var bannerTruncated = false
    /// Lines the side sent before its identification line (servers may, RFC 4253 §4.2).
    public var preBannerLines = 0
    /// The KEXINIT that followed, when its first packet was seen.
    public var kexInit: SSHKexInit?
    /// Offset in this side's stream of the first byte after its
    /// SSH_MSG_NEWKEYS (where its encrypted packets start); nil when the
    /// clear-text packets run past the stream prefix or do not parse.
    public var encryptedFrom: Int?

    public init() {}
}

/// What the sensor keeps of a TCP conversation that speaks SSH.
public struct SSHInfo: Sendable, Equatable {
    /// The side that opened the connection; nil when it sent no identification line.
    public var client: SSHEndpoint?
    public var server: SSHEndpoint?
    /// nil when both sides parsed cleanly as far as their prefixes went;
    /// else the first anomaly (client side first), snake_case with an
    /// `ssh.` prefix (the list is in SSHParser.swift).
    public var malformed: String?

    public init() {}

    /// The client's HASSH input: `kex;enc_c2s;mac_c2s;comp_c2s`.
    public var hasshAlgorithms: String? { client?.kexInit?.hasshAlgorithms(client: true) }
    /// The server's HASSH-server input: `kex;enc_s2c;mac_s2c;comp_s2c`.
    public var hasshServerAlgorithms: String? { server?.kexInit?.hasshAlgorithms(client: false) }
}

// MARK: - Numbers for the models

extension SSHInfo {
    /// Widely deployed SSH implementations, as the software field starts
    /// (compared without case, and followed by the end or a non-letter):
    /// OpenSSH (also `OpenSSH_for_Windows`), PuTTY, libssh and libssh2
    /// (`libssh_0.10.6`, `libssh2_1.11`), Dropbear (`dropbear_2022.83`),
    /// Paramiko, WinSCP, SecureCRT, Go's x/crypto/ssh (`Go`), JSch (`JSCH-0.1.54`),
    /// AsyncSSH, SSHJ, Cisco (`Cisco-1.25`), RomSShell, Erlang/OTP (`Erlang/5.1`).
    /// Bitvise puts a version first and `FlowSsh:` in the comments; that is matched too.
    static let knownSoftware: [[UInt8]] = [
        "openssh", "putty", "libssh", "dropbear", "paramiko", "winscp", "securecrt", "go", "jsch", "asyncssh",
        "sshj", "cisco", "romsshell", "erlang",
    ].map { Array($0.utf8) }

    /// Whether `software` (and, for Bitvise, `comments`) names a known implementation.
    static func isKnownSoftware(_ software: String, comments: String?) -> Bool {
        let s = Array(software.utf8.lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 })
        for name in knownSoftware where s.count >= name.count && s.starts(with: name) {
            // "libssh" also covers "libssh2"; a letter after the name is another product ("Gorilla").
            guard s.count > name.count else { return true }
            let c = s[name.count]
            if !(c >= 0x61 && c <= 0x7A) { return true }
        }
        return comments?.hasPrefix("FlowSsh:") == true
    }

    /// 1 when the client's software is a widely used implementation (list above), else 0.
    public var clientSoftwareKnown: Double {
        guard let c = client else { return 0 }
        return Self.isKnownSoftware(c.softwareVersion, comments: c.comments) ? 1 : 0
    }

    /// Bytes of the client's identification line without CR LF (0 without one).
    public var clientBannerLength: Double { Double(client?.bannerLength ?? 0) }
}
