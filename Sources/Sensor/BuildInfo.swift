/// What this build is: FlowSentry's version (`flowsentry --version`, the
/// package's version) and the compiler, and `flowsentry_build_info` (1, with
/// them as labels).
package enum BuildInfo {
    /// The FlowSentry release this source tree is.
    package static let version = "0.22.0"
    /// The Swift compiler that built it (major.minor).
    package static let swiftVersion: String = {
        #if compiler(>=6.4)
        return "6.4+"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()

    package static func append(to t: inout PrometheusText) {
        t.family("flowsentry_build_info", .gauge, "FlowSentry build information (always 1; the build as labels).")
        #if arch(x86_64)
        let arch = "x86_64"
        #elseif arch(arm64)
        let arch = "aarch64"
        #else
        let arch = "other"
        #endif
        t.sample("flowsentry_build_info", [("version", version), ("swift", swiftVersion), ("arch", arch)], 1)
    }
}
