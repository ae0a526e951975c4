import Decoding

/// The host-context changes a flow-table update makes, collected while its
/// stripe's lock is held and applied in order once it is released
/// (`FlowTable.applyHostEvents`): the host table's locks are never taken
/// inside a stripe's, and a stripe is held only for flow state. Kept in the
/// caller's `FlowSink`, so recording an event neither allocates nor locks.
struct HostEventLog: Sendable {
    enum Event: Sendable {
        /// A flow started: count it at both hosts, then give the flow (in
        /// `slot` of `stripe`, while it is still flow `flowID`) the hosts'
        /// context.
        case flowStarted(client: IPAddress, server: IPAddress, dport: UInt16, ts: Int64, halfOpen: Bool,
                         stripe: Int32, slot: Int32, flowID: UInt64)
        /// A flow counted half-open at `server` was answered, reset or ended.
        case halfOpenClosed(server: IPAddress)
        /// A TCP handshake from `client` failed.
        case handshakeFailed(client: IPAddress, ts: Int64)
    }

    static let capacity = 16
    /// Events one packet's update can make at most: an ended flow's two,
    /// a new flow, and its own half-open count ending.
    static let perUpdate = 4

    private(set) var events = InlineArray<16, Event>(repeating: .halfOpenClosed(server: .zero))
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    /// No room for another ended flow's events: a sweep applies the log before going on.
    var isFull: Bool { count > Self.capacity - Self.perUpdate }

    @inline(__always)
    mutating func append(_ e: Event) {
        precondition(count < Self.capacity, "host event log overflow")
        events[count] = e
        count += 1
    }

    mutating func removeAll() { count = 0 }
}
