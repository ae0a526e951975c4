import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A FlowSentry model bundle: one binary file holding named sections.
///
/// Layout (all integers little-endian):
///
///     offset  size  field
///          0     8  magic "FSBUNDLE"
///          8     4  format version (u32, currently 1)
///         12     4  flags (u32, reserved, 0)
///         16     8  body length in bytes (u64)
///         24     4  CRC-32 (IEEE) of bytes 0..<24 followed by the body (u32)
///         28     …  body:
///                     u32 section count
///                     per section, sorted by name:
///                       u16 name length, name (UTF-8, 1…255 bytes)
///                       u64 payload length, payload
///
/// Well-known sections: "schema" (JSON array of feature names), "meta" (JSON `BundleMeta`),
/// "norm", "lof", "ocsvm", "calib.lof", "calib.ocsvm"; any other name is allowed
/// (e.g. "cnn", "lstm").
public struct ModelBundle: Sendable, Equatable {
    public static let magic: [UInt8] = Array("FSBUNDLE".utf8)
    public static let formatVersion: UInt32 = 1
    public static let headerSize = 28

    public var sections: [String: [UInt8]]
    /// Where the bundle was loaded from (used in error messages); "<memory>" otherwise.
    public var sourcePath: String

    public init(sections: [String: [UInt8]] = [:], sourcePath: String = "<memory>") {
        self.sections = sections
        self.sourcePath = sourcePath
    }

    public static func == (a: ModelBundle, b: ModelBundle) -> Bool { a.sections == b.sections }

    // MARK: Sections

    /// The payload of a required section.
    public func section(_ name: String) throws(BundleError) -> [UInt8] {
        guard let s = sections[name] else {
            throw .missingSection(path: sourcePath, section: name)
        }
        return s
    }

    public func reader(_ name: String) throws(BundleError) -> BundleReader {
        BundleReader(try section(name), section: name)
    }

    // MARK: Serialisation

    public func serialised() -> [UInt8] {
        var body = BundleWriter()
        body.u32(UInt32(sections.count))
        for name in sections.keys.sorted() {
            let n = Array(name.utf8)
            precondition(!n.isEmpty && n.count <= 255, "bundle section names must be 1…255 UTF-8 bytes")
            body.u16(UInt16(n.count))
            body.raw(n)
            let payload = sections[name]!
            body.count(payload.count)
            body.raw(payload)
        }
        var out = BundleWriter()
        out.raw(Self.magic)
        out.u32(Self.formatVersion)
        out.u32(0)
        out.count(body.bytes.count)
        let crc = body.bytes.withUnsafeBytes { CRC32.update(CRC32.checksum(out.bytes), $0) }
        out.u32(crc)
        out.raw(body.bytes)
        return out.bytes
    }

    /// Parses bundle bytes; `path` is only used in error messages.
    public init(bytes: [UInt8], path: String = "<memory>") throws(BundleError) {
        func truncated(_ offset: Int, _ needed: Int) -> BundleError {
            .truncated(path: path, offset: offset, needed: needed, available: max(0, bytes.count - offset))
        }
        guard bytes.count >= 8 else {
            // A prefix of the magic is a truncated bundle; anything else is not a bundle.
            if Array(Self.magic.prefix(bytes.count)) == bytes { throw truncated(0, Self.headerSize) }
            throw .badMagic(path: path)
        }
        guard Array(bytes[0..<8]) == Self.magic else { throw .badMagic(path: path) }
        guard bytes.count >= Self.headerSize else { throw truncated(bytes.count, Self.headerSize - bytes.count) }
        var header = BundleReader(Array(bytes[8..<Self.headerSize]), section: "header")
        let version: UInt32, bodyLength: UInt64, storedCRC: UInt32
        do throws(BundleError) {
            version = try header.u32()
            _ = try header.u32()
            bodyLength = try header.u64()
            storedCRC = try header.u32()
        } catch {
            throw truncated(8, Self.headerSize - 8)  // unreachable: header slice has exactly 20 bytes
        }
        guard version == Self.formatVersion else {
            throw .unsupportedVersion(path: path, found: version, supported: Self.formatVersion)
        }
        let available = bytes.count - Self.headerSize
        guard bodyLength <= UInt64(available) else {
            throw .truncated(path: path, offset: bytes.count, needed: Int(clamping: bodyLength) - available, available: 0)
        }
        guard bodyLength == UInt64(available) else {
            throw .malformed(path: path, offset: Self.headerSize + Int(bodyLength),
                             reason: "\(available - Int(bodyLength)) trailing bytes after the body")
        }
        let computed = bytes.withUnsafeBytes { all in
            CRC32.update(CRC32.update(0, UnsafeRawBufferPointer(rebasing: all[0..<24])),
                         UnsafeRawBufferPointer(rebasing: all[Self.headerSize...]))
        }
        guard computed == storedCRC else {
            throw .checksumMismatch(path: path, stored: storedCRC, computed: computed)
        }

        // The checksum matched, so structural errors below mean a writer bug or a forged file.
        var r = BundleReader(Array(bytes[Self.headerSize...]), section: "body")
        func malformed(_ reason: String) -> BundleError {
            .malformed(path: path, offset: Self.headerSize + r.offset, reason: reason)
        }
        var sections: [String: [UInt8]] = [:]
        do throws(BundleError) {
            let n = try r.u32()
            for _ in 0..<n {
                let nameLength = Int(try r.u16())
                guard nameLength > 0, nameLength <= r.remaining else { throw malformed("bad section name length \(nameLength)") }
                let nameBytes = try r.take(nameLength)
                guard let name = String(validating: nameBytes, as: UTF8.self) else { throw malformed("section name is not UTF-8") }
                guard sections[name] == nil else { throw malformed("duplicate section \"\(name)\"") }
                let length = try r.count(elementSize: 1)
                sections[name] = try r.take(length)
            }
            guard r.isAtEnd else { throw malformed("\(r.remaining) bytes after the last section") }
        } catch {
            if case .corruptSection(_, _, let reason) = error { throw malformed(reason) }
            throw error
        }
        self.init(sections: sections, sourcePath: path)
    }

