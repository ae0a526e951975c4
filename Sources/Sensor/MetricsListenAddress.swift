#if canImport(Glibc)
import Glibc
#endif

/// Where the metrics endpoint listens: `host:port`, with the host an IPv4
/// address, a host name (`localhost`, resolved with getaddrinfo when the
/// endpoint starts) or a bracketed IPv6 address (`[::1]:9560`, `[::]:9560`).
/// `parse` checks the form only (no DNS), so the config loader and
/// check-config can name a bad value without touching the network.
package struct MetricsListenAddress: Equatable, Sendable {
    package let host: String
    package let port: UInt16

    package struct ParseError: Error, CustomStringConvertible, Equatable {
        package let description: String
    }

    package static let example = "127.0.0.1:9560, localhost:9560 or [::1]:9560"

    package static func parse(_ s: String) throws(ParseError) -> MetricsListenAddress {
        func fail(_ why: String) -> ParseError { ParseError(description: "\"\(s)\": \(why) (e.g. \(example))") }
        let host: Substring, portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw fail("'[' without a closing ']'") }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.first == ":" else { throw fail("a port must follow the bracketed address, as ]:PORT") }
            portText = rest.dropFirst()
            var a6 = in6_addr()
            guard inet_pton(AF_INET6, String(host), &a6) == 1 else { throw fail("'\(host)' is not an IPv6 address") }
        } else {
            guard let colon = s.lastIndex(of: ":") else { throw fail("no port: give host:port") }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
            if host.contains(":") {
                var a6 = in6_addr()
                if inet_pton(AF_INET6, String(host), &a6) == 1 { throw fail("an IPv6 address needs brackets, as [\(host)]:\(portText)") }
                throw fail("'\(host)' is neither an IPv4 address nor a host name")
            }
            guard !host.isEmpty else { throw fail("no host: give 127.0.0.1 for this machine only, 0.0.0.0 or [::] for every address") }
            guard isHostName(host) else { throw fail("'\(host)' is neither an IPv4 address nor a host name") }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portText) else {
            throw fail("the port must be a number from 0 to 65535 (0: any free port)")
        }
        return MetricsListenAddress(host: String(host), port: port)
    }

    /// A host name as RFC 1123 allows it (labels of letters, digits and
    /// hyphens, not starting or ending with a hyphen); dotted IPv4 passes too.
    static func isHostName(_ h: Substring) -> Bool {
        guard h.utf8.count <= 253 else { return false }
        let labels = h.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { l in
            !l.isEmpty && l.utf8.count <= 63 && l.first != "-" && l.last != "-"
                && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `host:port` as a URL authority (IPv6 in brackets).
    package func authority(port p: UInt16? = nil) -> String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(p ?? port)"
    }

    package struct ResolveError: Error, CustomStringConvertible {
        package let description: String
    }

    /// The socket addresses `host` resolves to (getaddrinfo, TCP), in the
    /// resolver's order.
    package func resolve() throws(ResolveError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        var rc = getaddrinfo(host, String(port), &hints, &list)
        if rc != 0 && rc != EAI_SYSTEM {
            // AI_ADDRCONFIG hides ::1 on a host whose only IPv6 address is loopback; ask again without it.
            hints.ai_flags = AI_NUMERICSERV
            rc = getaddrinfo(host, String(port), &hints, &list)
        }
        guard rc == 0, let first = list else {
            let why = rc == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(rc))
            throw ResolveError(description: "cannot resolve '\(host)': \(why)")
        }
        defer { freeaddrinfo(first) }
        var out: [SocketAddress] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if let sa = ai.pointee.ai_addr, ai.pointee.ai_family == AF_INET || ai.pointee.ai_family == AF_INET6 {
                out.append(SocketAddress(sa, length: ai.pointee.ai_addrlen))
            }
            p = ai.pointee.ai_next
        }
        if out.isEmpty { throw ResolveError(description: "cannot resolve '\(host)': no IPv4 or IPv6 address") }
        return out
    }
}

/// An IPv4 or IPv6 socket address, copied out of the C structures.
package struct SocketAddress: Sendable {
    private var storage = sockaddr_storage()
    package let length: socklen_t

    init(_ sa: UnsafePointer<sockaddr>, length: socklen_t) {
        self.length = min(length, socklen_t(MemoryLayout<sockaddr_storage>.size))
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(self.length)))
        }
    }

    package var family: Int32 { Int32(storage.ss_family) }

    /// The address as text (`127.0.0.1`, `::1`).
    package var host: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET {
                var a = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
            } else {
                var a = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
            }
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Calls `body` with the address as a `sockaddr` pointer.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    /// The address a socket is bound to (getsockname).
    static func bound(to fd: Int32) -> SocketAddress? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &ss) { getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &len) }
        guard rc == 0 else { return nil }
        return withUnsafeBytes(of: ss) { SocketAddress($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length: len) }
    }

    /// The port, host byte order.
    package var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET ? UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
        }
    }
}
