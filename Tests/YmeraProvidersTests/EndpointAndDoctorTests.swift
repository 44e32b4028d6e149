import Foundation
import Testing
import YmeraCore
@testable import YmeraProviders

@Suite("Endpoints and keys")
struct EndpointTests {
    let openai = ProviderConfig(id: "openai", kind: .openAICompatible, baseURL: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY")
    let groq = ProviderConfig(id: "groq", kind: .openAICompatible, baseURL: "https://api.groq.com/openai/v1/", apiKeyEnv: "GROQ_API_KEY")
    let llama = ProviderConfig(id: "llama-cpp", kind: .openAICompatible, baseURL: "http://127.0.0.1:8080/v1", isLocal: true)

    @Test("override variable names: upper case, non-alphanumerics become underscores")
    func variableNames() {
        #expect(ProviderEndpoint.baseURLVariable(for: "groq") == "YMERA_GROQ_BASE_URL")
        #expect(ProviderEndpoint.baseURLVariable(for: "llama-cpp") == "YMERA_LLAMA_CPP_BASE_URL")
        #expect(ProviderEndpoint.baseURLVariable(for: "together.ai") == "YMERA_TOGETHER_AI_BASE_URL")
    }

    @Test("catalog URL by default, trailing slash trimmed")
    func defaults() {
        #expect(ProviderEndpoint.resolve(groq, environment: [:]).baseURL == "https://api.groq.com/openai/v1")
        #expect(ProviderEndpoint.resolve(groq, environment: [:]).apiKey == nil)
    }

    @Test("OPENAI_BASE_URL moves only the openai provider; YMERA_<ID>_BASE_URL wins over it")
    func overrides() {
        let env = ["OPENAI_BASE_URL": "http://127.0.0.1:4000/v1", "OPENAI_API_KEY": " sk-x ", "YMERA_GROQ_BASE_URL": "http://127.0.0.1:5000/v1"]
        #expect(ProviderEndpoint.resolve(openai, environment: env).baseURL == "http://127.0.0.1:4000/v1")
        #expect(ProviderEndpoint.resolve(openai, environment: env).apiKey == "sk-x")
        #expect(ProviderEndpoint.resolve(groq, environment: env).baseURL == "http://127.0.0.1:5000/v1")
        let both = env.merging(["YMERA_OPENAI_BASE_URL": "http://127.0.0.1:6000/v1"]) { $1 }
        #expect(ProviderEndpoint.resolveDetailed(openai, environment: both).baseURL == "http://127.0.0.1:6000/v1")
        #expect(ProviderEndpoint.resolveDetailed(openai, environment: both).source == .providerOverride)
        #expect(ProviderEndpoint.resolve(groq, environment: ["YMERA_GROQ_BASE_URL": "  "]).baseURL == "https://api.groq.com/openai/v1")
    }

    @Test("available when the key is set or none is needed; empty keys do not count")
    func availability() {
        #expect(!isAvailable(groq, environment: [:]))
        #expect(!isAvailable(groq, environment: ["GROQ_API_KEY": ""]))
        #expect(isAvailable(groq, environment: ["GROQ_API_KEY": "gsk_1"]))
        #expect(isAvailable(llama, environment: [:]))
        #expect(isAvailable(ProviderConfig(id: "sim", kind: .simulated, baseURL: ""), environment: [:]))
    }
}

@Suite("Doctor", .timeLimit(.minutes(1)))
struct DoctorTests {
    func catalog(_ providers: [ProviderConfig]) throws -> Catalog {
        try Catalog(providers: providers, models: providers.map { testModel($0) })
    }

