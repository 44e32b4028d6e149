import Foundation
import Testing
import YmeraCore
@testable import YmeraProviders

/// Against a real OpenAI-compatible server on this machine (llama.cpp's server, Ollama), when
/// `YMERA_LIVE_OPENAI_BASE_URL` names one (e.g. `http://127.0.0.1:8080/v1`). Only loopback addresses.
private let liveBase = ProcessInfo.processInfo.environment["YMERA_LIVE_OPENAI_BASE_URL"].flatMap { base -> String? in
    guard let host = URLComponents(string: base)?.host, ["127.0.0.1", "localhost", "::1"].contains(host) else { return nil }
    return base
}

@Suite("Live local server (opt-in)", .enabled(if: liveBase != nil), .timeLimit(.minutes(2)))
struct LiveServerTests {
    func provider() -> ProviderConfig {
        ProviderConfig(id: "live", kind: .openAICompatible, baseURL: liveBase ?? "", isLocal: true)
    }

    @Test("streams a real answer with the server's own usage", arguments: [true, false])
    func answer(stream: Bool) async throws {
        let timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(30), idle: .seconds(10), total: .seconds(60))
        var request = testRequest(provider(), stream: stream, prompt: "Name three primary colors.")
        request.maxTokens = 40
        let outcome = await collect(Wire.openAI.client(environment: [:], timeouts: timeouts), request)
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        #expect(!outcome.text.isEmpty)
        #expect(outcome.finishedCount == 1)
        #expect(outcome.finish == .stop || outcome.finish == .length)
        let usage = try #require(outcome.usage)
        #expect(!usage.estimated)
        #expect(usage.outputTokens > 0 && usage.outputTokens <= 40)
    }

    @Test("a prompt over the window is context_too_long")
    func contextTooLong() async throws {
        let prompt = String(repeating: "lorem ipsum dolor sit amet ", count: 4000)
        let outcome = await collect(Wire.openAI.client(environment: [:]), testRequest(provider(), prompt: prompt))
        #expect(outcome.failure?.errorClass == .contextTooLong, "\(String(describing: outcome.failure))")
    }

    @Test("the doctor reaches it and measures latency")
    func doctor() async throws {
        let catalog = try Catalog(providers: [provider()], models: [testModel(provider())])
        let report = await ProviderDoctor(httpClient: testHTTPClient, environment: [:], timeout: .seconds(3)).run(catalog: catalog)
        #expect(report.providers.first?.reach == .reachable)
        #expect(report.providers.first?.latencyMs != nil)
        print(ProviderDoctor.render(report))
    }
}
