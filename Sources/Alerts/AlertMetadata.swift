/// What an alert's `alert.metadata` says, as Suricata writes rule metadata:
/// an object of string arrays. FlowSentry writes which detector raised the
/// alert, the class, the model version and, for the attack classes, the
/// MITRE ATT&CK tactic and technique the class stands for (the keys the
/// Emerging Threats rules use, so dashboards built for them work as they are).
public struct AlertMetadata: Sendable {
    public var detector: StaticString
    public var className: String
    public var modelVersion: String

    public init(detector: StaticString, className: String, modelVersion: String) {
        self.detector = detector; self.className = className; self.modelVersion = modelVersion
    }

    /// ATT&CK (enterprise) for each class: tactic id and name, technique id and name.
    static func attack(_ className: String) -> (tacticID: StaticString, tactic: StaticString,
                                                 techniqueID: StaticString, technique: StaticString)? {
        switch className {
        case "scan": ("TA0007", "Discovery", "T1046", "Network_Service_Discovery")
        case "dos": ("TA0040", "Impact", "T1498", "Network_Denial_of_Service")
        case "bruteforce": ("TA0006", "Credential_Access", "T1110", "Brute_Force")
        case "c2": ("TA0011", "Command_And_Control", "T1071", "Application_Layer_Protocol")
        case "tunnel": ("TA0011", "Command_And_Control", "T1572", "Protocol_Tunneling")
        case "webattack": ("TA0001", "Initial_Access", "T1190", "Exploit_Public_Facing_Application")
        default: nil
        }
    }

    /// Writes the members of the open `alert.metadata` object.
    func write(into j: inout JSONBuffer) {
        j.key("detector"); j.beginArray(); j.string(detector); j.endArray()
        j.key("class"); j.beginArray(); j.string(className); j.endArray()
        if !modelVersion.isEmpty { j.key("model_version"); j.beginArray(); j.string(modelVersion); j.endArray() }
        if let a = Self.attack(className) {
            j.key("mitre_tactic_id"); j.beginArray(); j.string(a.tacticID); j.endArray()
            j.key("mitre_tactic_name"); j.beginArray(); j.string(a.tactic); j.endArray()
            j.key("mitre_technique_id"); j.beginArray(); j.string(a.techniqueID); j.endArray()
            j.key("mitre_technique_name"); j.beginArray(); j.string(a.technique); j.endArray()
        }
    }
}
