import Testing
import Training

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float vs int8 throughput; prints numbers only (run in release with FLOWSENTRY_BENCH=1:
/// `FLOWSENTRY_BENCH=1 swift test -c release --filter NNBenchTests`).
@Suite struct NNBenchTests {
    @Test(.enabled(if: getenv("FLOWSENTRY_BENCH") != nil)) func throughput() {
        for r in NNBench.run() { print("NNBench \(r)") }
    }
}
