import Behaviour
import Features
import Flows
import Foundation
import Sensor
import Testing

/// The behaviour features the models read are the ones the sensor computes:
/// the one-thread replay that train, evaluate and features use sets the same
/// `beh_*` values on every record as the record writer's stage does in
/// replay and live (no skew between training and scoring).
@Suite struct BehaviourFeaturesTests {
    static let capture = Repo.root.appendingPathComponent("captures/mixed-3.pcap").path
    static let behaviourFeatures: [Feature] = [.beh_repetition, .beh_beaconing, .beh_scanning, .beh_dns_tunnel]

    @Test func trainingAndSensorSeeTheSameBehaviourFeatures() throws {
        var training: [[Double]] = []
        ReplayPipeline(config: .init()).run(files: [Self.capture]) { r, _ in
            training.append(Self.behaviourFeatures.map { r.features[$0] })
        }
        // As the record writer sees them: records without behaviour features, observed a batch at a time.
        var records: [FlowRecord] = []
        ReplayPipeline(config: .init(), behaviour: nil).run(files: [Self.capture]) { r, _ in records.append(r) }
        #expect(records.allSatisfy { r in Self.behaviourFeatures.allSatisfy { r.features[$0] == 0 } })
        let stage = BehaviourStage(config: BehaviourConfig())
        var sensor: [[Double]] = []
        let batch = RecordBatch()
        for start in stride(from: 0, to: records.count, by: RecordBatch.size) {
            batch.removeAll()
            batch.records.append(contentsOf: records[start..<min(records.count, start + RecordBatch.size)])
            stage.observe(batch)
            for (r, v) in zip(batch.records, batch.behaviour) {
                sensor.append(Self.behaviourFeatures.map { r.features[$0] })
                // Each feature is its value in the record's behaviour object.
                if let v { #expect(sensor.last! == [v.repetition, v.beaconing, v.scanning, v.dnsTunnel]) }
            }
        }
        #expect(training == sensor)
        // The capture has brute force and scans: the comparison is not of zeros only.
        #expect(sensor.filter { $0[0] > 0 }.count > 100)
        #expect(sensor.filter { $0[2] >= 1 }.count > 50)
        #expect(sensor.filter { $0[3] > 0 }.count > 100)
    }
}
