import Decoding

/// Reads the clear-text start of an SSH-2 connection from the first bytes
/// each side sent: the identification line (RFC 4253 §4.2) and the first
/// binary packet (§6), which must be SSH_MSG_KEXINIT (§7.1). Every read goes
/// through `ByteView`; every length is checked against the packet and the
/// view before it is used.
///
/// `malformed` reasons: `ssh.banner` (a side that spoke does not start with
/// `SSH-`, or its line has no `-` after the version), `ssh.banner_too_long`
/// (over 255 bytes with CR LF), `ssh.packet_length` (under the smallest
/// KEXINIT or over 35000, RFC 4253 §6.1), `ssh.padding_length` (under 4 or
/// past the packet), `ssh.first_packet_not_kexinit`, `ssh.name_list` (a
/// name-list runs past its packet: a lying length), `ssh.name_list_characters`
/// (a name outside printable ASCII).
public enum SSHParser {
    /// Lines a server may send before its identification line that are looked through.
    static let preBannerLineCapacity = 16
    /// Longest line looked at (pre-banner lines and an over-long banner).
    static let lineScanLimit = 1024
    /// RFC 4253 §6.1: implementations must accept packets up to 35000 bytes.
    static let maximumPacketLength = 35000
    /// Smallest packet_length a KEXINIT fits in: padding_length, message
    /// code, cookie, ten empty lists, the flag, the reserved word, 4 bytes of padding.
    static let minimumKexInitLength = 1 + 1 + 16 + 10 * 4 + 1 + 4 + 4

    static let prefix: [UInt8] = Array("SSH-".utf8)

    /// nil unless one side's stream starts with `SSH-`, or the server's
    /// has an `SSH-` line after at most `preBannerLineCapacity` others while
    /// the client's starts with `SSH-` or is empty (RFC 4253 §4.2 lets only
    /// servers send lines first).
    public static func parse(client: ByteView, server: ByteView) -> SSHInfo? {
        let clientStarts = startsWithSSH(client, at: 0)
        var p = 0, lines = 0, ended = false
        scan: while clientStarts || client.count == 0, server.has(p, 1), !startsWithSSH(server, at: p),
                    lines < preBannerLineCapacity {
            switch line(server, from: p, limit: lineScanLimit) {
            case .line(_, let next): p = next; lines += 1
            case .cut: ended = true; break scan
            case .tooLong: break scan
            }
        }
        let serverStarts = startsWithSSH(server, at: p)
        guard clientStarts || serverStarts else { return nil }
        var info = SSHInfo()
        var reasons: [String] = []
        if clientStarts {
            info.client = endpoint(client, bannerAt: 0, preBannerLines: 0, reasons: &reasons)
        } else if client.count > 0, !couldStartSSH(client, at: 0) {
            reasons.append("ssh.banner")
        }
        if serverStarts {
            info.server = endpoint(server, bannerAt: p, preBannerLines: lines, reasons: &reasons)
        } else if server.has(p, 1), !ended, !couldStartSSH(server, at: p) {
            // Text other than an identification line (the prefix may end inside one).
            reasons.append("ssh.banner")
        }
        info.malformed = reasons.first
        return info
    }

    static func startsWithSSH(_ b: ByteView, at p: Int) -> Bool {
        for k in 0..<prefix.count where b.u8(p + k) != prefix[k] { return false }
        return true
    }

    /// The view ends at `p` inside a would-be `SSH-`.
    static func couldStartSSH(_ b: ByteView, at p: Int) -> Bool {
        var k = 0
        while let c = b.u8(p + k) {
            guard k < prefix.count, c == prefix[k] else { return false }
            k += 1
        }
        return true
    }

    enum LineScan {
        /// Content `start..<end` (no CR LF); the next line at `next`.
        case line(Range<Int>, next: Int)
        case cut(Range<Int>)
        case tooLong
    }

    /// The line at `p`, ended by LF (a CR before it dropped), of at most `limit` bytes.
    static func line(_ b: ByteView, from p: Int, limit: Int) -> LineScan {
        var i = p
        while let c = b.u8(i) {
            if c == 0x0A {
                let end = i > p && b.u8(i - 1) == 0x0D ? i - 1 : i
                return .line(p..<end, next: i + 1)
            }
            i += 1
            if i - p > limit { return .tooLong }
        }
        return .cut(p..<i)
    }

