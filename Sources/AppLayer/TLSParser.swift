import Decoding

/// Reads the cleartext start of a TLS conversation from the first bytes each
/// side sent: the record layer of both directions, then the handshake
/// messages in the clear (ClientHello; ServerHello and, up to TLS 1.2, the
/// Certificate). Every read is bounds-checked and every loop bounded: hostile
/// input gives a `malformed` reason, never a crash.
///
/// ```
/// record:    type(1) version(2) length(2) fragment          RFC 8446 §5.1
/// handshake: msg_type(1) length(3) body   (may span records) RFC 8446 §4
/// ```
public enum TLSParser {
    /// Longest record accepted: 2^14 plaintext plus the 2048 bytes TLS 1.2 allows for expansion.
    public static let maxRecordLength = 16_384 + 2_048
    /// Most handshake bytes reassembled per direction (never more than the prefix holds).
    public static let maxHandshakeBytes = 1 << 18
    /// Most handshake messages read per direction.
    public static let maxHandshakeMessages = 64

    /// True when `b` starts with a plausible TLS record header: content type
    /// 20–24, version 3.0–3.4, length 1…`maxRecordLength`.
    public static func startsWithRecord(_ b: ByteView) -> Bool {
        guard let type = b.u8(0), let major = b.u8(1), let minor = b.u8(2), let length = b.u16(3) else { return false }
        return (20...24).contains(type) && major == 3 && minor <= 4 && length > 0 && Int(length) <= maxRecordLength
    }

    /// `client` and `server`: the bytes each side sent from the start of the
    /// connection (a prefix, possibly cut mid-record); borrowed for the call.
    /// nil when neither starts with a TLS record.
    public static func parse(client: ByteView, server: ByteView) -> TLSInfo? {
        let clientIsTLS = startsWithRecord(client), serverIsTLS = startsWithRecord(server)
        guard clientIsTLS || serverIsTLS else { return nil }
        var info = TLSInfo()
        var problem = TLSProblem()

        let c = clientIsTLS ? TLSRecordWalk(client) : TLSRecordWalk(nonTLS: client)
        let s = serverIsTLS ? TLSRecordWalk(server) : TLSRecordWalk(nonTLS: server)
        info.clientRecords = c.records
        info.serverRecords = s.records
        info.clientTruncated = c.truncated
        info.serverTruncated = s.truncated
        problem.note(c.problem)
        problem.note(s.problem)

        c.handshake.withUnsafeBytes { raw in
            TLSHandshakeReader(bytes: ByteView(raw), cut: c.handshakeCut, fromServer: false).read(into: &info, &problem)
        }
        s.handshake.withUnsafeBytes { raw in
            TLSHandshakeReader(bytes: ByteView(raw), cut: s.handshakeCut, fromServer: true).read(into: &info, &problem)
        }
        if let certProblem = info.certificate?.malformed { problem.note(certProblem) }
        info.malformed = problem.reason
        return info
    }

    /// The ClientHello of a client's handshake bytes that come without the
    /// record layer (QUIC's CRYPTO stream, RFC 9001 §4), read by the same
    /// reader as TLS's; `cut`: the bytes end before the message does. The
    /// hello is nil when the first message is not a whole ClientHello.
    public static func parseClientHello(handshake: ByteView, cut: Bool) -> (hello: TLSClientHello?, malformed: String?) {
        var info = TLSInfo()
        var problem = TLSProblem()
        TLSHandshakeReader(bytes: handshake, cut: cut, fromServer: false).read(into: &info, &problem)
        return (info.clientHello, problem.reason)
    }
}

/// The first problem found (the order of the checks decides which one wins).
struct TLSProblem {
    var reason: String?
    mutating func note(_ r: String?) { if reason == nil, let r { reason = r } }
}

// MARK: - Record layer

/// One direction's records: counts by type, and the handshake fragments
/// before the first ChangeCipherSpec or application data record (after them
/// everything is encrypted) joined into one buffer.
struct TLSRecordWalk {
    var records = TLSRecordCounts()
    var truncated = false
    var handshake: [UInt8] = []
    /// Handshake collection ended with the bytes (not at a CCS or application
    /// data): a message still open there was cut, not malformed.
    var handshakeCut = true
    var problem: String?

    /// A direction that does not start with a record: noted unless it is empty
    /// or too short to tell.
    init(nonTLS b: ByteView) {
        if b.count >= 5 {
            self.problem = "tls.record_header"
        } else {
            truncated = b.count > 0
        }
    }

