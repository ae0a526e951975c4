import Testing
@testable import Context
@testable import Decoding

@Suite struct HostContextLayoutTests {
    /// The table's memory plan: a host's header and each of its buckets
    /// take two whole cache lines, so prefetching a host touches four lines.
    @Test func headerAndBucketAreTwoCacheLinesEach() {
        #expect(MemoryLayout<HostHeader>.stride == 128)
        #expect(MemoryLayout<HostBucket>.stride == 128)
        #expect(MemoryLayout<HostHeader>.offset(of: \.epochs) == 0)
        #expect(MemoryLayout<HostHeader>.offset(of: \.address)! >= 64)
        #expect(HostContextTable.bytesPerHost == 8 + 128 + HostContextTable.maxBuckets * 128)
    }

    @Test func aNewHeaderHoldsNoBucketAndANewBucketCountsNothing() {
        let h = HostHeader(address: IPAddress(v4: 192, 0, 2, 7))
        for k in 0..<HostContextTable.maxBuckets { #expect(h.epochs[k] == HostHeader.unusedEpoch) }
        #expect(h.halfOpen == 0 && h.address == IPAddress(v4: 192, 0, 2, 7))
        let b = HostBucket()
        #expect(b.flowsAsSource == 0 && b.failedHandshakes == 0 && b.flowsAsDestination == 0)
        #expect(b.destinations.estimate == 0 && b.destinationPorts.estimate == 0 && b.sources.estimate == 0)
    }
}
