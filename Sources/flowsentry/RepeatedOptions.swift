import ArgumentParser
import Foundation

/// ArgumentParser keeps the last value of a single-valued option given twice
/// (`--snaplen 96 --snaplen 1500` runs with 1500, silently). FlowSentry
/// refuses that instead: a single-valued option named twice is a usage
/// error that names it. Options that take several values (`alerts --class`,
/// `--match`, `--captures`) are declared as arrays and are not affected.
///
/// The single-valued options are read from ArgumentParser's own description
/// of the commands (the `--experimental-dump-help` JSON), so an option added
/// later is covered without a list to keep up to date.
enum RepeatedOptions {
    /// One named argument of a command, as ArgumentParser describes it.
    struct Named: Equatable {
        /// Every spelling: `--output`, `-o`.
        var spellings: [String]
        /// Options take a value; flags do not.
        var takesValue: Bool
        /// Arrays (and counted flags) may be given more than once.
        var repeats: Bool
    }

    /// A command's named arguments, and its subcommands by name.
    struct Command {
        var name: String
        var named: [Named]
        var subcommands: [Command]
    }

    /// A problem found: the message, and the path of command names to the
    /// command it belongs to (for its usage line).
    struct Problem: Equatable {
        var message: String
        var commandPath: [String]
    }

    /// The command tree of `root`, from ArgumentParser's JSON description.
    static func tree(of root: ParsableCommand.Type) -> Command? {
        guard let data = root._dumpHelp().data(using: .utf8),
              let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let command = top["command"] as? [String: Any] else { return nil }
        return parse(command)
    }

    private static func parse(_ c: [String: Any]) -> Command {
        var named: [Named] = []
        for a in c["arguments"] as? [[String: Any]] ?? [] {
            guard let kind = a["kind"] as? String, kind != "positional" else { continue }
            let spellings = (a["names"] as? [[String: Any]] ?? []).compactMap { n -> String? in
                guard let name = n["name"] as? String, let k = n["kind"] as? String else { return nil }
                return (k == "short" || k == "longWithSingleDash" ? "-" : "--") + name
            }
            named.append(Named(spellings: spellings, takesValue: kind == "option",
                               repeats: a["isRepeating"] as? Bool ?? false))
        }
        let subs = (c["subcommands"] as? [[String: Any]] ?? []).map(parse)
        return Command(name: c["commandName"] as? String ?? "", named: named, subcommands: subs)
    }

    /// The first single-valued option of the invoked command that `arguments`
    /// (without the program name) give more than once. Flags are left alone:
    /// `--json --json` means what `--json` means.
    static func problem(in arguments: [String], tree root: Command) -> Problem? {
        var command = root
        var path = [root.name]
        var seen: [String: Int] = [:]  // first spelling of each single-valued argument -> count
        var i = 0
        while i < arguments.count {
            let token = arguments[i]
            i += 1
            if token == "--" { break }  // everything after is positional
            if !token.hasPrefix("-") || token == "-" {
                // A positional argument, or the name of a subcommand (before any of the command's own).
                if seen.isEmpty, let sub = command.subcommands.first(where: { $0.name == token }) {
                    command = sub
                    path.append(sub.name)
                }
                continue
            }
            let spelling = token.split(separator: "=", maxSplits: 1).first.map(String.init) ?? token
            guard let arg = command.named.first(where: { $0.spellings.contains(spelling) }) else { continue }
            // The option's value is the next argument unless given as --name=value.
            if arg.takesValue && !token.contains("=") { i += 1 }
            if arg.repeats || !arg.takesValue { continue }
            let key = arg.spellings.first ?? spelling
            seen[key, default: 0] += 1
            if seen[key] == 2 {
                let longest = arg.spellings.max { $0.count < $1.count } ?? spelling
                return Problem(message: "\(longest) given twice; it takes one value", commandPath: path)
            }
        }
        return nil
    }
}
