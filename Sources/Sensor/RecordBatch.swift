import Behaviour
import Flows

/// Ended flow records on their way to the `RecordWriter`, with the capture
/// file each came from (replay; live capture leaves `files` empty). A class:
/// a batch changes hands through a channel and is emptied in place by the
/// writer, so its storage is allocated once, not per hand-off.
package final class RecordBatch: @unchecked Sendable {
    /// Records replay hands to the writer at a time.
    package static let size = 256
    package var records: [FlowRecord] = []
    /// Empty, or one capture file name per record.
    package var files: [String] = []
    /// Filled by `BehaviourStage.observe(_:)` (replay: on the reading thread
    /// before the batch is handed over; live: by the writer): one value per
    /// record (nil for a long flow's later segments), and example flows of
    /// the series for the records whose behaviour may raise a verdict.
    package var behaviour: [BehaviourValues?] = []
    package var examples: [Int: [(flowID: UInt64, communityID: String)]] = [:]
    /// The writer flushes its outputs after this batch (`replay --watch`
    /// before it waits for the next capture).
    package var flushAfter = false

    package init(reserve: Int = RecordBatch.size) {
        records.reserveCapacity(reserve)
        files.reserveCapacity(reserve)
    }

    package var isEmpty: Bool { records.isEmpty }
    package var count: Int { records.count }

    /// Empties the batch, keeping its storage.
    package func removeAll() {
        records.removeAll(keepingCapacity: true)
        files.removeAll(keepingCapacity: true)
        behaviour.removeAll(keepingCapacity: true)
        examples.removeAll(keepingCapacity: true)
        flushAfter = false
    }
}
