/// Whether an SSH-2 login failed or succeeded, read from the sizes of the
/// server's first encrypted segments, as Zeek's SSH analyzer decides it
/// (`src/analyzer/protocol/ssh/SSH.cc`, `ProcessEncrypted`):
///
/// 1. server data before the client has sent encrypted data is ignored;
/// 2. the server's first encrypted segment is SSH_MSG_SERVICE_ACCEPT: its
///    size is remembered;
/// 3. a later segment exactly 16 bytes smaller is SSH_MSG_USERAUTH_SUCCESS
///    ("ssh-userauth" is 16 bytes longer than the success message's empty
///    body under the same padding): success, and nothing more is read;
/// 4. otherwise the first later segment is SSH_MSG_USERAUTH_FAILURE (one
///    more than 256 bytes larger than the service accept is skipped once: a
///    banner) and its size is remembered; each further segment of exactly
///    that size is one more refused attempt.
///
/// The failure to a client's "none" probe counts as an attempt, as in Zeek.
/// Only the flow's first packets are seen (`PacketSizes`): when the
/// connection went on past them without a success, the failures seen decide
/// only if the server's whole answer stayed small — Bro 2.x's rule
/// (`base/protocols/ssh/main.bro`): under 4,000 payload bytes and 40
/// packets, a shell never started. Otherwise the outcome is undecided.
/// No decision when compression was negotiated (sizes no longer follow the
/// messages), when either side's NEWKEYS was not in its stream prefix, or
/// when the segments seen end before the service accept.
public enum SSHAuthentication {
    /// Size difference between SERVICE_ACCEPT("ssh-userauth") and USERAUTH_SUCCESS.
    static let successShrink = 16
    /// A first answer this much larger than the service accept is a banner, skipped once.
    static let bannerGrowth = 256
    /// Bro 2.x's `authentication_data_size` and packet bound for a failed login.
    static let failedMaxServerBytes = 4000
    static let failedMaxServerPackets = 40

    public static func outcome(_ ssh: SSHInfo, packets: PacketSizes) -> LoginOutcome? {
        let segments = packets.sizes
        guard let clientEncrypted = ssh.client?.encryptedFrom, let serverEncrypted = ssh.server?.encryptedFrom,
              !compressed(ssh) else { return nil }
        var clientOffset = 0, serverOffset = 0
        var clientSentEncrypted = false
        var serviceAccept: Int?, failureSize: Int?
        var bannerSkipped = false
        var failures = 0
        for s in segments {
            let n = Int(s.magnitude)
            if s > 0 {
                clientOffset += n
                if clientOffset > clientEncrypted { clientSentEncrypted = true }
                continue
            }
            let start = serverOffset
            serverOffset += n
            // Clear text, or a segment that starts in it (NEWKEYS sent with what follows).
            guard start >= serverEncrypted, clientSentEncrypted else { continue }
            guard let accept = serviceAccept else { serviceAccept = n; continue }
            if n == accept - successShrink {
                return LoginOutcome(proto: .ssh, failures: failures, succeeded: true)
            }
            if let f = failureSize {
                if n == f { failures += 1 }
            } else if n > accept + bannerGrowth && !bannerSkipped {
                bannerSkipped = true
            } else {
                failureSize = n
                failures = 1
            }
        }
        guard serviceAccept != nil, failures > 0 else { return nil }
        let decided = packets.complete
            || (packets.serverPayloadBytes < failedMaxServerBytes && packets.serverPackets < failedMaxServerPackets)
        return LoginOutcome(proto: .ssh, failures: failures, succeeded: decided ? false : nil)
    }

    /// Whether the two sides agreed on compression (client to server): the
    /// first of the client's algorithms the server also offers is not "none".
    static func compressed(_ ssh: SSHInfo) -> Bool {
        guard let c = ssh.client?.kexInit?.compressionClientToServer,
              let s = ssh.server?.kexInit?.compressionClientToServer else { return false }
        let offered = Set(s.split(separator: ","))
        guard let chosen = c.split(separator: ",").first(where: { offered.contains($0) }) else { return false }
        return chosen != "none"
    }
}
