import ArgumentParser
import YmeraConfig
import YmeraCore

/// `--gate`, `--gate-timeout` and `--gate-timeout-action`: which phases of a run wait for a person's
/// decision when they finish (over `[defaults] gates`, `gate_timeout`, `gate_timeout_action`).
struct GateOptions: ParsableArguments {
    @Option(name: .customLong("gate"), help: ArgumentHelp(
        "Phases that wait for your decision when they finish, comma-separated (e.g. review,generation); repeatable. Over [defaults] gates.",
        valueName: "PHASES"))
    var gate: [String] = []

    @Option(name: .customLong("gate-timeout"), help: ArgumentHelp(
        "How long a gate waits for a decision (90s, 30m, 2h); then --gate-timeout-action. Default: no limit.", valueName: "TIME"))
    var gateTimeout: String?

    @Option(name: .customLong("gate-timeout-action"), help: ArgumentHelp(
        "What a gate does when its time limit passes: approve (the output is kept) or fail (the run fails). Default: fail.",
        valueName: "ACTION"))
    var gateTimeoutAction: String?

    var names: [String] { gate.flatMap { $0.split(separator: ",").map(String.init) } }

    func validate() throws {
        do { _ = try GatePolicy.validate(names) } catch { throw ValidationError("--gate: \(error)") }
        if let gateTimeout, GatePolicy.parseDuration(gateTimeout) == nil {
            throw ValidationError("--gate-timeout '\(gateTimeout)' is not a time limit; write e.g. 90s, 30m or 2h")
        }
        if let gateTimeoutAction, GatePolicy.TimeoutAction(rawValue: gateTimeoutAction) == nil {
            throw ValidationError("--gate-timeout-action '\(gateTimeoutAction)' is not an action; use approve or fail")
        }
    }

    /// The run's gates: the command line over the config's defaults; nil when no phase is gated.
    func policy(defaults: RunDefaults) throws -> GatePolicy? {
        let given = try GatePolicy.validate(names)
        let phases = given.isEmpty ? (defaults.gates ?? []) : given
        guard !phases.isEmpty else { return nil }
        return GatePolicy(
            phases: phases, timeoutMs: gateTimeout.flatMap(GatePolicy.parseDuration) ?? defaults.gateTimeoutMs,
            onTimeout: gateTimeoutAction.flatMap(GatePolicy.TimeoutAction.init(rawValue:)) ?? defaults.gateTimeoutAction ?? .fail)
    }

    /// One line for the plan's description.
    static func describe(_ p: GatePolicy?) -> String? {
        guard let p else { return nil }
        let limit = p.timeoutMs.map { ", each waits \(GatePolicy.durationText($0)) then \(p.onTimeout == .approve ? "approves" : "fails the run")" } ?? ""
        return "gates: \(p.phases.joined(separator: ", ")) (the run waits for your decision after each\(limit))"
    }
}
