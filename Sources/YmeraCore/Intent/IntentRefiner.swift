import Foundation

/// Asks a fast model to refine the heuristic analysis. The model must answer one JSON object
/// `{"task_type": …, "complexity": 0-1, "urgency": 0-1, "creativity": 0-1}`; anything else — a
/// failure, garbage, values out of range, an unknown type — leaves the heuristic analysis in place,
/// with the reason recorded in its signals.
public struct IntentRefiner: Sendable {
    public var client: any ModelClient
    public var model: ModelInfo
    public var provider: ProviderConfig
    public var clock: any RunClock
    /// The longest the refinement may take before the heuristic is used.
    public var timeoutMs: Int64

    public init(client: any ModelClient, model: ModelInfo, provider: ProviderConfig, clock: any RunClock = SystemClock(), timeoutMs: Int64 = 8_000) {
        self.client = client
        self.model = model
        self.provider = provider
        self.clock = clock
        self.timeoutMs = timeoutMs
    }

    public static let system = """
        Classify the task. Answer with one JSON object and nothing else:
        {"task_type": one of "code","text","data","research","analysis","creative","question",
         "complexity": number 0-1, "urgency": number 0-1, "creativity": number 0-1}
        """

    public func refine(_ heuristic: Intent, task: String, seed: UInt64 = 0) async -> Intent {
        let request = ModelRequest(
            model: model, provider: provider,
            messages: [.system(Self.system), .user("## Task\n" + String(task.prefix(4000)))],
            maxTokens: 120, temperature: 0, stream: false,
            context: RequestContext(runID: "intent", stepID: "intent", phase: .planning, attempt: 1, taskType: heuristic.taskType, seed: seed))
        var text = ""
        var finished = false
        do {
            for try await event in client.stream(request) {
                switch event {
                case .delta(let d):
                    text += d
                    if text.count > 4000 { throw ModelFailure(.malformed, "answer too long for a classification") }
                case .finished: finished = true
                default: break
                }
            }
        } catch {
            return note(heuristic, "model refinement failed (\(String(describing: error).prefix(120))); heuristic kept")
        }
        guard finished else { return note(heuristic, "model refinement was cut off; heuristic kept") }
        switch Self.parse(text) {
        case .failure(let why):
            return note(heuristic, "model answer rejected: \(why); heuristic kept")
        case .success(let r):
            var i = heuristic
            i.taskType = r.type
            // The model's view and the heuristic's are averaged: neither alone decides the plan.
            i.complexity = ((heuristic.complexity + r.complexity) / 2).rounded(places: 3)
            i.urgency = ((heuristic.urgency + r.urgency) / 2).rounded(places: 3)
            i.creativity = ((heuristic.creativity + r.creativity) / 2).rounded(places: 3)
            if r.type == .code { i.capabilities.insert(.code) }
            i.source = "heuristic + \(model.id)"
            i.signals.append("refined by \(model.id): \(r.type.rawValue), complexity \(r.complexity)")
            return i
        }
    }

    struct Refined { var type: TaskType; var complexity, urgency, creativity: Double }

    static func parse(_ text: String) -> Result<Refined, ParseFailure> {
        // Take the first {...} object (models like to wrap JSON in prose or fences).
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"), start < end else {
            return .failure(ParseFailure("no JSON object"))
        }
        guard let data = String(text[start...end]).data(using: .utf8),
            let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return .failure(ParseFailure("not valid JSON")) }
        guard let typeText = obj["task_type"] as? String, let type = TaskType(rawValue: typeText.lowercased()) else {
            return .failure(ParseFailure("task_type missing or unknown"))
        }
        func unit(_ key: String) -> Double? {
            guard let n = obj[key] as? NSNumber else { return nil }
            let d = n.doubleValue
            return (0...1).contains(d) ? d : nil
        }
        guard let c = unit("complexity"), let u = unit("urgency"), let cr = unit("creativity") else {
            return .failure(ParseFailure("complexity, urgency and creativity must be numbers between 0 and 1"))
        }
        return .success(Refined(type: type, complexity: c, urgency: u, creativity: cr))
    }

    struct ParseFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func note(_ i: Intent, _ s: String) -> Intent {
        var i = i
        i.signals.append(s)
        return i
    }
}
