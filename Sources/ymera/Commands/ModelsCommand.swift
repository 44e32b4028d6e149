import ArgumentParser
import Foundation
import YmeraCore
import YmeraProviders

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the catalog's models with prices, tiers, dates and availability.",
        discussion: """
            --refresh asks every provider that has a key (and the local servers) for its model list and keeps the \
            answers in the data directory: catalog models a provider does not list are shown as "not offered" and \
            are not planned onto; models it lists that the catalog lacks are shown and usable with --model \
            provider/name. A provider that does not answer keeps its last list. Never needed to run.
            """)

    @OptionGroup var common: CommonOptions
    @Flag(help: "Print as JSON.") var json = false
    @Flag(help: "Include the simulated twins.") var all = false
    @Flag(help: "Ask the providers for their current model lists first.") var refresh = false
    @Option(name: .customLong("timeout-ms"), help: "Time limit for each provider's list, in milliseconds (with --refresh).")
    var timeoutMs: Int = 5000

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
        var asOf: String?
        var source: String?
        /// false: the provider's list does not name it (or it answered "model not found").
        var offered: Bool
        var inCatalog: Bool
    }

    struct Retired: Encodable {
        var id: String
        var aliases: [String]
        var successor: String
        var status: String
    }

    struct Report: Encodable {
        var models: [Row]
        var retired: [Retired]
        var lists: [ProviderModelList]
    }

    func validate() throws {
        guard (50...120_000).contains(timeoutMs) else { throw ValidationError("--timeout-ms must be between 50 and 120000") }
    }

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        var context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        if refresh {
            let http = HTTPModelClients.makeHTTPClient(
                timeouts: ProviderTimeouts(
                    connect: .milliseconds(timeoutMs), firstByte: .milliseconds(timeoutMs), idle: .milliseconds(timeoutMs),
                    total: .milliseconds(timeoutMs)))
            let fresh = await ModelListFetcher(httpClient: http, environment: context.environment, timeout: .milliseconds(timeoutMs))
                .fetchAll(context.catalog, include: { !$0.isLocal || context.localProviderUp($0) })
            try? await http.shutdown()
            var cache = context.offers
            cache.merge(fresh)
            do { try cache.save(directory: context.dataDirectory) } catch {
                Output.err("warning: the model lists could not be saved in \(context.dataDirectory.path): \(error)")
            }
            for list in fresh where !json {
                let what = list.models.map { "\($0.count) models listed" } ?? "no list (\(Output.clean(list.error ?? "no answer")))"
                Output.err("\(list.provider): \(what)")
            }
            if fresh.isEmpty && !json { Output.err("no provider has a key set and no local server runs: nothing to ask") }
            do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        }
        let notOffered = context.notOffered
        let rows = context.catalog.models.filter { all || $0.provider != "sim" }.map { m -> Row in
            let a = context.availability(of: m)
            return Row(
                id: m.id.rawValue, provider: m.provider, kind: context.catalog.provider(for: m)?.kind.rawValue ?? "?", name: m.displayName,
                contextWindow: m.contextWindow, priceInput: m.pricing?.inputPerMillion, priceOutput: m.pricing?.outputPerMillion,
                speed: m.speedTier, quality: m.qualityTier, capabilities: m.capabilities.sorted().map(\.rawValue),
                available: a.canServe, availability: a.label, aliases: m.aliases, asOf: m.asOf, source: m.source,
                offered: !notOffered.contains(m.id), inCatalog: !context.listedOnly.contains(m.id))
        }
        let retired = context.catalog.retired.map {
            Retired(id: $0.id.rawValue, aliases: $0.aliases, successor: $0.successor.rawValue, status: $0.status)
        }
        if json {
            Output.out(Output.pretty(Report(models: rows, retired: retired, lists: context.offers.lists.values.sorted { $0.provider < $1.provider })))
            return
        }
        Output.out("\(Output.pad("model", 34)) \(Output.pad("ctx", 6)) \(Output.pad("$/M in/out", 12)) spd q  \(Output.pad("as of", 10)) \(Output.pad("capabilities", 30)) availability")
        for r in rows where r.inCatalog {
            Output.out(line(r))
        }
        let listed = rows.filter { !$0.inCatalog }
        if !listed.isEmpty {
            Output.out("\nlisted by their providers but not in the catalog (usable with --model; never planned onto):")
            for r in listed { Output.out(line(r)) }
        }
        if !retired.isEmpty {
            Output.out("\nretired names (they resolve to the successor):")
            for r in retired {
                Output.out("  \(([r.id] + r.aliases).joined(separator: ", ")) → \(r.successor), \(r.status)")
            }
        }
        let lists = context.offers.lists.values.sorted { $0.provider < $1.provider }
        if !lists.isEmpty {
            let when = ISO8601DateFormatter()
            Output.out(
                "\nmodel lists: " + lists.map { l in
                    "\(l.provider) \(when.string(from: l.fetchedAt))" + (l.models == nil ? " (no answer)" : "")
                }.joined(separator: "; "))
        } else {
            Output.out("\nmodel lists: never fetched (`ymera models --refresh` asks the providers with a key)")
        }
        let (_, serving, note) = context.servable(forceSimulated: false)
        Output.out("serving now: \(serving.badge) — \(note)")
        if !all { Output.out("(simulated twins sim/NAME are hidden; --all shows them)") }
    }

    /// Keeps the models a provider answered "model not found" for (real ones; simulated runs are
    /// their own world) as not offered, until the provider's list names them again.
    static func rememberNotFound(_ models: [ModelID], context: AppContext) {
        let real = models.filter { context.catalog.providers[$0.provider]?.kind != .simulated && $0.provider != "sim" }
        guard !real.isEmpty else { return }
        var cache = ModelListCache.load(directory: context.dataDirectory)
        for m in real { cache.markNotFound(m, at: Date()) }
        try? cache.save(directory: context.dataDirectory)
    }

    func line(_ r: Row) -> String {
        let price = r.priceInput.map { String(format: "%g/%g", $0, r.priceOutput ?? 0) } ?? "unpriced"
        let ctx = r.contextWindow >= 1_000_000 ? String(format: "%gM", Double(r.contextWindow / 1000) / 1000) : "\(r.contextWindow / 1000)k"
        let availability = r.offered ? r.availability : "NOT OFFERED by the provider"
        return "\(Output.pad(r.id, 34)) \(Output.pad(ctx, 6)) \(Output.pad(price, 12)) \(r.speed)   \(r.quality)  \(Output.pad(r.asOf ?? "-", 10)) \(Output.pad(r.capabilities.joined(separator: ","), 30)) \(availability)"
    }
}
