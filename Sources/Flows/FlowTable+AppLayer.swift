import AppLayer
import Decoding
import Features

extension FlowTable {
    /// A copy of the stream prefixes of the flow in `slot` (nil when it has
    /// none), for the parsers to read after the record leaves the table
    /// (`FlowRecord.resolveAppLayer`). Called as the flow's record is
    /// written, under its stripe's lock: the prefix is reused once the flow ends.
    func appCapture(_ st: borrowing StripeState, _ slot: UnsafeMutablePointer<FlowSlot>) -> AppStreamCapture? {
        let handle = slot.pointee.acc.streams
        guard handle >= 0 else { return nil }
        let key = slot.pointee.key
        let clientIsA = slot.pointee.clientIsA
        return st.streams.withStream(handle, direction: 0) { clientBytes, c in
            st.streams.withStream(handle, direction: 1) { serverBytes, s in
                st.streams.withQUICInitials(handle) { initials, ends in
                    AppStreamCapture(client: clientBytes, server: serverBytes, transport: key.proto,
                                     clientPort: clientIsA ? key.portA : key.portB,
                                     serverPort: clientIsA ? key.portB : key.portA,
                                     clientStats: Self.stats(c), serverStats: Self.stats(s),
                                     quicInitials: initials, quicDatagrams: ends)
                }
            }
        }
    }

    static func stats(_ d: StreamPrefixState.Direction) -> AppStreamStats {
        var s = AppStreamStats()
        s.bytes = Int(d.contiguous)
        s.truncated = d.truncated
        s.midstream = d.midstream
        s.outOfOrder = d.outOfOrder
        s.overlaps = d.overlaps
        s.dropped = d.dropped + (d.hasHole ? 1 : 0)
        s.gaps = d.gaps
        return s
    }
}
