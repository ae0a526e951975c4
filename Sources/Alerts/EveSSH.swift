import AppLayer

extension SSHInfo {
    /// Writes the member `"ssh": {…}` into the object `j` has open, in
    /// Suricata's layout (`rust/src/ssh/logger.rs`): `client` and `server`
    /// objects, each present when that side sent an identification line,
    /// with `proto_version`, `software_version` (when not empty) and
    /// `hassh: {hash, string}` when its KEXINIT was read whole (the server's
    /// is its HASSH-server, under the same key as Suricata writes it).
    package func writeEve(_ j: inout JSONBuffer) {
        j.key("ssh")
        j.beginObject()
        if let c = client {
            j.key("client")
            Self.writeSide(&j, c, hash: hassh, string: hasshAlgorithms)
        }
        if let s = server {
            j.key("server")
            Self.writeSide(&j, s, hash: hasshServer, string: hasshServerAlgorithms)
        }
        j.endObject()
    }

    static func writeSide(_ j: inout JSONBuffer, _ e: SSHEndpoint, hash: String?, string: String?) {
        j.beginObject()
        if !e.protoVersion.isEmpty { j.key("proto_version"); j.string(e.protoVersion) }
        if !e.softwareVersion.isEmpty { j.key("software_version"); j.string(e.softwareVersion) }
        if let hash, let string {
            j.key("hassh")
            j.beginObject()
            j.key("hash"); j.string(hash)
            j.key("string"); j.string(string)
            j.endObject()
        }
        j.endObject()
    }
}
