// libFuzzer target: the Redis reply parser over arbitrary bytes. Built by
// scripts/fuzz.sh with -sanitize=fuzzer,address from Sources/Sensor/Outputs/RESP.swift alone.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch RESP.parse(bytes) {
    case .reply(_, let end): precondition(end > 0 && end <= size, "a reply ends within the input")
    case .incomplete, .invalid: break
    }
    return 0
}
