import CPcap

/// Compiles a BPF filter without capturing, to find a bad filter before the
/// sensor starts (`check-config`). Compiled for Ethernet, a span port's
/// link type; primitives that need another link type fail here too.
package enum BPFCheck {
    /// nil when `filter` compiles, else libpcap's reason.
    package static func problem(in filter: String) -> String? {
        guard let dead = pcap_open_dead(1 /* DLT_EN10MB */, 65535) else { return "libpcap could not open a compile handle" }
        defer { pcap_close(dead) }
        var prog = bpf_program()
        guard pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            return String(cString: pcap_geterr(dead))
        }
        pcap_freecode(&prog)
        return nil
    }
}
