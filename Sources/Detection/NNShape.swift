/// Input/output dimensions shared by the neural flow classifiers.
///
/// A batch of `count` flows is passed as
/// - `sequences`: `count * seqLen * channels` Floats, row-major `[flow][packet][channel]`
///   (encoded with `SequenceEncoder`; values past a flow's length are ignored),
/// - `lengths`: `count` packet counts in `0...seqLen` (values outside are clamped),
/// - `stats`: `count * statsDim` Floats (empty when `statsDim == 0`),
/// and the models write `count * classes` class probabilities.
public struct NNShape: Sendable, Equatable, Hashable {
    public var seqLen: Int
    public var channels: Int
    public var statsDim: Int
    public var classes: Int

    public init(seqLen: Int = 32, channels: Int = SequenceEncoder.channels, statsDim: Int = 0, classes: Int = 7) {
        self.seqLen = seqLen
        self.channels = channels
        self.statsDim = statsDim
        self.classes = classes
    }

    func encode(into w: inout NNByteWriter) {
        w.int(seqLen); w.int(channels); w.int(statsDim); w.int(classes)
    }

    init(decoding r: inout NNByteReader) throws {
        seqLen = try r.int("shape.seqLen", limit: 4096)
        channels = try r.int("shape.channels", limit: 4096)
        statsDim = try r.int("shape.statsDim", limit: 65536)
        classes = try r.int("shape.classes", limit: 4096)
        guard seqLen > 0, channels > 0, classes > 0 else {
            throw NNFormatError.invalidShape("seqLen, channels and classes must be positive")
        }
    }

    @inline(__always)
    func clampedLength(_ l: Int) -> Int { l < 0 ? 0 : (l > seqLen ? seqLen : l) }
}
