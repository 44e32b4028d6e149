// The failure classifier, the TOML loaders, the workspace parser and its name check, MCP framing,
// and the terminal text sanitizer.

import Foundation
import MCP
import NIOHTTP1
@testable import YmeraConfig
@testable import YmeraCore
@testable import YmeraMCP
@testable import YmeraProviders
@testable import YmeraStore
@testable import YmeraTUI

/// A random status, header lines up to a blank line, then the body: the message is sanitized, a
/// suggested wait is never negative.
func fuzzClassifier(_ raw: UnsafeRawBufferPointer) {
    var input = Input(raw)
    let status = input.int(0...999)
    let kind = ProviderKind.allCases[Int(input.byte()) % ProviderKind.allCases.count]
    let text = String(decoding: input.rest, as: UTF8.self)
    let parts = text.components(separatedBy: "\n\n")
    var headers = HTTPHeaders()
    for line in (parts.first ?? "").split(separator: "\n").prefix(64) {
        let pair = line.split(separator: ":", maxSplits: 1)
        headers.add(name: String(pair[0]), value: pair.count > 1 ? String(pair[1]) : "")
    }
    let body = parts.dropFirst().joined(separator: "\n\n")
    let f = FailureClassifier.classifyResponse(
        status: status, headers: headers, body: body, format: kind, provider: "fuzz",
        now: Date(timeIntervalSince1970: 1_800_000_000))
    checkFailure(f, "classifier")
    require((f.retryAfterMs ?? 0) >= 0, "classifier: negative retry-after \(f.retryAfterMs ?? 0)")
    if let json = JSONValue.parse(body), FailureClassifier.isErrorPayload(json) {
        checkFailure(FailureClassifier.classifyStreamError(json, format: kind, provider: "fuzz"), "stream error")
    }
}

/// The shipped catalog, read once.
nonisolated(unsafe) let shippedCatalog: ConfigDocument = try! ConfigLoader.defaultCatalogDocument()

/// A configuration error names the file, and is safe to print.
func checkConfigError(_ e: ConfigError, file: String) {
    require(!e.file.isEmpty && !e.message.isEmpty, "config: an error without file or message: \(e)")
    require(isTerminalSafe(e.description, newlines: false, tabs: false), "config: error text not sanitized: \(e.description.debugDescription)")
}

/// A user config.toml laid over the shipped catalog.
func fuzzConfig(_ raw: UnsafeRawBufferPointer) {
    let text = String(decoding: Array(raw), as: UTF8.self)
    do {
        let doc = try ConfigDocument(text: text, file: "config.toml")
        _ = try ConfigLoader.load(documents: [shippedCatalog, doc])
    } catch {
        checkConfigError(error, file: "config.toml")
    }
}

/// A catalog on its own (the shipped one replaced).
func fuzzCatalog(_ raw: UnsafeRawBufferPointer) {
    let text = String(decoding: Array(raw), as: UTF8.self)
    do {
        let doc = try ConfigDocument(text: text, file: "catalog.toml")
        _ = try ConfigLoader.load(documents: [doc])
    } catch {
        checkConfigError(error, file: "catalog.toml")
    }
}

nonisolated(unsafe) let defaultThemeSpec: ThemeSpec = try! ThemeSpec.parse(BuiltinThemes.defaultTheme, file: "default.toml")

/// A theme file merged over the default and resolved, in colour and in monochrome.
func fuzzTheme(_ raw: UnsafeRawBufferPointer) {
    let text = String(decoding: Array(raw), as: UTF8.self)
    do {
        let spec = try ThemeSpec.parse(text, file: "fuzz.toml")
        for mono in [false, true] { _ = try defaultThemeSpec.merged(with: spec).resolve(monochrome: mono) }
    } catch {
        let message = "\(error)"
        require(!message.isEmpty, "theme: an error without a message")
        require(isTerminalSafe(message, newlines: true, tabs: false), "theme: error text not sanitized: \(message.debugDescription)")
    }
}

