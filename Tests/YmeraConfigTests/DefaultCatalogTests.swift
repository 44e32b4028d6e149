import Foundation
import Testing
import YmeraCore
@testable import YmeraConfig

/// The catalog shipped with YMERA, read from the source tree.
func shippedCatalog() throws -> LoadedConfig {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/YmeraConfig/Resources/catalog.toml").path
    return try ConfigLoader.load(documents: [try ConfigDocument.load(path: path)])
}

@Suite("The default catalog as of today")
struct DefaultCatalogTests {
    @Test("every real model names its source page and the day it was read")
    func dated() throws {
        let catalog = try shippedCatalog().catalog
        let real = catalog.models.filter { $0.twinOf == nil && $0.provider != "sim" }
        #expect(real.count >= 20)
        for m in real {
            #expect(m.source?.hasPrefix("https://") == true, "\(m.id) has no source")
            #expect(m.asOf?.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil, "\(m.id) has no as_of date")
        }
        for provider in ["groq", "gemini", "mistral", "deepseek", "anthropic", "openai", "ai21", "together", "openrouter", "local", "local-gemma"] {
            #expect(real.contains { $0.provider == provider }, "no model of \(provider)")
        }
        #expect(real.contains { $0.id.rawValue == "mistral/codestral" })
    }

    @Test("the seed's names resolve to their successors and say when they were retired")
    func retiredNames() throws {
        let catalog = try shippedCatalog().catalog
        let sonnet = try catalog.model("claude-3.5-sonnet")
        #expect(sonnet.id == "anthropic/claude-sonnet-5")
        #expect(catalog.retirement(of: "claude-3.5-sonnet")?.status == "retired 2025-10")
        #expect(try catalog.model("anthropic/claude-3.5-sonnet").id == "anthropic/claude-sonnet-5")
        #expect(try catalog.model("gemini-1.5-flash").provider == "gemini")
        #expect(try catalog.model("llama-3.1-70b-versatile").id == "groq/gpt-oss-120b")
        #expect(try catalog.model("jamba-1.5-large").id == "ai21/jamba-large")
        #expect(try catalog.model("deepseek-coder").provider == "deepseek")
        #expect(try catalog.model("gpt-4o").provider == "openai")
        #expect(catalog.retirement(of: "gpt-4o")?.status == "superseded")
        // A retired id is never a model of the catalog.
        let retired = Set(catalog.retired.map(\.id))
        #expect(catalog.models.allSatisfy { !retired.contains($0.id) })
    }

    @Test("a fresh configuration with every key set: the planner picks no retired model", arguments: [
        "Write a haiku about SQLite",
        "Create a REST API with authentication, tests and deployment scripts, then review it for security",
        "Summarize the trade-offs of three message queues for a payments team, with a recommendation",
    ])
    func plannerPicksCurrent(task: String) throws {
        let catalog = try shippedCatalog().catalog
        let cloud = catalog.models.filter { catalog.provider(for: $0)?.servingKind == .cloud }
        let retired = Set(catalog.retired.map(\.id))
        for strategy in Strategy.allCases {
            let plan = try Planner(catalog: catalog, available: cloud).plan(
                task: task, intent: IntentAnalyzer().analyze(task), options: PlanOptions(strategy: strategy, seed: 11))
            for step in plan.steps {
                for id in [step.model] + step.fallbacks + step.candidates {
                    #expect(!retired.contains(id))
                    #expect(try catalog.model(id).asOf != nil, "\(id) is not a dated catalog model")
                }
            }
        }
    }

    @Test("a retired entry naming an unknown successor is an error that says where")
    func badSuccessor() {
        let text = """
            [providers.p]
            kind = "openai-compatible"
            base_url = "https://example.com/v1"
            [[models]]
            id = "p/new"
            [[retired]]
            id = "p/old"
            successor = "p/newer"
            """
        #expect(throws: ConfigError.self) { try ConfigLoader.load(documents: [ConfigDocument(text: text, file: "x.toml")]) }
        do {
            _ = try ConfigLoader.load(documents: [ConfigDocument(text: text, file: "x.toml")])
        } catch {
            #expect("\(error)".contains("retired[0].successor"))
        }
    }
}

@Suite("Stall timeout in the config")
struct StallTimeoutConfigTests {
    @Test("[engine] stall_timeout_s is read (later files win); out of range is refused, naming the key")
    func read() throws {
        let a = try ConfigDocument(text: "[engine]\nstall_timeout_s = 12\n", file: "a.toml")
        #expect(try ConfigLoader.load(documents: [a]).stallTimeoutSeconds == 12)
        let b = try ConfigDocument(text: "[engine]\nstall_timeout_s = 7.5\n", file: "b.toml")
        #expect(try ConfigLoader.load(documents: [a, b]).stallTimeoutSeconds == 7.5)
        #expect(try ConfigLoader.load(documents: [ConfigDocument(text: "", file: "c.toml")]).stallTimeoutSeconds == nil)
        do {
            _ = try ConfigLoader.load(documents: [ConfigDocument(text: "[engine]\nstall_timeout_s = 0\n", file: "d.toml")])
            Issue.record("a zero stall timeout was accepted")
        } catch {
            #expect("\(error)".contains("stall_timeout_s"))
        }
    }
}
