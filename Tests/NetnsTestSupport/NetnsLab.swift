import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway network namespace joined to the root namespace by a veth
/// pair, for the live capture and sensor tests. The root-side end (`hostIf`)
/// has no address and no IPv6, so nothing reaches the root namespace's IP
/// stack: the namespace sends frames to made-up MACs (PACKET_OTHERHOST on
/// `hostIf`) and only packet sockets see them. Addresses exist only inside
/// the namespace, from 198.18.0.0/15.
///
/// Every lab is made by the test that uses it and deleted by it
/// (`destroy()`, also run first, in case a killed run left one behind).
package struct NetnsLab: Sendable {
    package static let ip: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    package static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    package static let available = geteuid() == 0 && ip != nil && python != nil
    /// Why the live tests are skipped where `available` is false.
    package static let skipReason = "needs root, the ip command and python3 (creates a network namespace and a veth pair)"
    /// A made-up unicast MAC the namespace sends to: no host owns it.
    package static let fakeMAC = "02:00:5e:10:00:01"

    package let ns: String
    package let hostIf: String
    package let nsIf: String
    /// The namespace end's address (x.x.x.2).
    package let nsAddr: String
    /// A made-up address on the same /24 (x.x.x.1).
    package let peerAddr: String
    /// Whether `peerAddr` has a permanent neighbour entry (`fakeMAC`), so the
    /// namespace's own IP stack can send to it without ARP.
    package let neighbour: Bool

    /// `prefix` (three letters) keeps each test target's labs apart: the test
    /// targets run in one process, their suites in parallel. `tag` (0…25)
    /// keeps names unique within a target; `subnet` is the third octet of
    /// the lab's 198.18.x.0/24.
    package init(prefix: String, tag: Int, subnet: Int, neighbour: Bool) throws {
        precondition((0...25).contains(tag) && (0...255).contains(subnet) && prefix.count <= 3)
        let pid = getpid()
        let letter = String(UnicodeScalar(UInt8(97 + tag)))
        ns = "\(prefix)test\(pid)\(letter)"
        hostIf = "\(prefix)\(pid)\(letter)h"
        nsIf = "\(prefix)\(pid)\(letter)n"
        nsAddr = "198.18.\(subnet).2"
        peerAddr = "198.18.\(subnet).1"
        self.neighbour = neighbour
        destroy()
        do {
            try Self.run(["netns", "add", ns])
            try Self.run(["-n", ns, "link", "set", "lo", "up"])
            try addLink()
        } catch {
            destroy()
            throw error
        }
    }

    /// Creates the veth pair and configures both ends (again, after a test
    /// deleted it).
    package func addLink() throws {
        try Self.run(["link", "add", hostIf, "type", "veth", "peer", "name", nsIf])
        try Self.run(["link", "set", nsIf, "netns", ns])
        _ = try? Self.sysctl("net.ipv6.conf.\(hostIf).disable_ipv6=1")
        try Self.run(["link", "set", hostIf, "up"])
        try Self.run(["-n", ns, "addr", "add", "\(nsAddr)/24", "dev", nsIf])
        try Self.run(["-n", ns, "link", "set", nsIf, "up"])
        if neighbour {
            try Self.run(["-n", ns, "neigh", "replace", peerAddr, "lladdr", Self.fakeMAC, "nud", "permanent", "dev", nsIf])
        }
    }

    /// Deletes the veth (either end takes the pair along) and the namespace.
    package func destroy() {
        _ = try? Self.run(["link", "del", hostIf])
        _ = try? Self.run(["netns", "del", ns])
    }

    package struct CommandFailed: Error, CustomStringConvertible {
        package let command: String
        package let status: Int32
        package let output: String
        package init(command: String, status: Int32, output: String) {
            self.command = command; self.status = status; self.output = output
        }
        package var description: String { "'\(command)' exited \(status): \(output)" }
    }

    /// `ip ARGS`.
    @discardableResult
    package static func run(_ args: [String]) throws -> String {
        try exec(ip!, args)
    }

    package static func sysctl(_ setting: String) throws {
        try exec("/sbin/sysctl", ["-q", "-w", setting])
    }

    /// Runs a command with a time limit (the process is terminated at the
    /// limit); returns its output, or throws `CommandFailed` on a non-zero exit.
    @discardableResult
    package static func exec(_ path: String, _ args: [String], timeout: Double = 10) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if p.terminationStatus != 0 {
            throw CommandFailed(command: ([path] + args).joined(separator: " "), status: p.terminationStatus, output: out)
        }
        return out
    }

    /// Runs `path ARGS` inside the namespace, bounded by `timeout`.
    @discardableResult
    package func exec(_ path: String, _ args: [String], timeout: Double = 10) throws -> String {
        try Self.exec(Self.ip!, ["netns", "exec", ns, path] + args, timeout: timeout)
    }

    /// Runs a Python script inside the namespace, bounded by `timeout`.
    @discardableResult
    package func python(_ script: String, _ args: [String], timeout: Double = 10) throws -> String {
        try exec(Self.python!, ["-c", script] + args, timeout: timeout)
    }

    /// Starts `path ARGS` inside the namespace in the background (output
    /// discarded); the caller waits for it, or terminates it.
    package func start(_ path: String, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.ip!)
        p.arguments = ["netns", "exec", ns, path] + args
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }
}
