import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

/// Helpers shared by the quality tests.
enum Fixture {
    static let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"

    static func has(_ tool: String) -> Bool { ToolLocator.find(tool, in: path) != nil }

    static func input(
        _ output: String, task: String = "", phase: Phase = .generation, type: TaskType = .code,
        requirements: [String] = [], threshold: Double = 0.7
    ) -> ValidationInput {
        ValidationInput(
            task: task, intent: Intent(taskType: type, complexity: 0.5, urgency: 0, creativity: 0, capabilities: []),
            stepID: "generation", phase: phase, output: output, requirements: requirements, threshold: threshold)
    }

    /// Analyses one block of code given as a file of `language`.
    static func analyze(
        _ code: String, as fileName: String, options: RealValidator.Options = .init(runTests: false)
    ) async -> RealValidator.Result {
        let v = RealValidator(options: options)
        return await v.analyze(input(code), kind: .code, fileName: fileName)
    }

    static func writeTemp(_ name: String, _ text: String) throws -> URL {
        let s = try Scratch(prefix: "ymera-test")
        return try s.write(name, text)
    }
}

/// A model client that answers from a script, by attempt number; records what it was asked.
struct ScriptedClient: ModelClient {
    var replies: [String]
    var failAll = false

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let reply = replies[min(request.context.attempt, replies.count - 1)]
        let fail = failAll
        return AsyncThrowingStream { c in
            if fail {
                c.finish(throwing: ModelFailure(.badRequest, "simulated failure", provider: request.provider.id))
                return
            }
            for chunk in reply.split(separator: " ", omittingEmptySubsequences: false) {
                c.yield(.delta(String(chunk) + " "))
            }
            c.yield(.finished(.stop))
            c.finish()
        }
    }

    static let provider = ProviderConfig(id: "sim", kind: .simulated, baseURL: "http://127.0.0.1:9")
    static let model = ModelInfo(
        id: "sim/judge", provider: "sim", apiName: "judge", displayName: "Judge", contextWindow: 8192, pricing: nil,
        speedTier: 3, qualityTier: 3, capabilities: [.review])

    static func judge(_ replies: [String], fail: Bool = false) -> ModelJudge {
        ModelJudge(client: ScriptedClient(replies: replies, failAll: fail), model: model, provider: provider)
    }
}
