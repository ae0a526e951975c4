/// Where an attacker's padding goes in one payload so that the receiving
/// side still takes the message: an attacker pads to change what a sensor
/// sees, and the attack must still work. Bytes appended after an HTTP
/// request, an SSH or TLS record or a DNS query would be read as the next
/// message and refused, so each protocol gets the padding it carries:
///
/// | payload                                   | where the padding goes                                             |
/// |-------------------------------------------|--------------------------------------------------------------------|
/// | an HTTP request or response head          | an `X-Padding` header line before the blank line                   |
/// | the body or rest of an HTTP message       | none (its length is framed)                                        |
/// | TLS records, whole                        | the last application-data record grows (TLS 1.3 record padding)    |
/// | TLS, part of a record                     | none                                                               |
/// | SSH before NEWKEYS, whole binary packets  | the last packet's random padding grows (≤ 255 bytes, 8-byte steps) |
/// | SSH after the sender's NEWKEYS            | appended in 16-byte steps (a larger padding inside the encryption) |
/// | a DNS message over UDP                    | an EDNS(0) Padding option (RFC 7830), zero bytes                   |
/// | a line of text (FTP, IMAP, POP3, SMTP, …) | the line's last argument grows (before a closing quote if any)     |
/// | anything else                             | appended                                                           |
///
/// The SSH version line is left as it is (servers cap it at 255 bytes).
enum ProtocolPadding {
    /// What one direction of a flow has shown so far.
    struct Stream {
        var http = false
        var tls = false
        var ssh = false
        var sshEncrypted = false
    }

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let headerName = Array("X-Padding: ".utf8)
    static let crlf: [UInt8] = [13, 10]
    static let httpMethods = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "]
        .map { Array($0.utf8) }
    static let httpResponse = Array("HTTP/1.".utf8)
    static let sshVersion = Array("SSH-".utf8)
    static let sshNewKeys: UInt8 = 21
    static let tlsApplicationData: UInt8 = 23
    /// TLS 1.3's largest protected record (RFC 8446, 5.2).
    static let tlsMaxRecord = 16_384 + 256
    static let sshMaxPadding = 255
    static let dnsPort: UInt16 = 53
    static let ednsPaddingOption: UInt16 = 12

    /// `payload` with about `n` bytes of padding (never more than `room`)
    /// where its protocol carries padding, or unchanged when it has no place
    /// for it. `stream` is the direction's state, updated from every payload
    /// in order (call it for each, `n` 0 when nothing is to be added).
    static func padded<R: RandomNumberGenerator>(_ payload: [UInt8], by n: Int, room: Int, udp: Bool, ports: (UInt16, UInt16),
                                                 stream: inout Stream, rng: inout R) -> [UInt8] {
        let n = min(n, room)
        func filler(_ k: Int) -> [UInt8] { (0..<k).map { _ in alphabet.randomElement(using: &rng)! } }

        if udp {
            if ports.0 == dnsPort || ports.1 == dnsPort, let p = dnsPadded(payload, n, room: room) { return p }
            return n > 0 ? payload + filler(n) : payload
        }
        if startsWithAny(payload, httpMethods) || starts(payload, httpResponse) {
            stream.http = true
            guard let end = find(payload, [13, 10, 13, 10]) else { return payload }
            let k = max(1, n - headerName.count - 2)
            guard n > 0, headerName.count + k + 2 <= room else { return payload }
            var p = Array(payload[..<(end + 2)])
            p += headerName + filler(k) + crlf
            p += payload[(end + 2)...]
            return p
        }
        if stream.http { return payload }
        if let records = tlsRecords(payload) {
            stream.tls = true
            guard n > 0, let last = records.last, payload[last] == tlsApplicationData else { return payload }
            let length = Int(u16(payload, last + 3))
            let k = min(n, tlsMaxRecord - length)
            guard k > 0 else { return payload }
            var p = payload + filler(k)
            put16(&p, last + 3, UInt16(length + k))
            return p
        }
        if stream.tls { return payload }
        if starts(payload, sshVersion) {
            stream.ssh = true
            return payload
        }
        if stream.ssh { return sshPadded(payload, n, room: room, stream: &stream, filler: filler) }
        if let p = linePadded(payload, n, filler: filler) { return p }
        return n > 0 ? payload + filler(n) : payload
    }

    /// SSH binary packets (RFC 4253, 6): in clear text, the last whole
    /// packet's random padding grows; once the sender's NEWKEYS has gone,
    /// packets are encrypted and a larger padding is more bytes, in steps of
    /// the cipher block.
    static func sshPadded(_ payload: [UInt8], _ n: Int, room: Int, stream: inout Stream,
                          filler: (Int) -> [UInt8]) -> [UInt8] {
        if stream.sshEncrypted {
            let k = min(room, (n + 15) / 16 * 16) / 16 * 16
            return k > 0 && n > 0 ? payload + filler(k) : payload
        }
        // Whole clear-text packets: length (4), padding length (1), message code, …
        var o = 0, last = -1
        var newKeys = false
        while o + 6 <= payload.count {
            let length = Int(u32(payload, o))
            guard length >= 2, o + 4 + length <= payload.count else { return payload }
            if payload[o + 5] == sshNewKeys { newKeys = true }
            last = o
            o += 4 + length
        }
        guard o == payload.count, last >= 0 else { return payload }
        defer { if newKeys { stream.sshEncrypted = true } }
        let padding = Int(payload[last + 4])
        let k = min(n, room, sshMaxPadding - padding) / 8 * 8
        guard k > 0 else { return payload }
        var p = payload + filler(k)
        put32(&p, last, u32(payload, last) + UInt32(k))
        p[last + 4] = UInt8(padding + k)
        return p
    }

