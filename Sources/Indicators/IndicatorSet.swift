import Decoding

/// One indicator that matched a flow: which entry, where it was seen.
public struct IndicatorHit: Sendable, Equatable {
    /// True: an address or subnet entry; false: a name, URL or fingerprint.
    public var isAddress: Bool
    public var entry: Int32
    public var meta: IndicatorMeta
    public var seenAt: IndicatorWhere
}

/// Counts of indicator matches, for stats records and metrics.
public struct IndicatorCounters: Sendable, Equatable {
    /// Flows with at least one hit.
    public var flowsMatched: UInt64 = 0
    /// Hits by kind (`IndicatorKind.rawValue`).
    public var hits = [UInt64](repeating: 0, count: IndicatorKind.allCases.count)
    public init() {}
    public var totalHits: UInt64 { hits.reduce(0, +) }
}

/// The indicators loaded from a list of Zeek Intel files, built once and
/// then only read (shared freely; a reload builds a new set). Matching is
/// exact, as Zeek's: addresses against addresses and the subnets holding
/// them, values lower-cased (docs/indicators.md).
public final class IndicatorSet: Sendable {
    public let files: [String]
    public let sources: [String]
    /// Indicators held, by kind (`IndicatorKind.rawValue`), duplicates left out.
    public let counts: [Int]
    /// Lines of Zeek types the sensor never sees, skipped, by type.
    public let skipped: [String: Int]
    /// Lines equal to an earlier one in value, type and source.
    public let duplicates: Int
    let addresses: AddressTable
    let strings: StringTable
    /// Bit `kind.rawValue` set when the set holds that kind.
    let kinds: UInt16

    /// An empty set (no files).
    public convenience init() {
        self.init(files: [], builder: IndicatorBuilder())
    }

    init(files: [String], builder b: IndicatorBuilder) {
        var a = b.addresses, s = b.strings
        // Arrays grown by appending hold up to twice their count: copied to their size.
        a.hi = trimmed(a.hi); a.lo = trimmed(a.lo); a.prefix = trimmed(a.prefix); a.meta = trimmed(a.meta)
        s.arena = trimmed(s.arena); s.offset = trimmed(s.offset); s.length = trimmed(s.length); s.meta = trimmed(s.meta)
        let dups = a.buildIndex() + s.buildIndex()
        var counts = b.counts
        var kinds: UInt16 = 0
        for t in [a.meta, s.meta] { for m in t { kinds |= 1 << UInt16(m.kind.rawValue) } }
        // Counts without the duplicates left out of the index.
        if dups > 0 {
            counts = [Int](repeating: 0, count: counts.count)
            a.slots.forEach { if $0 != 0 { counts[Int(a.meta[Int($0 & 0xFFFF_FFFF) - 1].kind.rawValue)] += 1 } }
            s.index.slots.forEach { if $0 != 0 { counts[Int(s.meta[Int($0 & 0xFFFF_FFFF) - 1].kind.rawValue)] += 1 } }
        }
        self.files = files
        self.sources = b.sources
        self.counts = counts
        self.skipped = b.skipped
        self.duplicates = dups
        self.addresses = a
        self.strings = s
        self.kinds = kinds
    }

    /// Reads and checks every file, in order; the first file with a bad
    /// line (or that cannot be read) throws, and nothing is loaded.
    public static func load(paths: [String]) throws(IndicatorLoadError) -> IndicatorSet {
        var parser = IndicatorFileParser(builder: IndicatorBuilder())
        for p in paths {
            guard let bytes = readFileBytes(p) else {
                throw IndicatorLoadError(file: p, lines: [.init(line: 0, reason: "cannot read: \(String(cString: strerror(errno)))")], badLines: 1)
            }
            try parser.parse(bytes, file: p)
        }
        return IndicatorSet(files: paths, builder: parser.builder)
    }

    /// Parses indicator text as if it were the file `file` (tests, tools).
    public static func parse(_ text: String, file: String = "indicators") throws(IndicatorLoadError) -> IndicatorSet {
        var parser = IndicatorFileParser(builder: IndicatorBuilder())
        try parser.parse(Array(text.utf8), file: file)
        return IndicatorSet(files: [file], builder: parser.builder)
    }

    public var count: Int { counts.reduce(0, +) }
    public var isEmpty: Bool { count == 0 }

    /// Bytes the tables take (values, metadata and hash indexes; the
    /// arrays' capacity may add to it until they are trimmed).
    public var bytes: Int { addresses.bytes + strings.bytes }

    @inline(__always)
    func holds(_ k: IndicatorKind) -> Bool { kinds & (1 << UInt16(k.rawValue)) != 0 }

    /// The indicator of a hit as it was loaded (normalised: lower case,
    /// URL without scheme, subnet as network/length).
    public func value(of hit: IndicatorHit) -> String {
        let e = Int(hit.entry)
        if hit.isAddress {
            let (ip, len) = IndicatorBuilder.address(hi: addresses.hi[e], lo: addresses.lo[e], prefix: addresses.prefix[e])
            return hit.meta.kind == .subnet ? "\(ip)/\(len)" : "\(ip)"
        }
        return strings.text(e)
    }

    public func source(of hit: IndicatorHit) -> String { sources[Int(hit.meta.source)] }

    /// One line for the log: what was loaded from where.
    public var summary: String {
        var parts = IndicatorKind.allCases.filter { counts[Int($0.rawValue)] > 0 }
            .map { "\(counts[Int($0.rawValue)]) \($0.name)" }
        if parts.isEmpty { parts = ["none"] }
        let size = bytes < 1 << 20 ? "\(bytes >> 10) KiB" : "\(bytes >> 20).\((bytes & 0xFFFFF) * 10 >> 20) MiB"
        var s = "indicators \(files.joined(separator: ", ")): \(count) (\(parts.joined(separator: ", "))) from \(sources.count) source\(sources.count == 1 ? "" : "s"), \(size)"
        if duplicates > 0 { s += ", \(duplicates) duplicate lines left out" }
        if !skipped.isEmpty {
            s += "; skipped (types the sensor does not see): "
                + skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        }
        return s
    }
}

/// A copy of `x` whose capacity is its count.
func trimmed<T>(_ x: [T]) -> [T] {
    // An empty array is the runtime's shared empty storage: initialising it
    // in place writes its count there from every thread (a TSan report).
    guard !x.isEmpty else { return [] }
    return [T](unsafeUninitializedCapacity: x.count) { buf, n in
        _ = buf.initialize(fromContentsOf: x)
        n = x.count
    }
}

#if canImport(Glibc)
import Glibc
#endif
