#if canImport(Glibc)
import Glibc
#endif

/// Errors opening or writing an output log.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// An append-only output file (or stdout for "-"): opened with O_APPEND,
/// created with mode 0640 by default, never truncated. Writes are buffered
/// up to `bufferLimit` bytes and always end on a record boundary.
public final class OutputFile {
    public let path: String
    private var fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    public var bufferLimit = 1 << 16
    public let mode: mode_t
    public private(set) var bytesWritten: UInt64 = 0

    public init(path: String, mode: mode_t = 0o640) throws(OutputError) {
        self.path = path
        self.mode = mode
        buffer.reserveCapacity(1 << 17)
        if path == "-" {
            fd = 1
            ownsFD = false
        } else {
            let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
            guard f >= 0 else { throw OutputError(path: path, reason: "cannot open for writing: \(String(cString: strerror(errno)))") }
            fd = f
            ownsFD = true
        }
    }

    deinit {
        try? flush()
        if ownsFD { close(fd) }
    }

    /// Queues complete records (bytes ending in a newline).
    public func write(_ bytes: [UInt8]) throws(OutputError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    public func flush() throws(OutputError) {
        var off = 0
        while off < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                // Keep what was not written, so nothing accepted is lost silently.
                buffer.removeFirst(off)
                throw OutputError(path: path, reason: "write failed: \(reason)")
            }
            off += n
        }
        bytesWritten &+= UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and fsyncs (regular files only).
    public func sync() throws(OutputError) {
        try flush()
        if ownsFD && fsync(fd) != 0 && errno != EINVAL {
            throw OutputError(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes and reopens the file by name (log rotation: rename, then HUP).
    public func reopen() throws(OutputError) {
        try flush()
        guard ownsFD else { return }
        let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard f >= 0 else { throw OutputError(path: path, reason: "cannot reopen: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = f
    }
}
