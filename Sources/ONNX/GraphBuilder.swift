import Foundation
import SwiftProtobuf

/// Builds one ONNX graph: constants (stored as initializers), nodes of the
/// standard operator set, and the graph's typed inputs and outputs. Tensor
/// names are the caller's, made unique by a numeric suffix when reused, so a
/// graph read in Netron says what each value is.
struct GraphBuilder {
    /// The operator set every exported graph is written for.
    static let opsetVersion: Int64 = 17
    /// The ONNX IR version that goes with opset 17 (onnx 1.12).
    static let irVersion: Int64 = 8

    private(set) var graph = Onnx_GraphProto()
    private var used: Set<String> = []

    init(name: String) {
        graph.name = name
    }

    /// `base` if unused so far, else `base_2`, `base_3`, …
    private mutating func unique(_ base: String) -> String {
        var name = base, n = 1
        while used.contains(name) { n += 1; name = "\(base)_\(n)" }
        used.insert(name)
        return name
    }

    // MARK: Inputs and outputs

    /// A graph input; a dimension is a fixed size or a symbolic name (the batch).
    mutating func input(_ name: String, _ type: Onnx_TensorProto.DataType, shape: [Dimension], doc: String) -> String {
        let n = unique(name)
        graph.input.append(Self.valueInfo(n, type, shape: shape, doc: doc))
        return n
    }

    /// Makes `value` a graph output named `name` (through Identity when the
    /// value already has another name).
    mutating func output(_ value: String, as name: String, _ type: Onnx_TensorProto.DataType,
                         shape: [Dimension], doc: String) {
        let n = unique(name)
        var node = Onnx_NodeProto()
        node.opType = "Identity"; node.name = n; node.input = [value]; node.output = [n]
        graph.node.append(node)
        graph.output.append(Self.valueInfo(n, type, shape: shape, doc: doc))
    }

    enum Dimension {
        case fixed(Int)
        case symbolic(String)
    }

    static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, shape: [Dimension],
                          doc: String) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.docString = doc
        var t = Onnx_TypeProto.Tensor()
        t.elemType = Int32(type.rawValue)
        var s = Onnx_TensorShapeProto()
        s.dim = shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case let .fixed(n): dim.dimValue = Int64(n)
            case let .symbolic(p): dim.dimParam = p
            }
            return dim
        }
        t.shape = s
        v.type.tensorType = t
        return v
    }

    // MARK: Constants

    mutating func constant(_ name: String, floats: [Float], shape: [Int]) -> String {
        precondition(floats.count == shape.reduce(1, *), "\(name): \(floats.count) values for shape \(shape)")
        var bytes = Data(capacity: 4 * floats.count)
        for v in floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return initializer(name, .float, shape: shape, raw: bytes)
    }

    mutating func constant(_ name: String, doubles: [Double], shape: [Int]) -> String {
        precondition(doubles.count == shape.reduce(1, *), "\(name): \(doubles.count) values for shape \(shape)")
        var bytes = Data(capacity: 8 * doubles.count)
        for v in doubles { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return initializer(name, .double, shape: shape, raw: bytes)
    }

    mutating func constant(_ name: String, int64s: [Int64], shape: [Int]) -> String {
        precondition(int64s.count == shape.reduce(1, *), "\(name): \(int64s.count) values for shape \(shape)")
        var bytes = Data(capacity: 8 * int64s.count)
        for v in int64s { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        return initializer(name, .int64, shape: shape, raw: bytes)
    }

    mutating func constant(_ name: String, bools: [Bool], shape: [Int]) -> String {
        precondition(bools.count == shape.reduce(1, *), "\(name): \(bools.count) values for shape \(shape)")
        return initializer(name, .bool, shape: shape, raw: Data(bools.map { $0 ? 1 : 0 }))
    }

    /// A float scalar (shape []).
    mutating func scalar(_ name: String, _ v: Float) -> String { constant(name, floats: [v], shape: []) }

    private mutating func initializer(_ name: String, _ type: Onnx_TensorProto.DataType, shape: [Int], raw: Data) -> String {
        let n = unique(name)
        var t = Onnx_TensorProto()
        t.name = n
        t.dataType = Int32(type.rawValue)
        t.dims = shape.map(Int64.init)
        t.rawData = raw
        graph.initializer.append(t)
        return n
    }

    // MARK: Nodes

    /// Appends a node of the default (ai.onnx) domain with one output named
    /// after `output` and returns that output's name.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ output: String,
                       _ attributes: [Onnx_AttributeProto] = []) -> String {
        node(op, inputs, outputs: [output], attributes)[0]
    }

    /// A node with several outputs (an empty name leaves that output unused).
    mutating func node(_ op: String, _ inputs: [String], outputs: [String],
                       _ attributes: [Onnx_AttributeProto] = []) -> [String] {
        let outs = outputs.map { $0.isEmpty ? "" : unique($0) }
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = outs.first { !$0.isEmpty } ?? op
        n.input = inputs
        n.output = outs
        n.attribute = attributes
        graph.node.append(n)
        return outs
    }
}

/// Node attributes.
enum Attribute {
    static func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }

    static func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map(Int64.init); return a
    }

    static func float(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = v; return a
    }

    static func string(_ name: String, _ v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
}