    init(_ b: ByteView) {
        var p = 0
        var collecting = true
        var retryAllowance = 1  // one CCS may follow a HelloRetryRequest (RFC 8446 §D.4)
        handshake.reserveCapacity(min(b.count, TLSParser.maxHandshakeBytes))
        while p < b.count {
            guard let type = b.u8(p), let major = b.u8(p + 1), let minor = b.u8(p + 2), let length16 = b.u16(p + 3)
            else {
                truncated = true  // the header itself is cut
                break
            }
            let length = Int(length16)
            guard major == 3, minor <= 4 else { problem = problem ?? "tls.record_header"; break }
            guard length <= TLSParser.maxRecordLength else { problem = problem ?? "tls.record_length"; break }
            if length == 0 && type != 23 { problem = problem ?? "tls.record_length" }  // only application data may be empty
            let available = min(length, b.count - (p + 5))
            if available < length { truncated = true }
            switch type {
            case 20:
                records.changeCipherSpec += 1
                if collecting {
                    if retryAllowance > 0 && TLSHandshakeReader.endsWithHelloRetryRequest(handshake) {
                        retryAllowance -= 1
                    } else {
                        collecting = false
                        handshakeCut = false
                    }
                }
            case 21:
                records.alert += 1
            case 22:
                records.handshake += 1
                if collecting {
                    let room = TLSParser.maxHandshakeBytes - handshake.count
                    let n = min(available, room)
                    if n > 0 { b.withBytes(from: p + 5, length: n) { handshake.append(contentsOf: $0) } }
                    if n < available { collecting = false }  // buffer full: what follows counts as cut
                }
            case 23:
                records.applicationData += 1
                if collecting { collecting = false; handshakeCut = false }
            case 24:
                records.heartbeat += 1
                records.heartbeatMaxLength = max(records.heartbeatMaxLength, length)
            default:
                records.other += 1
                problem = problem ?? "tls.record_type"
            }
            p += 5 + length
        }
    }
}

// MARK: - Handshake messages

/// Reads the handshake messages of one direction from its reassembled bytes.
struct TLSHandshakeReader {
    let bytes: ByteView
    /// The bytes end where the capture or prefix ended (an open message is cut, not malformed).
    let cut: Bool
    let fromServer: Bool

    /// The random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
    static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    func read(into info: inout TLSInfo, _ problem: inout TLSProblem) {
        var p = 0
        var messages = 0
        while p < bytes.count && messages < TLSParser.maxHandshakeMessages {
            guard let type = bytes.u8(p), let length = Self.u24(bytes, p + 1) else {
                if !cut { problem.note("tls.handshake_length") }
                return
            }
            messages += 1
            let body = p + 4
            guard bytes.has(body, length) else {
                if !cut {
                    problem.note("tls.handshake_length")
                } else if fromServer && type == 11 && info.certificate == nil {
                    readCertificate(body, length, into: &info, &problem)  // what the prefix holds of it
                }
                return
            }
            switch (fromServer, type) {
            case (false, 1) where info.clientHello == nil:
                info.clientHello = readClientHello(body, length, &problem)
            case (true, 2):
                if let hello = readServerHello(body, length, &problem) {
                    if hello.helloRetryRequest {
                        if info.serverHello == nil { info.serverHello = hello }
                    } else {
                        var h = hello
                        h.helloRetryRequest = info.serverHello?.helloRetryRequest ?? false
                        info.serverHello = h
                    }
                }
            case (true, 11) where info.certificate == nil:
                readCertificate(body, length, into: &info, &problem)
            default:
                break
            }
            p = body + length
        }
    }

    /// True when `buffer` holds whole handshake messages and the last is a HelloRetryRequest.
    static func endsWithHelloRetryRequest(_ buffer: [UInt8]) -> Bool {
        buffer.withUnsafeBytes { raw in
            let b = ByteView(raw)
            var p = 0, last = -1, messages = 0
            while p < b.count && messages < TLSParser.maxHandshakeMessages {
                guard let length = Self.u24(b, p + 1), b.has(p + 4, length) else { return false }
                last = p
                p += 4 + length
                messages += 1
            }
            guard last >= 0, p == b.count, b.u8(last) == 2 else { return false }
            return isHelloRetryRandom(b, at: last + 6)
        }
    }

    /// A 24-bit big-endian length.
    static func u24(_ b: ByteView, _ offset: Int) -> Int? {
        guard let hi = b.u8(offset), let lo = b.u16(offset + 1) else { return nil }
        return Int(hi) << 16 | Int(lo)
    }

    static func isHelloRetryRandom(_ b: ByteView, at offset: Int) -> Bool {
        guard b.has(offset, 32) else { return false }
        for i in 0..<32 where b.u8(offset + i) != helloRetryRandom[i] { return false }
        return true
    }

