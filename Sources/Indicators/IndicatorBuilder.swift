import Decoding

/// Collects parsed indicators into the tables of an `IndicatorSet`: checks
/// and normalises each value for its kind, interns sources, counts lines
/// of Zeek types the sensor never sees.
struct IndicatorBuilder {
    var addresses = AddressTable()
    var strings = StringTable()
    var sources: [String] = []
    /// Source numbers by the FNV-1a of their bytes (as lower-cased for hashing; compared exactly).
    private var sourceByHash: [UInt64: [UInt16]] = [:]
    /// Lines skipped by their Zeek type (`Intel::FILE_HASH`, …).
    var skipped: [String: Int] = [:]
    var counts = [Int](repeating: 0, count: IndicatorKind.allCases.count)
    private var sourceBytes: [[UInt8]] = []
    private var lastSource: [UInt8] = []
    private var lastSourceIndex: UInt16 = 0

    /// Longest name or URL accepted (the HTTP parser keeps URIs up to 2 KiB).
    static let longestValue = 4096

    static let typeNames: [(name: [UInt8], kind: IndicatorKind)] = IndicatorKind.allCases.map { (Array($0.typeName.utf8), $0) }

    /// Adds one line's indicator; returns what is wrong with it, or nil.
    mutating func add(indicator v: UnsafeBufferPointer<UInt8>, type t: UnsafeBufferPointer<UInt8>,
                      source s: UnsafeBufferPointer<UInt8>, severity sev: UnsafeBufferPointer<UInt8>?) -> String? {
        guard let kind = Self.typeNames.first(where: { $0.name.elementsEqual(t) })?.kind else {
            let name = String(decoding: t, as: UTF8.self)
            if IndicatorKind.unseenZeekTypes.contains(name) { skipped[name, default: 0] += 1; return nil }
            if name.isEmpty || name == "-" { return "empty indicator_type" }
            return "unknown indicator_type '\(name)' (known: \(IndicatorKind.allCases.map(\.typeName).joined(separator: ", ")); skipped: \(IndicatorKind.unseenZeekTypes.sorted().joined(separator: ", ")))"
        }
        if v.isEmpty || (v.count == 1 && v[0] == UInt8(ascii: "-")) { return "empty indicator" }
        if s.isEmpty || (s.count == 1 && s[0] == UInt8(ascii: "-")) { return "empty meta.source (every indicator names its source)" }
        if s.count > 255 { return "meta.source longer than 255 bytes" }
        var severity = defaultIndicatorSeverity
        if let sev, !(sev.count == 1 && sev[0] == UInt8(ascii: "-")) {
            guard sev.count == 1, (UInt8(ascii: "1")...UInt8(ascii: "3")).contains(sev[0]) else {
                return "meta.severity must be 1, 2 or 3 (1 high), or '-' for the default \(defaultIndicatorSeverity) (got '\(String(decoding: sev, as: UTF8.self))')"
            }
            severity = sev[0] - UInt8(ascii: "0")
        }
        guard let source = intern(s) else { return "more than 65535 distinct sources" }
        let meta = IndicatorMeta(kind: kind, severity: severity, source: source)
        let text = { String(decoding: v, as: UTF8.self) }
        switch kind {
        case .address:
            guard let ip = Self.ipv4(v) ?? IPAddress(text()) else { return "'\(text())' is not an IPv4 or IPv6 address" }
            let (h, l, p) = Self.key(ip, prefix: nil)
            addresses.append(hi: h, lo: l, prefix: p, meta: meta)
        case .subnet:
            let parts = text().split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let ip = IPAddress(String(parts[0])), let n = Int(parts[1]),
                  n >= 0, n <= (ip.version == 4 ? 32 : 128) else {
                return "'\(text())' is not a subnet (ADDRESS/LENGTH, e.g. 192.0.2.0/24 or 2001:db8::/32)"
            }
            let (h, l, p) = Self.key(ip, prefix: n)
            addresses.append(hi: h, lo: l, prefix: p, meta: meta)
        case .domain, .tlsSNI:
            var n = v
            if n.last == UInt8(ascii: ".") { n = UnsafeBufferPointer(rebasing: n.dropLast()) }
            guard !n.isEmpty, n.count <= 253, !n.contains(where: Self.notInName) else {
                return "'\(text())' is not a domain name"
            }
            strings.append(n, meta: meta)
        case .url:
            var u = Array(v)
            for scheme in ["http://", "https://"] where u.count > scheme.utf8.count
                && zip(u, scheme.utf8).allSatisfy({ IndicatorHash.lower($0) == $1 }) {
                u.removeFirst(scheme.utf8.count)
                break
            }
            guard !u.isEmpty, u[0] != UInt8(ascii: "/"), !u.contains(where: { $0 <= 0x20 }) else {
                return "'\(text())' is not a URL (host and path, as Zeek's Intel::URL: 'example.com/path')"
            }
            if !u.contains(UInt8(ascii: "/")) { u.append(UInt8(ascii: "/")) }
            guard u.count <= Self.longestValue else { return "URL longer than \(Self.longestValue) bytes" }
            u.withUnsafeBufferPointer { strings.append($0, meta: meta) }
        case .ja3, .hassh:
            guard v.count == 32, v.allSatisfy(Self.isHex) else {
                return "'\(text())' is not a \(kind == .ja3 ? "JA3" : "HASSH") hash (32 hex digits)"
            }
            strings.append(v, meta: meta)
        case .ja4:
            // JA4 (FoxIO): a 10-character prefix, then two 12-digit hex hashes.
            guard v.count == 36, v[10] == UInt8(ascii: "_"), v[23] == UInt8(ascii: "_"),
                  v[11..<23].allSatisfy(Self.isHex), v[24..<36].allSatisfy(Self.isHex),
                  v[0..<10].allSatisfy({ Self.isHex($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(IndicatorHash.lower($0)) }) else {
                return "'\(text())' is not a JA4 fingerprint (e.g. t13d1516h2_8daaf6152771_02713d6af862)"
            }
            strings.append(v, meta: meta)
        case .certHash:
            let hex = v.filter { $0 != UInt8(ascii: ":") }
            guard hex.count == 40, hex.allSatisfy(Self.isHex) else {
                return "'\(text())' is not a certificate SHA-1 (40 hex digits, colons allowed; SHA-256 is not computed)"
            }
            hex.withUnsafeBufferPointer { strings.append($0, meta: meta) }
        }
        counts[Int(kind.rawValue)] += 1
        return nil
    }

    /// Bytes no domain name holds: controls, space, and URL punctuation.
    static func notInName(_ c: UInt8) -> Bool {
        switch c {
        case 0...0x20, UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "?"), UInt8(ascii: "#"): true
        default: false
        }
    }

