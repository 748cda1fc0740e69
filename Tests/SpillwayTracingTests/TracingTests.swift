import Foundation
import SpillwayTracing
import Testing
import Tracing

@Suite("W3C trace context")
struct TraceParentTests {
    @Test func parsesAndWritesTheW3CExample() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let parent = TraceParent(header: header)
        #expect(parent?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && parent?.spanID == "00f067aa0ba902b7" && parent?.sampled == true)
        #expect(parent?.header == header)
        #expect(TraceParent(header: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00")?.sampled == false)
    }

    @Test func refusesWhatIsNotATraceparent() {
        for bad in ["", "00-xyz-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"] {
            #expect(TraceParent(header: bad) == nil, "\(bad)")
        }
    }
}

/// Reads `traceparent` from a dictionary, as the gateway reads it from a request head.
struct Headers: Extractor, Injector {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

@Suite("The OTLP tracer")
struct OTLPTracerTests {
    @Test func aSpanContinuesTheTraceItWasGivenAndFollowsItsSamplingDecision() {
        let tracer = OTLPTracer(exporter: nil)
        var context = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"], into: &context, using: Headers())
        let span = tracer.startSpan("GetObject", context: context, ofKind: .server)
        var out: [String: String] = [:]
        tracer.inject(span.context, into: &out, using: Headers())
        let child = TraceParent(header: out["traceparent"] ?? "")
        #expect(child?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(child?.spanID != "00f067aa0ba902b7" && child?.sampled == true)

        var unsampled = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"], into: &unsampled, using: Headers())
        var out2: [String: String] = [:]
        tracer.inject(tracer.startSpan("GetObject", context: unsampled, ofKind: .server).context, into: &out2, using: Headers())
        #expect(TraceParent(header: out2["traceparent"] ?? "")?.sampled == false)
    }

    @Test func aRootSpanStartsANewTraceSampledAtTheConfiguredShare() {
        let never = OTLPTracer(exporter: nil, samplePercent: 0)
        let always = OTLPTracer(exporter: nil, samplePercent: 100)
        var a: [String: String] = [:]
        var b: [String: String] = [:]
        never.inject(never.startSpan("x", context: .topLevel, ofKind: .server).context, into: &a, using: Headers())
        always.inject(always.startSpan("x", context: .topLevel, ofKind: .server).context, into: &b, using: Headers())
        #expect(TraceParent(header: a["traceparent"] ?? "")?.sampled == false)
        #expect(TraceParent(header: b["traceparent"] ?? "")?.sampled == true)
        #expect(a["traceparent"]?.dropFirst(3).prefix(32) != b["traceparent"]?.dropFirst(3).prefix(32))
    }
}

@Suite("OTLP/HTTP JSON bodies")
struct OTLPJSONTests {
    @Test func aSpanIsWrittenInTheOTLPJSONMapping() throws {
        var attributes: SpanAttributes = [:]
        attributes["aws.s3.bucket"] = "train"
        attributes["http.response.status_code"] = 200
        attributes["spillway.hedged"] = false
        let span = FinishedSpan(
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "1111111111111111", parentSpanID: "00f067aa0ba902b7", name: "GetObject \"q\"",
            kind: .server, startNanos: 1_000, endNanos: 2_500, attributes: attributes,
            events: [SpanEvent(name: "attempt", at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 1_200), attributes: ["node": "n1"])],
            status: SpanStatus(code: .error, message: "SlowDown"))
        let body = OTLPJSON.body([span], serviceName: "spillway", version: "0.1.0")
        let request = try JSONDecoder().decode(Export.self, from: Data(body.utf8))
        let resource = try #require(request.resourceSpans.first)
        #expect(resource.resource.attributes.first?.key == "service.name")
        let s = try #require(resource.scopeSpans.first?.spans.first)
        #expect(s.traceId == "4bf92f3577b34da6a3ce929d0e0e4736" && s.parentSpanId == "00f067aa0ba902b7")
        #expect(s.name == "GetObject \"q\"" && s.kind == 2)
        #expect(s.startTimeUnixNano == "1000" && s.endTimeUnixNano == "2500")
        let attrs = Dictionary(uniqueKeysWithValues: s.attributes.map { ($0.key, $0.value) })
        #expect(attrs["aws.s3.bucket"]?.stringValue == "train")
        #expect(attrs["http.response.status_code"]?.intValue == "200")
        #expect(attrs["spillway.hedged"]?.boolValue == false)
        #expect(s.events.first?.timeUnixNano == "1200" && s.events.first?.name == "attempt")
        #expect(s.status?.code == 2)
    }
}

/// The parts of opentelemetry-proto's ExportTraceServiceRequest JSON mapping the test reads.
struct Export: Decodable {
    struct KeyValue: Decodable {
        struct Value: Decodable {
            var stringValue: String?
            var intValue: String?
            var boolValue: Bool?
        }
        var key: String
        var value: Value
    }
    struct Resource: Decodable { var attributes: [KeyValue] }
    struct Event: Decodable {
        var timeUnixNano: String
        var name: String
    }
    struct Status: Decodable { var code: Int }
    struct Span: Decodable {
        var traceId: String
        var spanId: String
        var parentSpanId: String?
        var name: String
        var kind: Int
        var startTimeUnixNano: String
        var endTimeUnixNano: String
        var attributes: [KeyValue]
        var events: [Event]
        var status: Status?
    }
    struct Scope: Decodable { var spans: [Span] }
    struct ResourceSpans: Decodable {
        var resource: Resource
        var scopeSpans: [Scope]
    }
    var resourceSpans: [ResourceSpans]
}
