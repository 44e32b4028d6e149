import Foundation
import Synchronization

/// The pieces of the engine's tool loop that need no run state: the real-time watchdog that keeps a
/// broken host from hanging a run, argument checks, bounding and sanitizing results, and the prompt
/// that asks a model to answer without tools after a tool failed.
public enum ToolLoop {
    /// Extra real time the engine gives a host beyond its own per-call limit before it stops waiting.
    public static let watchdogGraceMs: Int64 = 250
    /// Characters of a call's arguments kept in a `tool_called` event.
    public static let maxArgumentChars = 2_000

    /// Runs `operation` in its own task and waits for it at most `ms` of real time. On time-out the
    /// operation is cancelled and left behind (never awaited), so an operation that ignores
    /// cancellation still cannot hang the caller. Cancelling the caller stops the wait at once.
    public static func withWatchdog<T: Sendable>(
        ms: Int64, onTimeout: @escaping @Sendable () -> any Error, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let gate = OnceGate<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
                gate.install(c)
                let work = Task {
                    do { gate.resolve(.success(try await operation())) } catch { gate.resolve(.failure(error)) }
                }
                let watchdog = Task {
                    try? await Task.sleep(for: .milliseconds(max(1, ms)))
                    if !Task.isCancelled { gate.resolve(.failure(onTimeout())) }
                }
                gate.onResolve {
                    work.cancel()
                    watchdog.cancel()
                }
            }
        } onCancel: {
            gate.resolve(.failure(CancellationError()))
        }
    }

    /// Arguments as the host gets them: a JSON object's text ("" becomes `{}`); anything else is a
    /// `bad_arguments` failure naming what was wrong.
    public static func normalizedArguments(_ call: ToolCall) throws(ToolFailure) -> String {
        let trimmed = call.argumentsJSON.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "{}" }
        guard let data = trimmed.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else {
            throw ToolFailure(.badArguments, "arguments of \(call.name) are not valid JSON: \(preview(trimmed, 80))")
        }
        guard value is [String: Any] else {
            throw ToolFailure(.badArguments, "arguments of \(call.name) are not a JSON object: \(preview(trimmed, 80))")
        }
        return trimmed
    }

    /// A result's content as the model and the events get it: sanitized, then cut to `maxChars` with
    /// the cut said. Returns the text and the number of characters the tool returned.
    public static func bounded(_ content: String, maxChars: Int) -> (text: String, originalChars: Int) {
        let clean = TextSanitizer.clean(content, tabs: .keep)
        let original = content.count
        guard clean.count > maxChars else { return (clean, original) }
        let kept = String(clean.prefix(max(0, maxChars)))
        return (kept + "\n[… result cut: \(kept.count) of \(original) characters kept; \(clean.count - kept.count) more characters]", original)
    }

    /// Untrusted text for an event field: sanitized, one line, bounded.
    public static func preview(_ text: String, _ maxChars: Int) -> String {
        let clean = TextSanitizer.clean(text, keepNewlines: false, tabs: .expand(1))
        return clean.count > maxChars ? String(clean.prefix(maxChars)) + "…" : clean
    }

    /// The conversation for the last request after a tool failed: the same exchange as plain text (no
    /// tool-call structure, which some providers refuse without tools defined), ending with a user
    /// message that says what failed and asks for an answer from what the model has.
    public static func withoutTools(_ messages: [ChatMessage], failure: ToolFailure, tool: String) -> [ChatMessage] {
        var out: [ChatMessage] = []
        func appendUser(_ text: String) {
            if let last = out.last, last.role == .user {
                out[out.count - 1].content += "\n\n" + text
            } else {
                out.append(.user(text))
            }
        }
        for m in messages {
            switch m.role {
            case .assistant where !(m.toolCalls ?? []).isEmpty:
                let calls = (m.toolCalls ?? []).map { "[called tool \($0.name) with \(preview($0.argumentsJSON, 300))]" }
                out.append(.assistant((m.content.isEmpty ? "" : m.content + "\n") + calls.joined(separator: "\n")))
            case .tool:
                appendUser("Tool \(m.toolName ?? "?") returned:\n\(m.content)")
            default:
                out.append(.init(role: m.role, content: m.content))
            }
        }
        appendUser("The tool \(tool) failed (\(failure.failureClass.rawValue): \(preview(failure.message, 300))). "
            + "No more tools are available. Answer now with what you have.")
        return out
    }
}

/// Resolves a continuation exactly once, whoever gets there first (the work, the watchdog, a cancel).
final class OnceGate<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
        var cleanup: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func install(_ c: CheckedContinuation<T, any Error>) {
        let early = state.withLock { s -> Result<T, any Error>? in
            if let e = s.early {
                s.early = nil
                s.done = true
                return e
            }
            s.continuation = c
            return nil
        }
        if let early { c.resume(with: early) }
    }

    func onResolve(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.done { return true }
            s.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }

    func resolve(_ result: Result<T, any Error>) {
        let (c, cleanup) = state.withLock { s -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !s.done else { return (nil, nil) }
            guard let c = s.continuation else {
                if s.early == nil { s.early = result }
                return (nil, nil)
            }
            s.done = true
            s.continuation = nil
            let cl = s.cleanup
            s.cleanup = nil
            return (c, cl)
        }
        c?.resume(with: result)
        cleanup?()
    }
}