    /// A dotted quad read from bytes (no String made: feeds hold millions);
    /// nil for anything else, which `IPAddress(String)` then judges.
    static func ipv4(_ v: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        var parts = (0, 0, 0, 0), part = 0, value = 0, digits = 0
        for c in v {
            if c == UInt8(ascii: ".") {
                guard digits > 0, part < 3 else { return nil }
                switch part { case 0: parts.0 = value; case 1: parts.1 = value; default: parts.2 = value }
                part += 1; value = 0; digits = 0
            } else if c >= 48 && c <= 57 {
                if digits > 0 && value == 0 { return nil }  // a leading zero: left to the strict parser
                value = value * 10 + Int(c - 48); digits += 1
                guard value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard part == 3, digits > 0 else { return nil }
        parts.3 = value
        return IPAddress(v4: UInt8(parts.0), UInt8(parts.1), UInt8(parts.2), UInt8(parts.3))
    }

    static func isHex(_ c: UInt8) -> Bool {
        (48...57).contains(c) || (97...102).contains(IndicatorHash.lower(c))
    }

    /// The 128-bit key of an address (IPv4 as IPv4-mapped IPv6) and its
    /// prefix length in that space (a whole address: 128).
    static func key(_ ip: IPAddress, prefix: Int?) -> (UInt64, UInt64, UInt8) {
        if ip.version == 4 {
            let v4 = UInt64(UInt32(bigEndian: UInt32(truncatingIfNeeded: ip.hi)))
            return (0, 0x0000_FFFF_0000_0000 | v4, UInt8(96 + (prefix ?? 32)))
        }
        return (UInt64(bigEndian: ip.hi), UInt64(bigEndian: ip.lo), UInt8(prefix ?? 128))
    }

    /// The address of a key, IPv4 when it is IPv4-mapped.
    static func address(hi: UInt64, lo: UInt64, prefix: UInt8) -> (IPAddress, Int) {
        if hi == 0 && lo >> 32 == 0xFFFF && prefix >= 96 {
            let v = UInt32(truncatingIfNeeded: lo)
            return (IPAddress(v4: UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)), Int(prefix) - 96)
        }
        return (IPAddress(hi: hi.bigEndian, lo: lo.bigEndian, version: 6), Int(prefix))
    }

    private mutating func intern(_ s: UnsafeBufferPointer<UInt8>) -> UInt16? {
        if !sources.isEmpty && lastSource.elementsEqual(s) { return lastSourceIndex }
        // Found by the hash of its bytes, no key made (feeds have millions of lines).
        var h = IndicatorHash.offset
        IndicatorHash.add(&h, s)
        let i: UInt16
        if let known = sourceByHash[h]?.first(where: { sourceBytes[Int($0)].elementsEqual(s) }) {
            i = known
        } else {
            guard sources.count < Int(UInt16.max) else { return nil }
            i = UInt16(sources.count)
            sources.append(String(decoding: s, as: UTF8.self))
            sourceBytes.append(Array(s))
            sourceByHash[h, default: []].append(i)
        }
        lastSource = sourceBytes[Int(i)]
        lastSourceIndex = i
        return i
    }
}
