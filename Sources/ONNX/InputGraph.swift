import Detection

/// The inputs every exported classifier graph takes, and the preparation the
/// sensor does before its networks, written as graph nodes so a consumer feeds
/// the raw values the sensor computes:
///
/// - `stats` float32 `[N, D]`: the flow statistics in the bundle's feature
///   order, as the sensor has them (features rounded to float32). In the graph,
///   as `Normaliser.apply` and `EnsembleScorer.prepareStats` do it, in float64:
///   `sign(x)·log(1+|x|)` for the log-scaled columns, `(v − centre) / scale`,
///   NaN → 0, clipped to ±`statClip`, then rounded to float32.
/// - `sequence` float32 `[N, T, 5]`: the first T packets, each (direction ±1,
///   IP length, payload length, inter-arrival seconds, TCP flags byte). In the
///   graph, as `SequenceEncoder.encodePacket` does it, the 12 channels: sign of
///   the direction, `log(1+len)·lenNorm` of both lengths, `min(log(1+µs)·iatNorm,
///   1.5)`, the eight flag bits.
/// - `length` int64 `[N]`: how many of the T packets the flow has; later steps
///   are ignored (zeroed), values outside 0…T are clamped, as the sensor does.
struct PreparedInputs {
    /// Normalised, clipped statistics, float32 `[N, D]`.
    var stats: String
    /// Encoded packets, float32 `[N, T, 12]`, zero at steps ≥ length.
    var sequence: String
    /// Steps < length, bool `[N, T]`.
    var valid: String
    /// The graph input `length`, int64 `[N]`.
    var length: String
}

enum InputGraph {
    static let statsInput = "stats", sequenceInput = "sequence", lengthInput = "length"
    /// The per-packet values of `sequence`, in order.
    static let rawChannels = ["direction", "ip_length", "payload_length", "inter_arrival_s", "tcp_flags"]

    static func build(_ g: inout GraphBuilder, normaliser: Normaliser, statClip: Float, seqLen: Int) -> PreparedInputs {
        let d = normaliser.dim
        let stats = g.input(statsInput, .float, shape: [.symbolic("N"), .fixed(d)],
                            doc: "flow statistics in the sidecar's feature order, unnormalised")
        let sequence = g.input(sequenceInput, .float, shape: [.symbolic("N"), .fixed(seqLen), .fixed(rawChannels.count)],
                               doc: "first packets: direction (+1 client to server, -1 back), IP length, payload length, inter-arrival seconds, TCP flags byte")
        let length = g.input(lengthInput, .int64, shape: [.symbolic("N")],
                             doc: "packets of the flow in sequence (steps at or past it are ignored)")
        let statsNormalised = normalisedStats(&g, stats, normaliser, statClip)
        let (encoded, valid) = encodedSequence(&g, sequence, length, seqLen: seqLen)
        return PreparedInputs(stats: statsNormalised, sequence: encoded, valid: valid, length: length)
    }

    /// `Normaliser.apply` then the ±statClip clip, in float64 as the sensor
    /// computes it, rounded to float32 at the end.
    private static func normalisedStats(_ g: inout GraphBuilder, _ x: String, _ n: Normaliser, _ statClip: Float) -> String {
        let d = n.dim
        let xd = g.node("Cast", [x], "stats_f64", [Attribute.int("to", Onnx_TensorProto.DataType.double.rawValue)])
        var v = xd
        if n.columns.contains(where: \.logScale) {
            let one = g.constant("one_f64", doubles: [1], shape: [])
            let log = g.node("Log", [g.node("Add", [g.node("Abs", [xd], "stats_abs"), one], "stats_abs_plus_1")], "stats_log1p_abs")
            let signed = g.node("Mul", [g.node("Sign", [xd], "stats_sign"), log], "stats_signed_log")
            let mask = g.constant("log_scaled_columns", bools: n.columns.map(\.logScale), shape: [d])
            v = g.node("Where", [mask, signed, xd], "stats_logged")
        }
        let centre = g.constant("stats_centre", doubles: n.columns.map(\.centre), shape: [d])
        let scale = g.constant("stats_scale", doubles: n.columns.map(\.scale), shape: [d])
        let y = g.node("Div", [g.node("Sub", [v, centre], "stats_centred"), scale], "stats_scaled")
        let zero = g.constant("zero_f64", doubles: [0], shape: [])
        let finite = g.node("Where", [g.node("IsNaN", [y], "stats_is_nan"), zero, y], "stats_nan_as_0")
        // The normaliser clamps to ±limit (1e9) and the scorer then to ±statClip.
        let bound = min(Double(statClip), Normaliser.limit)
        let lo = g.constant("stats_clip_min", doubles: [-bound], shape: [])
        let hi = g.constant("stats_clip_max", doubles: [bound], shape: [])
        let clipped = g.node("Clip", [finite, lo, hi], "stats_clipped")
        return g.node("Cast", [clipped], "stats_normalised", [Attribute.int("to", Onnx_TensorProto.DataType.float.rawValue)])
    }

