import Foundation
import Testing
@testable import Alerts
#if canImport(Glibc)
import Glibc
#endif

/// One 100-byte record (99 bytes and a newline), numbered.
private func record(_ n: Int) -> [UInt8] {
    let head = Array("{\"n\":\(n),\"pad\":\"".utf8)
    return head + Array(repeating: UInt8(ascii: "x"), count: 99 - head.count - 2) + Array("\"}\n".utf8)
}

/// A tmpfs of `kib` KiB mounted for the test (root only), unmounted at the end.
private final class SmallTmpfs {
    let dir = TempDir()
    let mounted: Bool
    init(kib: Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=\(kib)k,mode=0755", "tmpfs", dir.path]
        p.standardError = FileHandle.nullDevice
        mounted = (try? p.run()) != nil && { p.waitUntilExit(); return p.terminationStatus == 0 }()
    }
    deinit { if mounted { umount2(dir.path, Int32(MNT_DETACH)) } }
    func path(_ n: String) -> String { dir.path + "/" + n }
}

private let canMount = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")

@Suite struct OutputFileTests {
    /// /dev/full refuses every write with ENOSPC: records are held, then
    /// refused past the limit, and every one is accounted for.
    @Test func aFullDeviceHoldsThenDropsAndCountsEveryRecord() throws {
        let f = try OutputFile(path: "/dev/full")
        f.bufferLimit = 1000
        f.maxPendingBytes = 5000
        var errors: [String] = []
        for i in 0..<100 {
            do { try f.write(record(i)) } catch { errors.append(error.description) }
        }
        #expect(f.failure == "No space left on device")
        #expect(errors.first?.hasPrefix("/dev/full: write failed: No space left on device") == true)
        // 5000 bytes of 100-byte records are held; everything later was refused.
        #expect(f.pendingRecords == 50 && f.pendingBytes == 5000)
        #expect(f.recordsDropped == 50)
        #expect(errors.last?.contains("50 records dropped so far, 5000 bytes kept for retry") == true)
        #expect(throws: OutputError.self) { try f.flush() }
        #expect(f.pendingRecords + Int(f.recordsDropped) == 100)
    }

    @Test(.enabled(if: canMount, "needs root and mount (mounts a 64 KiB tmpfs)"))
    func partialRecordsNeverReachTheFileAndWritingResumesWhenSpaceFrees() throws {
        let fs = SmallTmpfs(kib: 64)
        try #require(fs.mounted)
        // Fill all but one 4 KiB page, so a 10 KB flush is taken only in part
        // (4,096 bytes: 40 whole records and 96 bytes of the 41st).
        let filler = fs.path("filler")
        let free0 = try freeBytes(fs.dir.path)
        try Data(count: free0 - 6144).write(to: URL(fileURLWithPath: filler))
        #expect(try freeBytes(fs.dir.path) == 4096)
        let f = try OutputFile(path: fs.path("log.json"))
        f.bufferLimit = 10_000
        var failed = 0
        for i in 0..<300 {
            do { try f.write(record(i)) } catch { failed += 1 }
        }
        #expect(failed > 0 && f.failure == "No space left on device" && f.recordsDropped == 0)
        let onDisk = try String(contentsOfFile: fs.path("log.json"), encoding: .utf8)
        // Only whole records in the file, and they are the first ones, in order.
        #expect(onDisk.isEmpty || onDisk.hasSuffix("\n"))
        let lines = onDisk.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.enumerated().allSatisfy { $0.element == String(decoding: record($0.offset).dropLast(), as: UTF8.self) })
        #expect(lines.count == 40 && lines.count + f.pendingRecords == 300)
        // Space comes back: the held records follow, whole and in order, and later ones too.
        try FileManager.default.removeItem(atPath: filler)
        try f.flush()
        #expect(f.failure == nil && f.pendingRecords == 0)
        for i in 300..<310 { try f.write(record(i)) }
        try f.sync()
        let all = try String(contentsOfFile: fs.path("log.json"), encoding: .utf8).split(separator: "\n")
        #expect(all.count == 310)
        #expect(all.enumerated().allSatisfy { $0.element == String(decoding: record($0.offset).dropLast(), as: UTF8.self) })
    }

    @Test(.enabled(if: canMount, "needs root and mount (mounts a 64 KiB tmpfs)"))
    func rotationWhileTheDiskIsFullMovesHeldRecordsToTheNewFile() throws {
        let fs = SmallTmpfs(kib: 64)
        try #require(fs.mounted)
        let f = try OutputFile(path: fs.path("log.json"))
        f.bufferLimit = 500
        for i in 0..<5 { try f.write(record(i)) }
        try f.flush()
        let filler = fs.path("filler")
        try Data(count: try freeBytes(fs.dir.path)).write(to: URL(fileURLWithPath: filler))
        // The rest of the file's last page takes some records; the others are held.
        for i in 5..<100 { try? f.write(record(i)) }
        let held = f.pendingRecords
        #expect(f.failure != nil && held > 0)
        // logrotate renames, then the sensor reopens (SIGHUP) while writes still fail.
        #expect(rename(fs.path("log.json"), fs.path("log.json.1")) == 0)
        #expect(throws: OutputError.self) { try f.reopen() }
        #expect(FileManager.default.fileExists(atPath: fs.path("log.json")))
        try FileManager.default.removeItem(atPath: filler)
        try f.flush()
        let old = try String(contentsOfFile: fs.path("log.json.1"), encoding: .utf8).split(separator: "\n")
        let new = try String(contentsOfFile: fs.path("log.json"), encoding: .utf8).split(separator: "\n")
        // Every record once, in order: the held ones in the new file.
        #expect(new.count == held && old.count + new.count == 100)
        #expect((old + new).enumerated().allSatisfy { $0.element == String(decoding: record($0.offset).dropLast(), as: UTF8.self) })
    }

    @Test func recordBoundary() {
        let b = Array("ab\ncd\nef".utf8)
        #expect(OutputFile.recordBoundary(b, before: 8) == 6)
        #expect(OutputFile.recordBoundary(b, before: 6) == 6)
        #expect(OutputFile.recordBoundary(b, before: 5) == 3)
        #expect(OutputFile.recordBoundary(b, before: 2) == 0)
    }
}