/// Files named in a model's answer: every name the check accepts stays inside the workspace.
func fuzzWorkspace(_ raw: UnsafeRawBufferPointer) {
    let text = String(decoding: Array(raw), as: UTF8.self)
    for file in WorkspaceParser.files(in: text) {
        switch Workspace.checkName(file.name) {
        case .ok(let parts):
            require(!parts.isEmpty, "workspace: accepted an empty path for \(file.name.debugDescription)")
            for p in parts {
                require(!p.isEmpty && p != "." && p != ".." && !p.contains("/") && !p.contains("\\"),
                        "workspace: accepted component \(p.debugDescription) of \(file.name.debugDescription)")
                require(!p.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) },
                        "workspace: accepted a control character in \(file.name.debugDescription)")
                require(p.utf8.count <= 255, "workspace: accepted a component over 255 bytes")
            }
        case .refused(let why):
            require(!why.isEmpty, "workspace: refusal without a reason")
        }
    }
}

/// Newline-delimited JSON-RPC as an MCP server might send it: the not-JSON-RPC preview is safe to
/// print; tool lists and call results decode or not, and what YMERA derives from them is bounded.
func fuzzMCP(_ raw: UnsafeRawBufferPointer) {
    let data = Data(raw)
    for line in data.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(64) {
        let message = Data(line)
        if let preview = WatchedTransport.notJSONRPC(message) {
            require(isTerminalSafe(preview, newlines: false, tabs: false), "mcp: preview not sanitized: \(preview.debugDescription)")
        }
        let decoder = JSONDecoder()
        if let list = try? decoder.decode(Response<ListTools>.self, from: message), case .success(let r) = list.result {
            var taken: [String: MCPToolHost.Route] = [:]
            for tool in r.tools.prefix(100) {
                let name = MCPToolHost.uniqueName(server: "fuzz", tool: tool.name, taken: taken)
                require(!name.isEmpty && name.utf8.count <= 64 && name.unicodeScalars.allSatisfy {
                    $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-")
                }, "mcp: tool name \(name.debugDescription) outside [a-zA-Z0-9_-]{1,64}")
                require(taken[name] == nil, "mcp: duplicate tool name \(name)")
                taken[name] = MCPToolHost.Route(server: "fuzz", tool: tool.name)
                let description = MCPToolHost.describe(tool, server: "fuzz")
                require(isTerminalSafe(description, newlines: false), "mcp: tool description not sanitized")
                _ = MCPToolHost.schemaJSON(tool.inputSchema)
            }
        }
        if let call = try? decoder.decode(Response<CallTool>.self, from: message), case .success(let r) = call.result {
            _ = MCPToolHost.render(r.content, structured: r.structuredContent)
        }
        let text = String(decoding: message, as: UTF8.self)
        do {
            _ = try MCPToolHost.arguments(text, tool: "t", server: "fuzz")
        } catch {
            require(isTerminalSafe("\(error)", newlines: false, tabs: false), "mcp: argument error not sanitized")
        }
    }
}

/// The sanitizers: nothing a terminal acts on survives, in any mode.
func fuzzSanitizer(_ raw: UnsafeRawBufferPointer) {
    let text = String(decoding: Array(raw), as: UTF8.self)
    let kept = TextSanitizer.clean(text)
    require(isTerminalSafe(kept, newlines: true, tabs: false), "sanitizer: \(kept.debugDescription)")
    let tabsKept = TextSanitizer.clean(text, tabs: .keep)
    require(isTerminalSafe(tabsKept, newlines: true, tabs: true), "sanitizer (tabs kept): \(tabsKept.debugDescription)")
    let oneLine = TextSanitizer.clean(text, keepNewlines: false)
    require(isTerminalSafe(oneLine, newlines: false, tabs: false), "sanitizer (one line): \(oneLine.debugDescription)")
    let tui = Sanitizer.line(text)
    require(isTerminalSafe(tui, newlines: false, tabs: false), "TUI sanitizer: \(tui.debugDescription)")
    // Idempotent: cleaning clean text changes nothing.
    require(TextSanitizer.clean(kept) == kept, "sanitizer: not idempotent on \(text.debugDescription)")
}
