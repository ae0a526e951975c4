import Decoding

/// The client's CRYPTO stream in the Initial packets put back in order
/// (RFC 9000 §19.6: each CRYPTO frame carries an offset into the stream;
/// clients split the ClientHello over frames and packets, and send them
/// out of order): a buffer of `capacity` bytes from offset 0, with up to
/// `maxRanges` ranges of it filled. Bytes past the capacity are dropped and
/// noted. One value per parsed flow, made when the flow's record is written.
struct QUICCryptoStream {
    /// Longest ClientHello kept: 4 KiB, about three times a classic one and
    /// room for a post-quantum key share (X25519MLKEM768 adds 1,216 bytes).
    static let capacity = 4096
    /// Most separate filled ranges tracked (each CRYPTO frame adds at most one).
    static let maxRanges = 32

    private(set) var bytes = [UInt8](repeating: 0, count: capacity)
    /// Filled ranges, sorted and disjoint: `[start, end)`.
    private(set) var ranges: [(start: Int, end: Int)] = []
    /// CRYPTO data fell past `capacity` or past `maxRanges`.
    private(set) var overflow = false

    /// Bytes filled from offset 0 with no hole.
    var contiguous: Int { ranges.first.map { $0.start == 0 ? $0.end : 0 } ?? 0 }

    /// Stores `data` at stream offset `offset` (bytes already held keep
    /// their first value, as a retransmission carries the same bytes).
    mutating func add(offset: UInt64, _ data: ByteView) {
        guard data.count > 0 else { return }
        guard offset < UInt64(Self.capacity) else { overflow = true; return }
        let start = Int(offset)
        var end = start + data.count
        if end > Self.capacity { overflow = true; end = Self.capacity }
        // Copy only into the holes, so bytes seen first stay.
        var p = start
        for r in ranges where r.end > p && r.start < end {
            if r.start > p { copy(data, from: p - start, to: p, count: r.start - p) }
            p = max(p, r.end)
        }
        if p < end { copy(data, from: p - start, to: p, count: end - p) }
        insert(start, end)
    }

    private mutating func copy(_ data: ByteView, from: Int, to: Int, count: Int) {
        data.withBytes(from: from, length: count) { src in
            for i in 0..<src.count { bytes[to + i] = src[i] }
        }
    }

    /// Merges `[start, end)` into the sorted range list.
    private mutating func insert(_ start: Int, _ end: Int) {
        var s = start, e = end
        var kept: [(start: Int, end: Int)] = []
        kept.reserveCapacity(ranges.count + 1)
        for r in ranges {
            if r.end < s || r.start > e { kept.append(r) } else { s = min(s, r.start); e = max(e, r.end) }
        }
        guard kept.count < Self.maxRanges else { overflow = true; return }
        let at = kept.firstIndex { $0.start > s } ?? kept.count
        kept.insert((s, e), at: at)
        ranges = kept
    }

    /// The bytes of the first handshake message once it is whole: its
    /// 4-byte header says its length (RFC 8446 §4). nil while bytes are missing.
    var firstMessageLength: Int? {
        let c = contiguous
        guard c >= 4 else { return nil }
        let length = 4 + (Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3]))
        return c >= length ? length : nil
    }
}

/// The frames of a decrypted Initial packet (RFC 9000 §12.4, Table 3: an
/// Initial may carry only PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE).
enum QUICFrames {
    /// Walks `payload`, adding each CRYPTO frame's data to `stream`; false
    /// when a frame is cut or of a type an Initial may not carry (the frames
    /// before it still count). Every loop moves forward through the bytes.
    static func walk(_ payload: ByteView, into stream: inout QUICCryptoStream) -> Bool {
        var p = 0
        while p < payload.count {
            guard let type = QUICInitialPacket.varint(payload, &p) else { return false }
            switch type {
            case 0x00, 0x01:  // PADDING, PING: the type byte alone
                continue
            case 0x02, 0x03:  // ACK: largest, delay, range count, first range, ranges, [ECN counts]
                guard QUICInitialPacket.varint(payload, &p) != nil, QUICInitialPacket.varint(payload, &p) != nil,
                      let count = QUICInitialPacket.varint(payload, &p), QUICInitialPacket.varint(payload, &p) != nil,
                      count <= UInt64(payload.count) else { return false }
                for _ in 0..<(2 * Int(count) + (type == 0x03 ? 3 : 0)) {
                    guard QUICInitialPacket.varint(payload, &p) != nil else { return false }
                }
            case 0x06:  // CRYPTO: offset, length, data
                guard let offset = QUICInitialPacket.varint(payload, &p), let length = QUICInitialPacket.varint(payload, &p),
                      length <= UInt64(payload.count), payload.has(p, Int(length)) else { return false }
                payload.withBytes(from: p, length: Int(length)) { stream.add(offset: offset, ByteView($0)) }
                p += Int(length)
            case 0x1C:  // CONNECTION_CLOSE: error code, frame type, reason
                guard QUICInitialPacket.varint(payload, &p) != nil, QUICInitialPacket.varint(payload, &p) != nil,
                      let length = QUICInitialPacket.varint(payload, &p), length <= UInt64(payload.count),
                      payload.has(p, Int(length)) else { return false }
                p += Int(length)
            default:
                return false
            }
        }
        return true
    }
}