private func freeBytes(_ path: String) throws -> Int {
    var s = statvfs()
    guard statvfs(path, &s) == 0 else { throw CocoaError(.fileReadUnknown) }
    return Int(s.f_bavail) * Int(s.f_frsize)
}

@Suite struct OutputFileRemovalTests {
    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aRemovedDirectoryIsCreatedAgainAndWritingGoesOn() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("of-removed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let path = base + "/logs/eve/flows.json"
        try FileManager.default.createDirectory(atPath: base + "/logs/eve", withIntermediateDirectories: true)
        let f = try OutputFile(path: path)
        f.removalCheckInterval = 0
        try f.write(Array("{\"n\":1}\n".utf8)); try f.flush()
        try FileManager.default.removeItem(atPath: base + "/logs")
        try f.write(Array("{\"n\":2}\n".utf8)); try f.flush()
        #expect(f.recreations == 1)
        #expect(lines(path) == ["{\"n\":2}"])
        // The file deleted (the directory kept), then replaced by another file: both noticed.
        try FileManager.default.removeItem(atPath: path)
        try f.write(Array("{\"n\":3}\n".utf8)); try f.flush()
        try FileManager.default.moveItem(atPath: path, toPath: path + ".old")
        FileManager.default.createFile(atPath: path, contents: Data("{\"other\":1}\n".utf8))
        try f.write(Array("{\"n\":4}\n".utf8)); try f.flush()
        #expect(f.recreations == 3)
        #expect(lines(path + ".old") == ["{\"n\":3}"] && lines(path) == ["{\"other\":1}", "{\"n\":4}"])
    }

    @Test func whileTheDirectoryCannotBeMadeRecordsAreHeldThenWritten() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("of-blocked-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base + "/logs", withIntermediateDirectories: true)
        let path = base + "/logs/alerts.json"
        let f = try OutputFile(path: path)
        f.removalCheckInterval = 0
        try FileManager.default.removeItem(atPath: base + "/logs")
        // A plain file where the directory was: mkdir and open fail (ENOTDIR), even as root.
        FileManager.default.createFile(atPath: base + "/logs", contents: Data())
        try f.write(Array("{\"n\":1}\n".utf8))
        #expect(throws: OutputError.self) { try f.flush() }
        #expect(f.failure != nil && f.pendingRecords == 1 && f.recordsDropped == 0)
        try FileManager.default.removeItem(atPath: base + "/logs")
        try f.write(Array("{\"n\":2}\n".utf8)); try f.flush()
        #expect(f.failure == nil && f.recreations == 1)
        #expect(lines(path) == ["{\"n\":1}", "{\"n\":2}"])
    }

    @Test func theCheckRunsAtMostOncePerInterval() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("of-interval-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let f = try OutputFile(path: base + "/f.json")
        f.removalCheckInterval = 3_600_000_000_000  // an hour
        try f.write(Array("{}\n".utf8)); try f.flush()  // the first flush checks
        try FileManager.default.removeItem(atPath: base + "/f.json")
        try f.write(Array("{}\n".utf8)); try f.flush()
        #expect(f.recreations == 0 && !FileManager.default.fileExists(atPath: base + "/f.json"))
    }
}