    // MARK: ClientHello

    /// legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
    /// compression_methods<1..2^8-1> extensions<0..2^16-1> (RFC 8446 §4.1.2).
    func readClientHello(_ start: Int, _ length: Int, _ problem: inout TLSProblem) -> TLSClientHello? {
        var r = TLSCursor(bytes, from: start, to: start + length)
        var hello = TLSClientHello()
        guard let version = r.u16(), r.skip(32), let sessionLength = r.u8(), sessionLength <= 32,
              r.skip(Int(sessionLength)), let cipherLength = r.u16(), cipherLength % 2 == 0,
              var ciphers = r.sub(Int(cipherLength)), let compressionLength = r.u8(), compressionLength >= 1,
              r.skip(Int(compressionLength))
        else {
            problem.note("tls.hello_length")
            return nil
        }
        hello.legacyVersion = version
        while let c = ciphers.u16() {
            if hello.cipherSuites.count < TLSClientHello.cipherCapacity {
                hello.cipherSuites.append(c)
            } else {
                hello.listsTruncated = true
            }
        }
        guard !r.atEnd else { return hello }  // no extensions (SSLv3-era hellos)
        guard let extensionsLength = r.u16(), var exts = r.sub(Int(extensionsLength)) else {
            problem.note("tls.extension_length")
            return hello
        }
        while !exts.atEnd {
            guard let type = exts.u16(), let dataLength = exts.u16(), let data = exts.sub(Int(dataLength)) else {
                problem.note("tls.extension_length")
                break
            }
            if hello.extensions.count < TLSClientHello.listCapacity {
                hello.extensions.append(type)
            } else {
                hello.listsTruncated = true
            }
            if !readClientExtension(type, data, into: &hello) { problem.note("tls.extension_length") }
        }
        return hello
    }

    /// Reads the extensions the record keeps; false when one's inner lengths disagree with its own.
    func readClientExtension(_ type: UInt16, _ data: TLSCursor, into hello: inout TLSClientHello) -> Bool {
        var d = data
        switch type {
        case 0x0000:  // server_name: list<2> of {name_type(1), name<2>}
            guard !d.atEnd else { return true }  // empty in a ServerHello-style echo
            guard let listLength = d.u16(), var list = d.sub(Int(listLength)), d.atEnd else { return false }
            while !list.atEnd {
                guard let nameType = list.u8(), let nameLength = list.u16(), let name = list.bytes(Int(nameLength)) else {
                    return false
                }
                if nameType == 0 && hello.serverName == nil {
                    hello.serverName = Array(name.prefix(TLSClientHello.serverNameCapacity))
                }
            }
        case 0x0010:  // ALPN: list<2> of name<1>
            guard let listLength = d.u16(), var list = d.sub(Int(listLength)), d.atEnd else { return false }
            while !list.atEnd {
                guard let nameLength = list.u8(), let name = list.bytes(Int(nameLength)) else { return false }
                append(name, to: &hello.alpn, capacity: TLSClientHello.alpnCapacity, &hello.listsTruncated)
            }
        case 0x002B:  // supported_versions: list<1> of u16
            guard let listLength = d.u8(), listLength % 2 == 0, var list = d.sub(Int(listLength)), d.atEnd else {
                return false
            }
            while let v = list.u16() { append(v, to: &hello.supportedVersions, &hello.listsTruncated) }
        case 0x000A:  // supported_groups: list<2> of u16
            guard let listLength = d.u16(), listLength % 2 == 0, var list = d.sub(Int(listLength)), d.atEnd else {
                return false
            }
            while let v = list.u16() { append(v, to: &hello.supportedGroups, &hello.listsTruncated) }
        case 0x000B:  // ec_point_formats: list<1> of u8
            guard let listLength = d.u8(), var list = d.sub(Int(listLength)), d.atEnd else { return false }
            while let v = list.u8() {
                append(v, to: &hello.ecPointFormats, capacity: TLSClientHello.listCapacity, &hello.listsTruncated)
            }
        case 0x000D:  // signature_algorithms: list<2> of u16
            guard let listLength = d.u16(), listLength % 2 == 0, var list = d.sub(Int(listLength)), d.atEnd else {
                return false
            }
            while let v = list.u16() { append(v, to: &hello.signatureAlgorithms, &hello.listsTruncated) }
        default:
            break
        }
        return true
    }

    func append(_ v: UInt16, to list: inout [UInt16], _ truncated: inout Bool) {
        append(v, to: &list, capacity: TLSClientHello.listCapacity, &truncated)
    }

