/// The six phases a run can pass through, in pipeline order.
public enum Phase: String, Codable, Sendable, CaseIterable, Comparable {
    case planning, research, generation, review, refinement, validation

    public static func < (lhs: Phase, rhs: Phase) -> Bool {
        lhs.order < rhs.order
    }

    /// Position in the pipeline, 0-based.
    public var order: Int { Phase.allCases.firstIndex(of: self) ?? 0 }

    /// A short, fixed-width-friendly name for narrow screens.
    public var shortName: String {
        switch self {
        case .planning: "plan"
        case .research: "rsrch"
        case .generation: "gen"
        case .review: "review"
        case .refinement: "refine"
        case .validation: "valid"
        }
    }
}

/// How a run spreads its work over models.
public enum Strategy: String, Codable, Sendable, CaseIterable {
    /// One fast model does everything in one generation step.
    case single
    /// A model per phase, chosen by complexity (the default).
    case multiModel = "multi"
    /// N candidates on different models; the best by score is kept.
    case parallel
    /// Draft, refine, polish, validate: each step improves the previous output.
    case cascade

    public var displayName: String {
        switch self {
        case .single: "single model"
        case .multiModel: "multi-model"
        case .parallel: "parallel candidates"
        case .cascade: "cascade refinement"
        }
    }
}

/// Kinds of task the intent analyzer recognises.
public enum TaskType: String, Codable, Sendable, CaseIterable {
    case code, text, data, research, analysis, creative, question
}

/// Model capabilities, as the catalog names them.
public enum Capability: String, Codable, Sendable, CaseIterable, Comparable {
    case code
    case reasoning
    case longContext = "long-context"
    case review
    case accuracy
    case creative
    case fast

    public static func < (lhs: Capability, rhs: Capability) -> Bool { lhs.rawValue < rhs.rawValue }
}