    /// A DNS message over UDP: an EDNS(0) Padding option in its OPT record
    /// (a new one when it has none, its last record when it has). Nil when
    /// the payload does not walk as a DNS message.
    static func dnsPadded(_ payload: [UInt8], _ n: Int, room: Int) -> [UInt8]? {
        guard payload.count >= 12 else { return nil }
        let questions = Int(u16(payload, 4)), answers = Int(u16(payload, 6)) + Int(u16(payload, 8))
        let additional = Int(u16(payload, 10))
        var o = 12
        for _ in 0..<questions {
            guard let e = skipName(payload, o), e + 4 <= payload.count else { return nil }
            o = e + 4
        }
        var optLength = -1  // offset of the last record's RDLENGTH when it is the OPT record
        for r in 0..<(answers + additional) {
            guard let e = skipName(payload, o), e + 10 <= payload.count else { return nil }
            let rdLength = Int(u16(payload, e + 8))
            guard e + 10 + rdLength <= payload.count else { return nil }
            optLength = r == answers + additional - 1 && r >= answers && u16(payload, e) == 41 ? e + 8 : -1
            o = e + 10 + rdLength
        }
        guard o == payload.count else { return nil }
        guard n > 0 else { return payload }
        let option: (Int) -> [UInt8] = { k in
            [UInt8(ednsPaddingOption >> 8), UInt8(ednsPaddingOption & 0xff), UInt8(k >> 8), UInt8(k & 0xff)]
                + [UInt8](repeating: 0, count: k)
        }
        if optLength >= 0 {
            let k = max(0, min(n, room) - 4)
            guard min(n, room) >= 4 else { return payload }
            var p = payload + option(k)
            put16(&p, optLength, u16(payload, optLength) + UInt16(4 + k))
            return p
        }
        // A new OPT record: root name, type 41, UDP size 1232, no extended flags.
        let header: [UInt8] = [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]
        guard additional == 0, min(n, room) >= header.count + 2 + 4 else { return payload }
        let k = min(n, room) - header.count - 2 - 4
        var p = payload + header + [UInt8((4 + k) >> 8), UInt8((4 + k) & 0xff)] + option(k)
        put16(&p, 10, 1)
        return p
    }

    /// A line of printable text ending in a line break: the padding goes at
    /// the end of its last argument (inside a closing quote). Nil when the
    /// payload is not such text.
    static func linePadded(_ payload: [UInt8], _ n: Int, filler: (Int) -> [UInt8]) -> [UInt8]? {
        guard payload.last == 10, payload.allSatisfy({ ($0 >= 0x20 && $0 < 0x7f) || $0 == 9 || $0 == 10 || $0 == 13 }) else {
            return nil
        }
        guard n > 0 else { return payload }
        var at = payload.count - 1
        if at > 0 && payload[at - 1] == 13 { at -= 1 }
        if at > 0 && payload[at - 1] == UInt8(ascii: "\"") { at -= 1 }
        return Array(payload[..<at]) + filler(n) + payload[at...]
    }

    /// Offsets of the records when the payload is whole TLS records (content
    /// types 20–24, version 3.x, each within TLS's largest record), else nil.
    static func tlsRecords(_ p: [UInt8]) -> [Int]? {
        var o = 0
        var starts: [Int] = []
        while o + 5 <= p.count {
            guard (20...24).contains(p[o]), p[o + 1] == 3, p[o + 2] <= 4 else { return nil }
            let length = Int(u16(p, o + 3))
            guard length <= tlsMaxRecord + 1024, o + 5 + length <= p.count else { return nil }
            starts.append(o)
            o += 5 + length
        }
        return o == p.count && !starts.isEmpty ? starts : nil
    }

    /// The offset after a DNS name at `o` (labels, or a compression pointer), nil when malformed.
    static func skipName(_ p: [UInt8], _ o: Int) -> Int? {
        var o = o
        while o < p.count {
            let length = Int(p[o])
            if length == 0 { return o + 1 }
            if length & 0xc0 == 0xc0 { return o + 2 <= p.count ? o + 2 : nil }
            guard length <= 63 else { return nil }
            o += 1 + length
        }
        return nil
    }

    static func starts(_ p: [UInt8], _ prefix: [UInt8]) -> Bool { p.count >= prefix.count && p.prefix(prefix.count).elementsEqual(prefix) }
    static func startsWithAny(_ p: [UInt8], _ prefixes: [[UInt8]]) -> Bool { prefixes.contains { starts(p, $0) } }
    static func find(_ p: [UInt8], _ needle: [UInt8]) -> Int? {
        guard p.count >= needle.count else { return nil }
        for i in 0...(p.count - needle.count) where p[i] == needle[0] && p[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
    static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { PacketSurgery.u16(b, o) }
    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { PacketSurgery.u32(b, o) }
    static func put16(_ b: inout [UInt8], _ o: Int, _ v: UInt16) { PacketSurgery.put16(&b, o, v) }
    static func put32(_ b: inout [UInt8], _ o: Int, _ v: UInt32) { PacketSurgery.put32(&b, o, v) }
}
