import Foundation
import YmeraCore

/// Tool calling on the wire, shared by the three formats: JSON text ↔ values, and the checks that turn
/// a provider's malformed tool call into a classified `.malformed` failure instead of a crash.
enum ToolWire {
    /// A JSON object from text; "" (a call without arguments) is `{}`; nil when it is not an object.
    static func object(_ text: String) -> JSONValue? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .object([:]) }
        guard let v = JSONValue.parse(trimmed), v.object != nil else { return nil }
        return v
    }

    static func text(_ value: JSONValue) -> String { String(decoding: value.encoded(), as: UTF8.self) }

    /// A tool's input schema as an object (`{"type":"object"}` when the text is not one).
    static func schema(_ spec: ToolSpec) -> JSONValue {
        object(spec.inputSchemaJSON) ?? .object(["type": .string("object")])
    }

    /// A call read from a provider: its name must be there and its arguments must be a JSON object.
    static func checked(
        id: String, name: String?, arguments: String, format: ProviderKind, provider: String
    ) throws -> ToolCall {
        guard let name, !name.isEmpty else {
            throw FailureClassifier.malformed("a tool call has no function name", sample: arguments, format: format, provider: provider)
        }
        guard let args = object(arguments) else {
            throw FailureClassifier.malformed(
                "the arguments of tool call \(name) are not a JSON object", sample: arguments, format: format, provider: provider)
        }
        return ToolCall(id: id, name: name, argumentsJSON: text(args))
    }

    /// Gemini accepts an OpenAPI subset of JSON Schema: keys it rejects are removed at every schema
    /// position (not inside `properties`, whose keys are property names).
    static func geminiSchema(_ value: JSONValue) -> JSONValue {
        guard var o = value.object else { return value }
        for key in rejectedByGemini { o.removeValue(forKey: key) }
        if let props = o["properties"]?.object {
            o["properties"] = .object(props.mapValues(geminiSchema))
        }
        if let items = o["items"] {
            o["items"] = items.array.map { .array($0.map(geminiSchema)) } ?? geminiSchema(items)
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let list = o[key]?.array { o[key] = .array(list.map(geminiSchema)) }
        }
        return .object(o)
    }

    static let rejectedByGemini: [String] = [
        "$schema", "$id", "$ref", "$defs", "$comment", "definitions", "additionalProperties", "patternProperties",
        "unevaluatedProperties", "dependentRequired", "dependentSchemas", "examples", "const", "not", "if", "then", "else",
    ]
}

extension StreamInterpreter {
    func finishToolCalls() throws -> [ToolCall] { [] }
}
