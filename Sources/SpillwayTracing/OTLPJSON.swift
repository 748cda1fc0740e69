import SpillwayS3
import Tracing

/// The OTLP/HTTP JSON body of a batch of spans (opentelemetry-proto's `ExportTraceServiceRequest`
/// in its JSON mapping: ids in lowercase hex, 64-bit numbers as strings, enums as numbers).
public enum OTLPJSON {
    public static func body(_ spans: [FinishedSpan], serviceName: String, version: String) -> String {
        var out = #"{"resourceSpans":[{"resource":{"attributes":["#
        out += attribute("service.name", .string(serviceName)) + "," + attribute("service.version", .string(version))
        out += #"]},"scopeSpans":[{"scope":{"name":"spillway","version":""# + escape(version) + #""},"spans":["#
        out += spans.map(span).joined(separator: ",")
        out += "]}]}]}"
        return out
    }

    static func span(_ s: FinishedSpan) -> String {
        var out = #"{"traceId":""# + s.traceID + #"","spanId":""# + s.spanID + "\""
        if let parent = s.parentSpanID { out += #","parentSpanId":""# + parent + "\"" }
        out += #","name":""# + escape(s.name) + #"","kind":"# + String(kind(s.kind))
        out += #","startTimeUnixNano":""# + String(s.startNanos) + #"","endTimeUnixNano":""# + String(s.endNanos) + "\""
        out += #","attributes":["# + attributes(s.attributes) + "]"
        out += #","events":["# + s.events.map { event in
            #"{"timeUnixNano":""# + String(event.nanosecondsSinceEpoch) + #"","name":""# + escape(event.name) + #"","attributes":["#
                + attributes(event.attributes) + "]}"
        }.joined(separator: ",") + "]"
        if let status = s.status {
            out += #","status":{"code":"# + (status.code == .ok ? "1" : "2")
            if let message = status.message { out += #","message":""# + escape(message) + "\"" }
            out += "}"
        }
        return out + "}"
    }

    /// SPAN_KIND_INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5.
    static func kind(_ kind: SpanKind) -> Int {
        switch kind {
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        default: 1
        }
    }

    static func attributes(_ attributes: SpanAttributes) -> String {
        var items: [String] = []
        attributes.forEach { key, value in items.append(attribute(key, value)) }
        return items.sorted().joined(separator: ",")
    }

    static func attribute(_ key: String, _ value: SpanAttribute) -> String {
        #"{"key":""# + escape(key) + #"","value":"# + anyValue(value) + "}"
    }

    static func anyValue(_ value: SpanAttribute) -> String {
        switch value {
        case .int32(let v): #"{"intValue":""# + String(v) + #""}"#
        case .int64(let v): #"{"intValue":""# + String(v) + #""}"#
        case .double(let v): #"{"doubleValue":"# + (v.isFinite ? String(v) : "0") + "}"
        case .bool(let v): #"{"boolValue":"# + String(v) + "}"
        case .string(let v): #"{"stringValue":""# + escape(v) + #""}"#
        case .stringArray(let v):
            #"{"arrayValue":{"values":["# + v.map { #"{"stringValue":""# + escape($0) + #""}"# }.joined(separator: ",") + "]}}"
        case .int64Array(let v):
            #"{"arrayValue":{"values":["# + v.map { #"{"intValue":""# + String($0) + #""}"# }.joined(separator: ",") + "]}}"
        case .stringConvertible(let v): #"{"stringValue":""# + escape(v.description) + #""}"#
        default: #"{"stringValue":""# + escape("\(value)") + #""}"#
        }
    }

    static func escape(_ text: String) -> String { JSONEscaping.escape(text) }
}
