import Tracing

/// A swift-distributed-tracing `Tracer` that understands W3C `traceparent` and exports finished
/// spans over OTLP/HTTP (JSON) through `OTLPExporter`. A span continues the trace of its parent
/// context (an extracted `traceparent`, or an enclosing span) and follows its sampling decision;
/// a root span is sampled at `samplePercent`.
public struct OTLPTracer: Tracer {
    public typealias Span = OTLPSpan

    let exporter: OTLPExporter?
    let samplePercent: Double

    /// `exporter` nil: spans are made and propagated, never exported (for tests of propagation).
    public init(exporter: OTLPExporter?, samplePercent: Double = 100) {
        self.exporter = exporter
        self.samplePercent = samplePercent
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> OTLPSpan {
        var context = context()
        var random = SystemRandomNumberGenerator()
        let identity: SpanIdentity = {
            let spanID = TraceParent.randomID(bytes: 8, using: &random)
            if let parent = context.spanIdentity {
                return SpanIdentity(traceID: parent.traceID, spanID: spanID, parentSpanID: parent.spanID, sampled: parent.sampled)
            }
            let sampled = samplePercent >= 100 || Double.random(in: 0..<100, using: &random) < samplePercent
            return SpanIdentity(traceID: TraceParent.randomID(bytes: 16, using: &random), spanID: spanID, parentSpanID: nil, sampled: sampled)
        }()
        context.spanIdentity = identity
        return OTLPSpan(
            name: operationName, context: context, identity: identity, kind: kind, startNanos: instant().nanosecondsSinceEpoch,
            exporter: exporter)
    }

    public func forceFlush() { exporter?.flush() }

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier), let parent = TraceParent(header: header) else { return }
        context.spanIdentity = SpanIdentity(traceID: parent.traceID, spanID: parent.spanID, parentSpanID: nil, sampled: parent.sampled)
    }

    public func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let identity = context.spanIdentity else { return }
        injector.inject(
            TraceParent(traceID: identity.traceID, spanID: identity.spanID, sampled: identity.sampled).header, forKey: "traceparent",
            into: &carrier)
    }
}