    @Test("keys, base URLs, reachability, refused keys and unreachable servers; the key never shows")
    func mixed() async throws {
        let server = try await LoopbackServer.start { request in
            if request.header("authorization") == "Bearer bad-key-123456" {
                return .json(401, #"{"error":{"message":"Incorrect API key provided: bad-key-123456","type":"invalid_request_error","code":"invalid_api_key"}}"#)
            }
            return .json(200, #"{"object":"list","data":[{"id":"smollm2-135m","object":"model"}]}"#)
        }
        defer { Task { await server.stop() } }
        let closed = try await closedPort()
        let providers = [
            ProviderConfig(id: "groq", kind: .openAICompatible, baseURL: "https://api.groq.com/openai/v1", apiKeyEnv: "GROQ_API_KEY"),
            ProviderConfig(id: "llama", kind: .openAICompatible, baseURL: server.baseURL + "/v1", isLocal: true),
            ProviderConfig(id: "ollama", kind: .openAICompatible, baseURL: "http://127.0.0.1:\(closed)/v1", isLocal: true),
            ProviderConfig(id: "badkey", kind: .openAICompatible, baseURL: "https://example.invalid/v1", apiKeyEnv: "BAD_KEY"),
            ProviderConfig(id: "sim", kind: .simulated, baseURL: ""),
        ]
        let env = ["BAD_KEY": "bad-key-123456", "YMERA_BADKEY_BASE_URL": server.baseURL + "/v1"]
        let report = await ProviderDoctor(httpClient: testHTTPClient, environment: env, timeout: .seconds(2))
            .run(catalog: try catalog(providers))
        let byID = Dictionary(uniqueKeysWithValues: report.providers.map { ($0.id, $0) })

        let groq = try #require(byID["groq"])
        #expect(!groq.keyPresent)
        #expect(groq.reach == .notChecked)
        #expect(!groq.canServe)
        #expect(groq.advice == "set GROQ_API_KEY")

        let llama = try #require(byID["llama"])
        #expect(llama.reach == .reachable)
        #expect(llama.canServe)
        #expect(llama.httpStatus == 200)
        #expect(llama.latencyMs != nil)

        let ollama = try #require(byID["ollama"])
        #expect(ollama.reach == .unreachable)
        #expect(ollama.errorClass == .connectionRefused)
        #expect(ollama.advice?.contains("YMERA_OLLAMA_BASE_URL") == true)

        let bad = try #require(byID["badkey"])
        #expect(bad.keyPresent)
        #expect(bad.reach == .keyRefused)
        #expect(!bad.canServe)
        #expect(bad.baseURLSource == "YMERA_BADKEY_BASE_URL")

        #expect(byID["sim"]?.canServe == true)
        #expect(report.anyRealCanServe)
        #expect(report.exitCode == 0)

        let text = ProviderDoctor.render(report)
        #expect(!text.contains("bad-key-123456"))
        #expect(text.contains("GROQ_API_KEY missing"))
        #expect(text.contains("BAD_KEY set"))
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!json.contains("bad-key-123456"))
    }

    @Test("no key anywhere: says what to set; exit 0 only thanks to the simulated provider")
    func nothingConfigured() async throws {
        let cloud = [
            ProviderConfig(id: "groq", kind: .openAICompatible, baseURL: "https://api.groq.com/openai/v1", apiKeyEnv: "GROQ_API_KEY"),
            ProviderConfig(id: "anthropic", kind: .anthropic, baseURL: "https://api.anthropic.com/v1", apiKeyEnv: "ANTHROPIC_API_KEY"),
            ProviderConfig(id: "gemini", kind: .gemini, baseURL: "https://generativelanguage.googleapis.com/v1beta", apiKeyEnv: "GEMINI_API_KEY"),
        ]
        let doctor = ProviderDoctor(httpClient: testHTTPClient, environment: [:], timeout: .seconds(1))
        let without = await doctor.run(catalog: try catalog(cloud))
        #expect(!without.anyCanServe)
        #expect(without.exitCode != 0)
        let hints = without.hints.joined(separator: "\n")
        for variable in ["GROQ_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"] { #expect(hints.contains(variable)) }

        let with = await doctor.run(catalog: try catalog(cloud + [ProviderConfig(id: "sim", kind: .simulated, baseURL: "")]))
        #expect(with.anyCanServe)
        #expect(!with.anyRealCanServe)
        #expect(with.exitCode == 0)
        #expect(with.hints.contains { $0.contains("simulated") })
    }

    @Test("Anthropic and Gemini probes list models with their own auth headers")
    func probes() async throws {
        let server = try await LoopbackServer.start { _ in .json(200, #"{"data":[],"models":[]}"#) }
        defer { Task { await server.stop() } }
        let providers = [
            ProviderConfig(id: "anthropic", kind: .anthropic, baseURL: server.baseURL + "/v1", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "gemini", kind: .gemini, baseURL: server.baseURL + "/v1beta", apiKeyEnv: "YMERA_TEST_KEY"),
        ]
        let report = await ProviderDoctor(httpClient: testHTTPClient, environment: testEnvironment, timeout: .seconds(2))
            .run(catalog: try catalog(providers))
        #expect(report.providers.allSatisfy { $0.canServe })
        let requests = server.requests.sorted { $0.uri < $1.uri }
        let uris = requests.map { $0.uri }
        #expect(uris == ["/v1/models?limit=1000", "/v1beta/models?pageSize=1000"])
        #expect(requests[0].header("x-api-key") == fakeKey)
        #expect(requests[0].header("anthropic-version") == "2023-06-01")
        #expect(requests[1].header("x-goog-api-key") == fakeKey)
    }
}
