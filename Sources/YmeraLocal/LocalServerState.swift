import Foundation
import YmeraCore

/// What `start` records about a running server (`<data>/local/server.json`).
public struct LocalServerState: Codable, Sendable, Hashable {
    public var version: Int = 1
    public var pid: Int32
    public var host: String
    public var port: Int
    public var modelID: ModelID
    public var alias: String
    public var modelPath: String
    public var contextSize: Int
    public var threads: Int
    public var parallel: Int
    public var startedAt: Date
    /// Seconds from spawn to a healthy `/health`.
    public var startupSeconds: Double?
    public var logPath: String
    public var runtimeVersion: String?

    public init(
        pid: Int32, host: String, port: Int, modelID: ModelID, alias: String, modelPath: String, contextSize: Int,
        threads: Int, parallel: Int, startedAt: Date, startupSeconds: Double? = nil, logPath: String,
        runtimeVersion: String? = nil
    ) {
        self.pid = pid
        self.host = host
        self.port = port
        self.modelID = modelID
        self.alias = alias
        self.modelPath = modelPath
        self.contextSize = contextSize
        self.threads = threads
        self.parallel = parallel
        self.startedAt = startedAt
        self.startupSeconds = startupSeconds
        self.logPath = logPath
        self.runtimeVersion = runtimeVersion
    }

    /// `http://127.0.0.1:PORT`
    public var address: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)"
    }
    /// `http://127.0.0.1:PORT/v1`, the OpenAI-compatible base URL.
    public var baseURL: String { address + "/v1" }
}

/// What the launcher writes once the server listens (`server.ready.json`).
public struct LauncherReady: Codable, Sendable, Hashable {
    public var address: String
    public var host: String
    public var port: Int
    public var pid: Int32
    public var alias: String
    public var ctx: Int
    public var threads: Int
    public var parallel: Int
    public var xllamacppVersion: String?
    public var loadSeconds: Double?
}

/// Throughput of the last run served by the local model, recorded by whoever ran it.
public struct LocalRunStats: Codable, Sendable, Hashable {
    public var model: ModelID
    public var finishedAt: Date
    public var outputTokens: Int
    /// Seconds spent generating those tokens.
    public var generationSeconds: Double
    /// Where the figure comes from: `run` (an engine run) or `bench` (`ymera local bench`).
    public var source: String
    public var runID: String?

    public init(
        model: ModelID, finishedAt: Date, outputTokens: Int, generationSeconds: Double, source: String,
        runID: String? = nil
    ) {
        self.model = model
        self.finishedAt = finishedAt
        self.outputTokens = outputTokens
        self.generationSeconds = generationSeconds
        self.source = source
        self.runID = runID
    }

    public var tokensPerSecond: Double? {
        generationSeconds > 0 && outputTokens > 0 ? Double(outputTokens) / generationSeconds : nil
    }

    /// The tokens generated between two readings of the server's counters. A reading taken
    /// before a restart (counters that went down) counts from zero.
    public static func between(
        _ before: LocalRuntime.ServerMetrics?, _ after: LocalRuntime.ServerMetrics, model: ModelID, runID: String?,
        at date: Date
    ) -> LocalRunStats? {
        var base = before ?? .init(tokensPredicted: 0, generationSeconds: 0, promptTokens: 0)
        if base.tokensPredicted > after.tokensPredicted || base.generationSeconds > after.generationSeconds {
            base = .init(tokensPredicted: 0, generationSeconds: 0, promptTokens: 0)
        }
        let tokens = after.tokensPredicted - base.tokensPredicted
        let seconds = after.generationSeconds - base.generationSeconds
        guard tokens > 0, seconds > 0 else { return nil }
        return LocalRunStats(
            model: model, finishedAt: date, outputTokens: tokens, generationSeconds: seconds, source: "run", runID: runID)
    }
}

/// JSON files written atomically (temp file + rename), read with a clear error when damaged.
enum JSONFile {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let data = try encoder().encode(value)
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw LocalRuntimeError(.io, "cannot write \(tmp)", fix: "check that \(dir) is writable")
        }
        guard rename(tmp, path) == 0 else {
            let err = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: tmp)
            throw LocalRuntimeError(.io, "cannot write \(path): \(err)", fix: "check that \(dir) is writable")
        }
    }

    /// nil when the file does not exist.
    static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try decoder().decode(T.self, from: data)
        } catch {
            throw LocalRuntimeError(
                .stateUnreadable, "\(path) is damaged (\(error))",
                fix: "remove it (`rm \(path)`); if a server is still running stop it with `ymera local stop`")
        }
    }
}