    /// One side: its identification line at `p`, then its KEXINIT.
    static func endpoint(_ b: ByteView, bannerAt p: Int, preBannerLines: Int, reasons: inout [String]) -> SSHEndpoint {
        var e = SSHEndpoint()
        e.preBannerLines = preBannerLines
        let content: Range<Int>
        var packetStart: Int?
        switch line(b, from: p, limit: lineScanLimit) {
        case .line(let r, let next):
            content = r
            packetStart = next
            if r.count + 2 > SSHEndpoint.bannerCapacity { reasons.append("ssh.banner_too_long") }
        case .cut(let r):
            content = r
            e.bannerTruncated = true
        case .tooLong:
            content = p..<(p + lineScanLimit)
            reasons.append("ssh.banner_too_long")
        }
        e.bannerLength = content.count
        if content.count > SSHEndpoint.bannerCapacity { e.bannerTruncated = true }
        let kept = content.lowerBound..<(content.lowerBound + min(content.count, SSHEndpoint.bannerCapacity))
        // SSH-protoversion-softwareversion [SP comments]
        var i = kept.lowerBound + prefix.count
        let protoStart = i
        while i < kept.upperBound, let c = b.u8(i), c != UInt8(ascii: "-"), c != 0x20 { i += 1 }
        e.protoVersion = text(b, protoStart..<i)
        if i < kept.upperBound, b.u8(i) == UInt8(ascii: "-") {
            i += 1
            let softwareStart = i
            while i < kept.upperBound, let c = b.u8(i), c != 0x20, c != 0x0D { i += 1 }
            e.softwareVersion = text(b, softwareStart..<i)
            if i < kept.upperBound, b.u8(i) == 0x20, i + 1 < kept.upperBound {
                e.comments = text(b, (i + 1)..<kept.upperBound)
            }
        } else if !e.bannerTruncated {
            reasons.append("ssh.banner")
        }
        // SSH-1 (a version other than 2.0 and 1.99) frames packets differently.
        if let start = packetStart, e.protoVersion == "2.0" || e.protoVersion == "1.99" {
            e.kexInit = kexInit(b, at: start, reasons: &reasons)
            if e.kexInit != nil { e.encryptedFrom = newKeysEnd(b, from: start) }
        }
        return e
    }

    /// Most clear-text packets walked looking for NEWKEYS (KEXINIT, the key
    /// exchange's few messages, an EXT_INFO or IGNORE or two).
    static let clearPacketLimit = 16
    /// SSH_MSG_NEWKEYS (RFC 4253 §7.3): the last clear-text packet of its side.
    static let newKeysCode: UInt8 = 21

    /// The offset just past the side's NEWKEYS packet, walking the binary
    /// packets (`uint32 packet_length`, then that many bytes) from `p`; nil
    /// when a length is out of range or the view ends first.
    static func newKeysEnd(_ b: ByteView, from p: Int) -> Int? {
        var q = p
        for _ in 0..<clearPacketLimit {
            guard let length = b.u32(q), length >= 5, length <= maximumPacketLength, let code = b.u8(q + 5) else {
                return nil
            }
            q += 4 + Int(length)
            if code == newKeysCode { return q }
        }
        return nil
    }

    static func text(_ b: ByteView, _ r: Range<Int>) -> String {
        b.withBytes(from: r.lowerBound, length: r.count) { String(decoding: $0, as: UTF8.self) }
    }

    /// The packet at `p`: `uint32 packet_length, byte padding_length,
    /// payload, padding`, whose payload must be a KEXINIT: message 20, a
    /// 16-byte cookie, ten name-lists (`uint32 length` + bytes), a boolean
    /// and a reserved uint32. nil when the view ends before its message code
    /// or the packet is not a KEXINIT.
    static func kexInit(_ b: ByteView, at p: Int, reasons: inout [String]) -> SSHKexInit? {
        guard let length = b.u32(p), let padding = b.u8(p + 4), let code = b.u8(p + 5) else { return nil }
        guard code == 20 else {
            reasons.append("ssh.first_packet_not_kexinit")
            return nil
        }
        guard length >= minimumKexInitLength, length <= maximumPacketLength else {
            reasons.append("ssh.packet_length")
            return nil
        }
        guard padding >= 4, Int(padding) + 2 <= Int(length) else {
            reasons.append("ssh.padding_length")
            return nil
        }
        var k = SSHKexInit()
        // The payload runs from the message code to the padding.
        let payloadEnd = p + 4 + Int(length) - Int(padding)
        var q = p + 6 + 16
        guard q <= b.count else { k.cut = true; return k }
        var badCharacters = false
        for index in 0..<10 {
            guard q + 4 <= payloadEnd else { reasons.append("ssh.name_list"); return k }
            guard let n32 = b.u32(q) else { k.cut = true; return k }
            let n = Int(n32)
            guard n <= payloadEnd - q - 4 else { reasons.append("ssh.name_list"); return k }
            guard b.has(q + 4, n) else { k.cut = true; return k }
            let kept = min(n, SSHEndpoint.nameListCapacity)
            if n > kept { k.listTruncated = true }
            for j in 0..<kept {
                guard let c = b.u8(q + 4 + j), c > 0x20, c < 0x7F else { badCharacters = true; break }
            }
            let s = text(b, (q + 4)..<(q + 4 + kept))
            switch index {
            case 0: k.kexAlgorithms = s
            case 1: k.serverHostKeyAlgorithms = s
            case 2: k.encryptionClientToServer = s
            case 3: k.encryptionServerToClient = s
            case 4: k.macClientToServer = s
            case 5: k.macServerToClient = s
            case 6: k.compressionClientToServer = s
            case 7: k.compressionServerToClient = s
            case 8: k.languagesClientToServer = s
            default: k.languagesServerToClient = s
            }
            k.listsRead += 1
            q += 4 + n
        }
        if badCharacters { reasons.append("ssh.name_list_characters") }
        // first_kex_packet_follows and the reserved word close the payload.
        if q + 5 > payloadEnd {
            reasons.append("ssh.name_list")
        } else if !b.has(q, 5) {
            k.cut = true
        }
        return k
    }
}
