import CSHA1

/// SHA-1 (FIPS 180-4) of a message of at most 55 bytes: one padded 64-byte
/// block, no allocation. Community ID hashes at most 40 bytes per flow
/// record; swift-crypto's `Insecure.SHA1` made two heap allocations for
/// each (its digest context is a class), on every record written. Checked
/// against swift-crypto on random inputs of every length and against the
/// Community ID spec's baseline values.
/// On a CPU with the SHA extensions the block goes through them
/// (`CSHA1`, about a tenth of the instructions); both paths are checked.
enum SHA1Block {
    static let maxMessage = 55

    /// The CPU has the SHA extensions (and SSSE3, SSE4.1): checked once.
    static let hasExtensions = fs_sha1_ni_available() != 0

    /// The 20-byte digest of `message` (count ≤ `maxMessage`) into `out`.
    @inline(__always)
    static func hash(_ message: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        if hasExtensions { hashWithExtensions(message, into: out) } else { hashPortable(message, into: out) }
    }

    /// `hash` with the SHA extensions (only when `hasExtensions`).
    static func hashWithExtensions(_ message: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        precondition(message.count <= maxMessage && hasExtensions)
        // The padded block (16 words), then the state (5).
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 21) { buf in
            let words = buf.baseAddress.unsafelyUnwrapped
            let block = UnsafeMutableRawPointer(words)
            block.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
            let n = message.count
            if n > 0 { block.copyMemory(from: message.baseAddress.unsafelyUnwrapped, byteCount: n) }
            block.storeBytes(of: 0x80, toByteOffset: n, as: UInt8.self)
            // The bit length, big-endian in the last 8 bytes (at most 440: two bytes).
            block.storeBytes(of: UInt8(truncatingIfNeeded: (n * 8) >> 8), toByteOffset: 62, as: UInt8.self)
            block.storeBytes(of: UInt8(truncatingIfNeeded: n * 8), toByteOffset: 63, as: UInt8.self)
            let state = words + 16
            state[0] = 0x6745_2301; state[1] = 0xEFCD_AB89; state[2] = 0x98BA_DCFE
            state[3] = 0x1032_5476; state[4] = 0xC3D2_E1F0
            fs_sha1_block_ni(state, block.assumingMemoryBound(to: UInt8.self))
            for i in 0..<5 {
                let v = state[i]
                out[4 * i] = UInt8(truncatingIfNeeded: v >> 24); out[4 * i + 1] = UInt8(truncatingIfNeeded: v >> 16)
                out[4 * i + 2] = UInt8(truncatingIfNeeded: v >> 8); out[4 * i + 3] = UInt8(truncatingIfNeeded: v)
            }
        }
    }

    /// `hash` in plain Swift.
    static func hashPortable(_ message: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) {
        precondition(message.count <= maxMessage)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { wbuf in
            let w = wbuf.baseAddress.unsafelyUnwrapped
            // The padded block: message, 0x80, zeros, bit length (big-endian words).
            let block = UnsafeMutableRawPointer(w)
            block.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
            let n = message.count
            if n > 0 { block.copyMemory(from: message.baseAddress.unsafelyUnwrapped, byteCount: n) }
            block.storeBytes(of: 0x80, toByteOffset: n, as: UInt8.self)
            for i in 0..<15 { w[i] = UInt32(bigEndian: w[i]) }
            w[15] = UInt32(n * 8)
            for t in 16..<80 {
                let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
                w[t] = x << 1 | x >> 31
            }
            var a: UInt32 = 0x6745_2301, b: UInt32 = 0xEFCD_AB89, c: UInt32 = 0x98BA_DCFE
            var d: UInt32 = 0x1032_5476, e: UInt32 = 0xC3D2_E1F0
            @inline(__always) func round(_ f: UInt32, _ k: UInt32, _ wt: UInt32) {
                let tmp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ wt
                e = d; d = c; c = b << 30 | b >> 2; b = a; a = tmp
            }
            for t in 0..<20 { round((b & c) | (~b & d), 0x5A82_7999, w[t]) }
            for t in 20..<40 { round(b ^ c ^ d, 0x6ED9_EBA1, w[t]) }
            for t in 40..<60 { round((b & c) | (b & d) | (c & d), 0x8F1B_BCDC, w[t]) }
            for t in 60..<80 { round(b ^ c ^ d, 0xCA62_C1D6, w[t]) }
            let h = (0x6745_2301 &+ a, 0xEFCD_AB89 &+ b, 0x98BA_DCFE &+ c, 0x1032_5476 &+ d, 0xC3D2_E1F0 &+ e)
            func put(_ v: UInt32, _ at: Int) {
                out[at] = UInt8(truncatingIfNeeded: v >> 24); out[at + 1] = UInt8(truncatingIfNeeded: v >> 16)
                out[at + 2] = UInt8(truncatingIfNeeded: v >> 8); out[at + 3] = UInt8(truncatingIfNeeded: v)
            }
            put(h.0, 0); put(h.1, 4); put(h.2, 8); put(h.3, 12); put(h.4, 16)
        }
    }
}
