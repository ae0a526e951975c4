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
///
/// When the kernel refuses a write (disk full, I/O error) nothing accepted
/// is dropped silently: the unwritten records stay in memory and are retried
/// on every later flush, up to `maxPendingBytes`; beyond that, new records
/// are refused and counted in `recordsDropped`. A record cut off by a
/// partial write is cut from the file again (regular files), so the file
/// only ever holds whole records and the retry writes it whole.
///
/// A log removed under the sensor (the file deleted, its directory removed,
/// or another file put in its place) is noticed at the next flush, checked
/// at most every `removalCheckInterval`: the directory and the file are
/// created again and writing goes on there (counted in `recreations`); until
/// that succeeds, records are held and counted as for a full disk.
public final class OutputFile {
    public let path: String
    private var fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    public var bufferLimit = 1 << 16
    /// Unwritten bytes held while writes fail; more records than fit are dropped (counted).
    public var maxPendingBytes = 32 << 20
    public let mode: mode_t
    public private(set) var bytesWritten: UInt64 = 0
    /// Records refused because the kernel would not take them and `maxPendingBytes` was full.
    public private(set) var recordsDropped: UInt64 = 0
    /// The error of the last failed flush, nil once a flush succeeds again.
    public private(set) var failure: String?
    /// Times the file was found removed or replaced and opened again by name.
    public private(set) var recreations: UInt64 = 0
    /// How often (nanoseconds, monotonic) a flush checks that the open file is still the one at `path`.
    public var removalCheckInterval: UInt64 = 1_000_000_000
    private var lastRemovalCheck: UInt64 = 0

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

    /// Bytes accepted but not yet handed to the kernel.
    public var pendingBytes: Int { buffer.count }

    /// Whole records accepted but not yet handed to the kernel.
    public var pendingRecords: Int {
        buffer.withUnsafeBufferPointer { b in
            var n = 0
            for x in b where x == 0x0A { n += 1 }
            return n
        }
    }

    /// Queues `records` complete records (bytes ending in a newline). While
    /// writes fail and `maxPendingBytes` is reached they are refused instead
    /// (counted in `recordsDropped`, and the error thrown says so).
    public func write(_ bytes: [UInt8], records: Int = 1) throws(OutputError) {
        if failure != nil && buffer.count + bytes.count > maxPendingBytes {
            do {
                try flush()
            } catch {
                recordsDropped &+= UInt64(records)
                throw OutputError(path: path, reason: "\(error.reason); \(recordsDropped) records dropped so far, "
                                  + "\(buffer.count) bytes kept for retry")
            }
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    public func flush() throws(OutputError) {
        if ownsFD && !buffer.isEmpty { try reopenIfRemoved() }
        var off = 0
        while off < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                let err = errno
                if err == EINTR { continue }
                let reason = String(cString: strerror(err))
                // Keep what was not written, so nothing accepted is lost silently,
                // and keep the file on a record boundary.
                let keep = Self.recordBoundary(buffer, before: off)
                if keep < off && !cutTail(off - keep) {
                    // Could not cut the partial record: its rest follows on retry.
                    buffer.removeFirst(off)
                    bytesWritten &+= UInt64(off)
                } else {
                    buffer.removeFirst(keep)
                    bytesWritten &+= UInt64(keep)
                }
                failure = reason
                throw OutputError(path: path, reason: "write failed: \(reason)")
            }
            off += n
        }
        bytesWritten &+= UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
        failure = nil
    }

    /// Opens the file again by name (creating its directory) when the open
    /// one is no longer at `path`. A failure is held like a failed write.
    private func reopenIfRemoved() throws(OutputError) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
        guard failure != nil || now &- lastRemovalCheck >= removalCheckInterval else { return }
        lastRemovalCheck = now
        var open = stat(), named = stat()
        guard fstat(fd, &open) == 0, open.st_mode & S_IFMT == S_IFREG else { return }
        if stat(path, &named) == 0 && named.st_ino == open.st_ino && named.st_dev == open.st_dev { return }
        let dir = Self.directory(of: path)
        if !dir.isEmpty { Self.makeDirectories(dir) }
        let f = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard f >= 0 else {
            let reason = "removed, and cannot be created again: \(String(cString: strerror(errno)))"
            failure = reason
            throw OutputError(path: path, reason: reason)
        }
        close(fd)
        fd = f
        recreations &+= 1
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// `mkdir -p` with mode 0750 (a log directory readable by the sensor's group).
    static func makeDirectories(_ dir: String) {
        var st = stat()
        if stat(dir, &st) == 0 { return }
        let parent = directory(of: dir)
        if !parent.isEmpty && parent != dir { makeDirectories(parent) }
        _ = mkdir(dir, 0o750)
    }

    /// The end of the last whole record in `b[..<end]` (0 if none).
    static func recordBoundary(_ b: [UInt8], before end: Int) -> Int {
        var i = end
        while i > 0 && b[i - 1] != 0x0A { i -= 1 }
        return i
    }

    /// Cuts the last `count` bytes off a regular file (a record the kernel
    /// took only part of). False when that is not possible.
    private func cutTail(_ count: Int) -> Bool {
        guard ownsFD else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int(st.st_size) >= count else { return false }
        return ftruncate(fd, st.st_size - off_t(count)) == 0
    }

    /// Flushes and fsyncs (regular files only).
    public func sync() throws(OutputError) {
        try flush()
        if ownsFD && fsync(fd) != 0 && errno != EINVAL {
            throw OutputError(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes and reopens the file by name (log rotation: rename, then HUP).
    /// Records that could not be written yet stay queued for the new file.
    public func reopen() throws(OutputError) {
        var flushError: OutputError?
        do { try flush() } catch { flushError = error }
        if ownsFD {
            let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
            guard f >= 0 else { throw OutputError(path: path, reason: "cannot reopen: \(String(cString: strerror(errno)))") }
            close(fd)
            fd = f
        }
        if let flushError { throw flushError }
    }
}
