import ArgumentParser

/// The exit codes every subcommand uses; README "Exit codes" and each
/// command's help say the same.
enum ExitStatus {
    /// The work was done, but something failed along the way: a capture that
    /// is missing, not a capture or cut off (the files and flows before it
    /// are still written), records that could not be written, the alert log
    /// unreadable while following, a live capture lost.
    static let failed = ExitCode(1)
    /// Nothing was done: something needed before the first packet is
    /// unusable — the configuration file, the model bundle or policy, an
    /// output file, the alert log, label files, the interface. `check-config`
    /// exits with this when it finds such a problem, as `run` would.
    static let cannotStart = ExitCode(2)
    /// The command line is wrong: an unknown or repeated option, a bad
    /// value, a missing argument (ArgumentParser's EX_USAGE).
    static let usage = ExitCode.validationFailure

    /// The paragraph each command's help ends with.
    static let discussion = """
        Exit status: 0 done; 1 done, but an input or output failed along the way \
        (a capture missing, not a capture or cut off, records not written); 2 nothing \
        done: the configuration, model bundle, policy, an output file, the alert log, \
        label files or the interface cannot be used; 64 the command line is wrong \
        (unknown or repeated option, bad value, missing argument).
        """

    /// `discussion` after a command's own text.
    static func discussion(after text: String) -> String { text + "\n\n" + discussion }
}