    func append<T>(_ v: T, to list: inout [T], capacity: Int, _ truncated: inout Bool) {
        if list.count < capacity { list.append(v) } else { truncated = true }
    }

    // MARK: ServerHello

    /// legacy_version(2) random(32) session_id<0..32> cipher_suite(2)
    /// compression_method(1) extensions<0..2^16-1> (RFC 8446 §4.1.3).
    func readServerHello(_ start: Int, _ length: Int, _ problem: inout TLSProblem) -> TLSServerHello? {
        var r = TLSCursor(bytes, from: start, to: start + length)
        var hello = TLSServerHello()
        guard let version = r.u16() else { problem.note("tls.hello_length"); return nil }
        hello.helloRetryRequest = TLSHandshakeReader.isHelloRetryRandom(bytes, at: start + 2)
        guard r.skip(32), let sessionLength = r.u8(), sessionLength <= 32, r.skip(Int(sessionLength)),
              let cipher = r.u16(), r.skip(1)
        else {
            problem.note("tls.hello_length")
            return nil
        }
        hello.legacyVersion = version
        hello.cipherSuite = cipher
        guard !r.atEnd else { return hello }
        guard let extensionsLength = r.u16(), var exts = r.sub(Int(extensionsLength)) else {
            problem.note("tls.extension_length")
            return hello
        }
        while !exts.atEnd {
            guard let type = exts.u16(), let dataLength = exts.u16(), var data = exts.sub(Int(dataLength)) else {
                problem.note("tls.extension_length")
                break
            }
            if hello.extensions.count < TLSClientHello.listCapacity { hello.extensions.append(type) }
            switch type {
            case 0x002B:  // supported_versions: the selected version
                guard let v = data.u16(), data.atEnd else { problem.note("tls.extension_length"); continue }
                hello.selectedVersion = v
            case 0x0010:  // ALPN: a list holding the one chosen name
                guard let listLength = data.u16(), var list = data.sub(Int(listLength)), data.atEnd,
                      let nameLength = list.u8(), let name = list.bytes(Int(nameLength)), list.atEnd
                else {
                    problem.note("tls.extension_length")
                    continue
                }
                hello.alpn = name
            default:
                break
            }
        }
        return hello
    }

    // MARK: Certificate

    /// certificate_list<3> of ASN.1Cert<3> (TLS ≤ 1.2, RFC 5246 §7.4.2): the
    /// first entry is the leaf. `length` may run past the bytes (the prefix cut it).
    func readCertificate(_ start: Int, _ length: Int, into info: inout TLSInfo, _ problem: inout TLSProblem) {
        guard let listLength = Self.u24(bytes, start), let certLength = Self.u24(bytes, start + 3) else { return }
        guard listLength + 3 == length, certLength + 3 <= listLength, certLength > 0 else {
            problem.note("tls.certificate_length")
            return
        }
        let derStart = start + 6
        let summary = bytes.withBytes(from: derStart, length: certLength) { X509Certificate.parse(der: ByteView($0)) }
        guard var s = summary else {
            if bytes.count > derStart { problem.note("tls.certificate_der") }
            return
        }
        if bytes.count < derStart + certLength { s.truncated = true; s.der = [] }
        info.certificate = s
    }
}

/// A read position inside `[from, to)` of a view; every read checks both the
/// limit and the view, and a failed read leaves the position unchanged.
struct TLSCursor {
    let view: ByteView
    var position: Int
    let limit: Int

    init(_ view: ByteView, from: Int, to: Int) {
        self.view = view
        self.position = from
        self.limit = min(to, view.count)
    }

    var atEnd: Bool { position >= limit }

    mutating func u8() -> UInt8? {
        guard position + 1 <= limit, let v = view.u8(position) else { return nil }
        position += 1
        return v
    }

    mutating func u16() -> UInt16? {
        guard position + 2 <= limit, let v = view.u16(position) else { return nil }
        position += 2
        return v
    }

    mutating func skip(_ n: Int) -> Bool {
        guard n >= 0, position + n <= limit else { return false }
        position += n
        return true
    }

    /// The next `n` bytes as their own cursor.
    mutating func sub(_ n: Int) -> TLSCursor? {
        guard n >= 0, position + n <= limit else { return nil }
        let c = TLSCursor(view, from: position, to: position + n)
        position += n
        return c
    }

    /// The next `n` bytes copied out.
    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard n >= 0, position + n <= limit else { return nil }
        let out = n == 0 ? [] : view.withBytes(from: position, length: n) { Array($0) }
        position += n
        return out
    }
}
