// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "FlowSentry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flowsentry", targets: ["flowsentry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Thin system-library shims: the only places C headers enter.
        .systemLibrary(name: "CPcap", path: "Sources/CPcap", pkgConfig: "libpcap",
                       providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibSVM", path: "Sources/CLibSVM",
                       providers: [.apt(["libsvm-dev"])]),
        // Cache prefetch hints (a header of compiler builtins, no library).
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        .systemLibrary(name: "CSHA1", path: "Sources/CSHA1"),

        // The packet's path.
        .target(name: "Capture", dependencies: ["CPcap", "Decoding"]),
        .target(name: "Decoding"),
        // The lock for shared state: Synchronization.Mutex, or pthread under -DFLOWSENTRY_TSAN.
        .target(name: "Locking"),
        // What is known about hosts across their flows (host context today).
        .target(name: "Context", dependencies: ["Decoding", "Locking", "CPrefetch"]),
        // Behaviour across flows: pair series and per-client scan state, scored at each flow's end.
        .target(name: "Behaviour", dependencies: ["Decoding", "AppLayer", "CPrefetch", "Locking"]),
        // Application-layer parsing of a conversation's first bytes (DNS, TLS, HTTP, SSH, QUIC Initials).
        .target(name: "AppLayer", dependencies: ["Decoding", .product(name: "Crypto", package: "swift-crypto"),
                                                 .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .target(name: "Features", dependencies: ["Decoding", "Context", "AppLayer"]),
        .target(name: "Flows", dependencies: ["Decoding", "Context", "Features", "AppLayer", "Locking", "CPrefetch", "CSHA1"]),
        .target(name: "Detection", dependencies: ["Features", "COpenBLAS", "CLibSVM"]),
        // Indicators (Zeek Intel files): addresses, names, URLs and fingerprints matched on every flow record.
        .target(name: "Indicators", dependencies: ["Decoding", "AppLayer", "Flows"]),
        // The float classifiers as ONNX graphs (export-onnx): generated ONNX messages and the graph builders.
        .target(name: "ONNX", dependencies: ["Detection", "Features", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["README.md", "onnx.proto", "regenerate.sh"]),
        .target(name: "Training", dependencies: ["Detection", "Features", "COpenBLAS", "CLibSVM"]),
        // Problem-space perturbations of labelled captures (evaluate --perturb, train --adversarial).
        .target(name: "Perturbation", dependencies: ["Capture", "Decoding", "Flows", "Sensor", "Training"]),
        .target(name: "Alerts", dependencies: [
            "Decoding", "Flows", "Features", "Detection", "Behaviour", "AppLayer", "Indicators", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Sensor", dependencies: [
            "Capture", "Decoding", "Flows", "Features", "Detection", "Alerts", "Locking", "Behaviour", "Indicators",
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "flowsentry", dependencies: [
            "Sensor", "Training", "Behaviour", "Capture", "Flows", "Features", "Alerts", "Detection", "Indicators",
            "Perturbation", "ONNX",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // Benchmarks: packet rates against a bare libpcap read loop, and
        // allocations counted by the malloc interposer (LD_PRELOADed). The
        // measurements live in BenchSupport, outside the modules flowsentry links.
        .target(name: "BenchSupport", dependencies: [
            "CPcap", "Capture", "Decoding", "Flows", "Alerts", "Detection", "Training", "Sensor", "ModelFixtures", "Indicators",
        ]),
        .executableTarget(name: "flowsentry-bench", dependencies: [
            "BenchSupport", "Sensor", "Flows", "Detection",
            .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test support: fixtures for the model tests (synthetic labelled flows,
        // small trained networks; also the input of the NN benchmark), and the
        // network-namespace lab the live capture and sensor tests share.
        .target(name: "ModelFixtures", dependencies: ["Detection", "Training"], path: "Tests/ModelFixtures"),
        .target(name: "NetnsTestSupport", path: "Tests/NetnsTestSupport"),

        .testTarget(name: "DecodingTests", dependencies: ["Decoding"]),
        .testTarget(name: "BehaviourTests", dependencies: ["Behaviour", "Decoding", "AppLayer"]),
        // swift-crypto: the tests seal the QUIC Initial packets the parser opens.
        .testTarget(name: "AppLayerTests", dependencies: ["AppLayer", "Decoding",
                                                          .product(name: "Crypto", package: "swift-crypto"),
                                                          .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .testTarget(name: "ContextTests", dependencies: ["Context", "Decoding"]),
        .testTarget(name: "FeaturesTests", dependencies: ["Features", "Context", "Decoding"]),
        // swift-crypto: the independent SHA-1 that Community ID's own is checked against.
        .testTarget(name: "FlowsTests", dependencies: ["Flows", "Context", "Features", "Decoding",
                                                       .product(name: "Crypto", package: "swift-crypto")],
                    resources: [.copy("Data")]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Decoding", "NetnsTestSupport"]),
        .testTarget(name: "IndicatorsTests", dependencies: ["Indicators", "Flows", "AppLayer", "Decoding"]),
        .testTarget(name: "AlertsTests", dependencies: ["Alerts", "Flows", "Features", "Decoding", "Behaviour", "AppLayer", "Indicators"]),
        .testTarget(name: "SensorTests", dependencies: ["Sensor", "Capture", "Decoding", "Flows", "Alerts", "Features",
                                                        "Detection", "Locking", "NetnsTestSupport", "Indicators"],
                    resources: [.copy("Golden")]),
        // Training fits the models some Detection tests score (fixtures); the
        // tests of Training itself are in TrainingTests.
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "Training", "Features", "ModelFixtures"],
                    resources: [.copy("Data")]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "Detection", "Features", "ModelFixtures",
                                                      .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "PerturbationTests", dependencies: ["Perturbation", "Capture", "Decoding"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Detection", "Features", "ModelFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// Release builds leave out the run-time exclusivity checks (debug builds,
// which the test suite and the sanitizer runs use, keep them): on the record
// path they were about 6 % of all instructions (a thread-local access set
// updated on every access to captured or class-held state).
for t in package.targets where t.type != .system {
    t.swiftSettings = (t.swiftSettings ?? []) + [
        .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
    ]
}