    /// Writes the bundle to a temporary file beside `path`, then renames it
    /// over `path`: a reader never sees half a bundle.
    public func write(to path: String) throws(BundleError) {
        let bytes = serialised()
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd); unlink(temporary)
                throw .io(path: path, reason: "cannot write: \(reason)")
            }
            written += n
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(path: path, reason: "cannot write: \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(path: path, reason: "cannot replace: \(reason)")
        }
    }

    public static func load(path: String) throws(BundleError) -> ModelBundle {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += buf[0..<n]
        }
        return try ModelBundle(bytes: bytes, path: path)
    }

    // MARK: Typed section helpers (u64 count + little-endian values)

    public mutating func setFloats(_ values: [Float], section: String) {
        var w = BundleWriter()
        w.f32Array(values)
        sections[section] = w.bytes
    }

    public func floats(_ section: String) throws(BundleError) -> [Float] {
        var r = try reader(section)
        let v = try r.f32Array()
        try r.expectEnd()
        return v
    }

    public mutating func setDoubles(_ values: [Double], section: String) {
        var w = BundleWriter()
        w.f64Array(values)
        sections[section] = w.bytes
    }

    public func doubles(_ section: String) throws(BundleError) -> [Double] {
        var r = try reader(section)
        let v = try r.f64Array()
        try r.expectEnd()
        return v
    }

    public mutating func setInts(_ values: [Int], section: String) {
        var w = BundleWriter()
        w.count(values.count)
        for v in values { w.i64(Int64(v)) }
        sections[section] = w.bytes
    }

    public func ints(_ section: String) throws(BundleError) -> [Int] {
        var r = try reader(section)
        let n = try r.count(elementSize: 8)
        var out = [Int]()
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(Int(try r.i64())) }
        try r.expectEnd()
        return out
    }

    // MARK: Schema and metadata

    public static let schemaSection = "schema"
    public static let metaSection = "meta"

    public var schema: [String] {
        get throws(BundleError) {
            let raw = try section(Self.schemaSection)
            do {
                return try JSONDecoder().decode([String].self, from: Data(raw))
            } catch {
                throw .corruptSection(section: Self.schemaSection, offset: 0, reason: "not a JSON array of strings: \(error)")
            }
        }
    }

    public mutating func setSchema(_ names: [String]) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        sections[Self.schemaSection] = Array(try! enc.encode(names))
    }

    /// Throws `.schemaMismatch` naming the first differing feature (or the first extra/missing one).
    public func checkSchema(expected: [String]) throws(BundleError) {
        let found = try schema
        for i in 0..<max(found.count, expected.count) {
            let e = i < expected.count ? expected[i] : nil
            let f = i < found.count ? found[i] : nil
            if e != f {
                throw .schemaMismatch(path: sourcePath, index: i, expected: e, found: f)
            }
        }
    }

    public var meta: BundleMeta {
        get throws(BundleError) {
            let raw = try section(Self.metaSection)
            do {
                return try JSONDecoder().decode(BundleMeta.self, from: Data(raw))
            } catch {
                throw .corruptSection(section: Self.metaSection, offset: 0, reason: "bad metadata JSON: \(error)")
            }
        }
    }

    public mutating func setMeta(_ meta: BundleMeta) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        sections[Self.metaSection] = Array(try! enc.encode(meta))
    }
}

/// Human-readable provenance stored in the "meta" section.
public struct BundleMeta: Codable, Sendable, Equatable {
    public var modelVersion: String
    /// Capture files (or other sources) the model was trained on.
    public var trainingCaptures: [String]
    /// ISO-8601 creation timestamp.
    public var createdAt: String
    /// Free-form evaluation metrics (e.g. "lof.fpr_at_threshold").
    public var metrics: [String: Double]
    /// Free-form notes (parameters, tool versions).
    public var notes: [String: String]
    /// The sequence models' view of a flow's first packets (`SequenceView`);
    /// absent in bundles made before it existed: `packets`.
    public var sequenceView: String?

    public init(modelVersion: String, trainingCaptures: [String] = [], createdAt: String = "",
                metrics: [String: Double] = [:], notes: [String: String] = [:]) {
        self.modelVersion = modelVersion
        self.trainingCaptures = trainingCaptures
        self.createdAt = createdAt
        self.metrics = metrics
        self.notes = notes
    }
}
