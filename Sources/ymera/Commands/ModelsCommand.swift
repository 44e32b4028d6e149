import ArgumentParser
import YmeraCore

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List the catalog's models with prices, tiers and availability.")

    @OptionGroup var common: CommonOptions
    @Flag(help: "Print as JSON.") var json = false
    @Flag(help: "Include the simulated twins.") var all = false

    struct Row: Encodable {
        var id: String
        var provider: String
        var kind: String
        var name: String
        var contextWindow: Int
        var priceInput: Double?
        var priceOutput: Double?
        var speed: Int
        var quality: Int
        var capabilities: [String]
        var available: Bool
        var availability: String
        var aliases: [String]
    }

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let rows = context.catalog.models.filter { all || $0.provider != "sim" }.map { m -> Row in
            let a = context.availability(of: m)
            return Row(
                id: m.id.rawValue, provider: m.provider, kind: context.catalog.provider(for: m)?.kind.rawValue ?? "?", name: m.displayName,
                contextWindow: m.contextWindow, priceInput: m.pricing?.inputPerMillion, priceOutput: m.pricing?.outputPerMillion,
                speed: m.speedTier, quality: m.qualityTier, capabilities: m.capabilities.sorted().map(\.rawValue),
                available: a.canServe, availability: a.label, aliases: m.aliases)
        }
        if json {
            Output.out(Output.pretty(rows))
            return
        }
        Output.out("\(Output.pad("model", 32)) \(Output.pad("ctx", 8)) \(Output.pad("$/M in/out", 14)) spd q  \(Output.pad("capabilities", 34)) availability")
        for r in rows {
            let price = r.priceInput.map { String(format: "%g/%g", $0, r.priceOutput ?? 0) } ?? "unpriced"
            let ctx = r.contextWindow >= 1_000_000 ? "\(r.contextWindow / 1_000_000)M" : "\(r.contextWindow / 1000)k"
            Output.out("\(Output.pad(r.id, 32)) \(Output.pad(ctx, 8)) \(Output.pad(price, 14)) \(r.speed)   \(r.quality)  \(Output.pad(r.capabilities.joined(separator: ","), 34)) \(r.availability)")
        }
        let (_, serving, note) = context.servable(forceSimulated: false)
        Output.out("\nserving now: \(serving.badge) — \(note)")
        if !all { Output.out("(simulated twins sim/NAME are hidden; --all shows them)") }
    }
}
