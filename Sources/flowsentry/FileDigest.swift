import Crypto
import Detection
import Foundation

/// SHA-256 of files and byte strings, as lowercase hex (what `sha256sum` prints).
enum FileDigest {
    /// Reads the file in 1 MiB pieces; throws naming the file when it cannot be read.
    static func sha256(path: String) throws -> (hex: String, bytes: Int) {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw DigestError(message: "\(path): cannot open for hashing")
        }
        defer { try? h.close() }
        var hasher = SHA256()
        var total = 0
        while true {
            let chunk: Data
            do { chunk = try h.read(upToCount: 1 << 20) ?? Data() } catch {
                throw DigestError(message: "\(path): cannot read for hashing: \(error)")
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            total += chunk.count
        }
        return (hex(hasher.finalize()), total)
    }

    static func sha256(bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    /// A file as the provenance records it: the path as given, its hash and size.
    static func record(_ path: String) throws -> BundleProvenance.FileRecord {
        let d = try sha256(path: path)
        return BundleProvenance.FileRecord(path: path, sha256: d.hex, bytes: d.bytes)
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    struct DigestError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
