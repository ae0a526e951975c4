/// Everything that can go wrong reading a model bundle or one of its sections.
///
/// Every case names where the problem is: the file (when the bundle came from one),
/// the byte offset, and/or the section.
public enum BundleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or read (or written).
    case io(path: String, reason: String)
    /// The file ended early: `needed` bytes were required at `offset` but only `available` remain.
    case truncated(path: String, offset: Int, needed: Int, available: Int)
    /// The first eight bytes are not "FSBUNDLE".
    case badMagic(path: String)
    /// The format version is one this build cannot read.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// The CRC-32 stored in the header does not match the contents.
    case checksumMismatch(path: String, stored: UInt32, computed: UInt32)
    /// The container structure is inconsistent (e.g. bad section name, trailing bytes).
    case malformed(path: String, offset: Int, reason: String)
    /// A required section is absent.
    case missingSection(path: String, section: String)
    /// A section's payload could not be decoded.
    case corruptSection(section: String, offset: Int, reason: String)
    /// The bundle's feature schema differs from what the caller expects.
    case schemaMismatch(path: String, index: Int, expected: String?, found: String?)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): model bundle: \(reason)"
        case let .truncated(path, offset, needed, available):
            return "\(path): truncated bundle at offset \(offset): needed \(needed) bytes, only \(available) available"
        case let .badMagic(path):
            return "\(path): not a FlowSentry model bundle (bad magic at offset 0, expected \"FSBUNDLE\")"
        case let .unsupportedVersion(path, found, supported):
            return "\(path): unsupported bundle format version \(found) at offset 8 (this build reads version \(supported))"
        case let .checksumMismatch(path, stored, computed):
            return "\(path): bundle is corrupt: CRC-32 mismatch (header says 0x\(hex(stored)), contents give 0x\(hex(computed)))"
        case let .malformed(path, offset, reason):
            return "\(path): malformed bundle at offset \(offset): \(reason)"
        case let .missingSection(path, section):
            return "\(path): bundle has no \"\(section)\" section"
        case let .corruptSection(section, offset, reason):
            return "section \"\(section)\": corrupt at offset \(offset): \(reason)"
        case let .schemaMismatch(path, index, expected, found):
            let e = expected.map { "\"\($0)\"" } ?? "<none>"
            let f = found.map { "\"\($0)\"" } ?? "<none>"
            return "\(path): feature schema mismatch at feature #\(index): expected \(e), bundle has \(f)"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
