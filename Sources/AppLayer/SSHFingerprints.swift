import Crypto

/// HASSH and HASSH-server (salesforce/hassh): the lower-case hex MD5 of the
/// `;`-joined KEXINIT lists in `SSHInfo.hasshAlgorithms` and
/// `hasshServerAlgorithms`. Kept apart from the parsers because it needs
/// swift-crypto, which the fuzzing build leaves out.
extension SSHInfo {
    /// The client's HASSH; nil without a whole client KEXINIT.
    public var hassh: String? { hasshAlgorithms.map(Self.md5Hex) }
    /// The server's HASSH-server; nil without a whole server KEXINIT.
    public var hasshServer: String? { hasshServerAlgorithms.map(Self.md5Hex) }

    static func md5Hex(_ s: String) -> String {
        let digest = Insecure.MD5.hash(data: Array(s.utf8))
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