    /// `SequenceEncoder.encode` of the raw packets, zero at steps ≥ length.
    private static func encodedSequence(_ g: inout GraphBuilder, _ s: String, _ length: String, seqLen: Int) -> (sequence: String, valid: String) {
        let parts = g.node("Split", [s], outputs: rawChannels.map { "packet_\($0)" }, [Attribute.int("axis", 2)])
        let zero = g.scalar("zero", 0), one = g.scalar("one", 1)
        // Lengths: log(1 + max(x, 0)) · lenNorm.
        func logLength(_ x: String, _ name: String) -> String {
            let l = g.node("Log", [g.node("Add", [g.node("Max", [x, zero], "\(name)_nonneg"), one], "\(name)_plus_1")], "\(name)_log1p")
            return g.node("Mul", [l, g.scalar("len_norm", SequenceEncoder.lenNorm)], "\(name)_encoded")
        }
        let direction = g.node("Sign", [parts[0]], "direction_encoded")
        let ipLength = logLength(parts[1], "ip_length")
        let payload = logLength(parts[2], "payload_length")
        // Inter-arrival: min(log(1 + max(x, 0)·1e6) · iatNorm, 1.5).
        let micros = g.node("Mul", [g.node("Max", [parts[3], zero], "iat_nonneg"),
                                    g.scalar("iat_us_per_s", SequenceEncoder.iatMicroseconds)], "iat_us")
        let iatLog = g.node("Log", [g.node("Add", [micros, one], "iat_us_plus_1")], "iat_log1p")
        let iat = g.node("Min", [g.node("Mul", [iatLog, g.scalar("iat_norm", SequenceEncoder.iatNorm)], "iat_scaled"),
                                 g.scalar("iat_cap", SequenceEncoder.iatCap)], "iat_encoded")
        // Flag bits FIN…CWR: floor(flags / 2^b) mod 2 of the byte clamped to 0…255.
        let byte = g.node("Floor", [g.node("Clip", [parts[4], zero, g.scalar("flags_max", 255)], "flags_clamped")], "flags_byte")
        let powers = g.constant("flag_bit_values", floats: (0..<8).map { Float(1 << $0) }, shape: [8])
        let shifted = g.node("Floor", [g.node("Div", [byte, powers], "flags_over_bit")], "flags_shifted")
        let bits = g.node("Mod", [shifted, g.scalar("two", 2)], "flag_bits", [Attribute.int("fmod", 1)])
        let encoded = g.node("Concat", [direction, ipLength, payload, iat, bits], "packets_encoded", [Attribute.int("axis", 2)])
        // Steps t < length: positions [1, T] against lengths [N, 1].
        let positions = g.constant("step_index", int64s: (0..<seqLen).map(Int64.init), shape: [1, seqLen])
        let lengthColumn = g.node("Unsqueeze", [length, g.constant("axis_1", int64s: [1], shape: [1])], "length_column")
        let valid = g.node("Less", [positions, lengthColumn], "step_valid")
        let valid3 = g.node("Unsqueeze", [valid, g.constant("axis_2", int64s: [2], shape: [1])], "step_valid_3d")
        let masked = g.node("Where", [valid3, encoded, zero], "sequence_encoded")
        return (masked, valid)
    }
}
