/// How much of a flow a flow record carries (`outputs.flow_detail`,
/// `--flow-detail`). Scoring always sees every feature; this is only what is
/// written. docs/flow-records.md gives each level's bytes per record.
public enum FlowDetail: String, Sendable, CaseIterable {
    /// Everything: the EVE flow fields, application layer, verdict, behaviour
    /// values, the feature block and the first-packets sequence.
    case full
    /// As `full` without the first-packets sequence.
    case features
    /// Suricata-sized: the EVE flow fields, application layer and verdict;
    /// no behaviour values, feature block or sequence.
    case summary

    public var writesFeatures: Bool { self != .summary }
    public var writesSequence: Bool { self == .full }
}
