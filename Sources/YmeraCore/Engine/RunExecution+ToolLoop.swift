import Foundation
import Synchronization

// The bounded tool loop of one attempt.

extension RunExecution {
    /// What one attempt's tool loop has spent.
    struct ToolLoopState {
        var limits: ToolLoopLimits
        var calls = 0
        var spentMs: Int64 = 0
    }

    /// Runs the calls of one model turn through the host and returns the next request: with the results
    /// appended (tools still offered), or — after a tool failure — the exchange as plain text and no
    /// tools, so the model answers with what it has. Throws only `CancellationError`.
    func runTools(_ calls: [ToolCall], text: String, request: ModelRequest, stepID: String, loop: inout ToolLoopState) async throws -> ModelRequest {
        let ctx = request.context
        let context = ToolContext(runID: ctx.runID, stepID: ctx.stepID, phase: ctx.phase)
        let offered = Dictionary(request.tools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Calls without an id get one, so results can be matched to them.
        let calls = calls.enumerated().map { i, c in
            var c = c
            if c.id.isEmpty { c.id = "call_\(ctx.attempt)_\(loop.calls + i + 1)" }
            return c
        }
        var messages = request.messages + [.assistant(text, toolCalls: calls)]
        var next = request
        for call in calls {
            let server = offered[call.name]?.server
            let started = nowMs
            func failed(_ f: ToolFailure) -> ModelRequest {
                emit(.toolFailed(.init(
                    step: stepID, callID: call.id, tool: ToolLoop.preview(call.name, 64), server: f.server ?? server, failure: f.failureClass,
                    message: ToolLoop.preview(f.message, 500), durationMs: Int(max(0, nowMs - started)))))
                next.messages = ToolLoop.withoutTools(messages, failure: f, tool: call.name)
                next.tools = []
                return next
            }
            if loop.calls >= loop.limits.maxCalls {
                return failed(ToolFailure(.limitReached, "the attempt made its \(loop.limits.maxCalls) tool calls"))
            }
            if loop.spentMs >= loop.limits.maxTotalMs {
                return failed(ToolFailure(.limitReached, "the attempt spent its \(loop.limits.maxTotalMs) ms on tools"))
            }
            guard offered[call.name] != nil else {
                return failed(ToolFailure(.unknownTool, "the model called \(ToolLoop.preview(call.name, 64)), which was not offered"))
            }
            let arguments: String
            do { arguments = try ToolLoop.normalizedArguments(call) } catch { return failed(error) }
            loop.calls += 1
            emit(.toolCalled(.init(
                step: stepID, model: request.model.id, callID: call.id, tool: call.name, server: server,
                arguments: ToolLoop.preview(arguments, ToolLoop.maxArgumentChars))))
            let timeout = max(1, min(loop.limits.perCallTimeoutMs, loop.limits.maxTotalMs - loop.spentMs))
            let host = engine.toolHost!
            let sent = ToolCall(id: call.id, name: call.name, argumentsJSON: arguments)
            // The attempt stays a clock participant while the host works (real I/O: virtual time
            // must not jump past it); the watchdog is real time, so a host that never answers is left.
            let outcome: Result<ToolResult, ToolFailure>
            do {
                let result = try await ToolLoop.withWatchdog(
                    ms: timeout + ToolLoop.watchdogGraceMs,
                    onTimeout: { ToolFailure(.timeout, "no answer within \(timeout) ms", server: server) }
                ) { try await host.call(sent, context: context, timeoutMs: timeout) }
                outcome = .success(result)
            } catch let f as ToolFailure {
                outcome = .failure(f)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = .failure(ToolFailure(.protocolError, String(describing: error), server: server))
            }
            try Task.checkCancellation()
            let took = max(0, nowMs - started)
            loop.spentMs += took
            switch outcome {
            case .failure(let f):
                return failed(f)
            case .success(let result):
                let (content, original) = ToolLoop.bounded(result.content, maxChars: loop.limits.maxResultChars)
                emit(.toolReturned(.init(
                    step: stepID, callID: call.id, tool: call.name, server: server, content: content,
                    originalChars: original, isError: result.isError, durationMs: Int(took))))
                messages.append(.tool(ToolResult(callID: call.id, name: call.name, content: content, isError: result.isError)))
            }
        }
        next.messages = messages
        return next
    }
}
