import Synchronization
import Tracing

/// Where a span stands in its trace, carried in the `InstrumentationContext`.
struct SpanIdentity: Sendable, Hashable {
    let traceID: String
    let spanID: String
    let parentSpanID: String?
    let sampled: Bool
}

enum SpanIdentityKey: InstrumentationContextKey {
    typealias Value = SpanIdentity
}

extension InstrumentationContext {
    var spanIdentity: SpanIdentity? {
        get { self[SpanIdentityKey.self] }
        set { self[SpanIdentityKey.self] = newValue }
    }
}

/// A span as it is exported: plain values, written out by `OTLPJSON`.
public struct FinishedSpan: Sendable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var name: String
    public var kind: SpanKind
    public var startNanos: UInt64
    public var endNanos: UInt64
    public var attributes: SpanAttributes
    public var events: [SpanEvent]
    public var status: SpanStatus?

    public init(
        traceID: String, spanID: String, parentSpanID: String?, name: String, kind: SpanKind, startNanos: UInt64, endNanos: UInt64,
        attributes: SpanAttributes, events: [SpanEvent], status: SpanStatus?
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startNanos = startNanos
        self.endNanos = endNanos
        self.attributes = attributes
        self.events = events
        self.status = status
    }
}

/// One span of `OTLPTracer`. A span that is not sampled records nothing and is never exported.
public final class OTLPSpan: Span {
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var events: [SpanEvent] = []
        var status: SpanStatus?
        var ended = false
    }

    public let context: InstrumentationContext
    private let identity: SpanIdentity
    private let kind: SpanKind
    private let startNanos: UInt64
    private let state: Mutex<State>
    private let exporter: OTLPExporter?

    init(name: String, context: InstrumentationContext, identity: SpanIdentity, kind: SpanKind, startNanos: UInt64, exporter: OTLPExporter?) {
        self.context = context
        self.identity = identity
        self.kind = kind
        self.startNanos = startNanos
        self.exporter = identity.sampled ? exporter : nil
        state = Mutex(State(name: name))
    }

    public var isRecording: Bool { exporter != nil && !state.withLock { $0.ended } }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set {
            guard exporter != nil else { return }
            state.withLock { $0.attributes = newValue }
        }
    }

    public func setStatus(_ status: SpanStatus) { state.withLock { $0.status = status } }

    public func addEvent(_ event: SpanEvent) {
        guard exporter != nil else { return }
        state.withLock { $0.events.append(event) }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        var attributes = attributes
        attributes["exception.message"] = "\(error)"
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: attributes))
    }

    public func addLink(_ link: SpanLink) {}

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let finished = state.withLock { s -> State? in
            guard !s.ended else { return nil }
            s.ended = true
            return s
        }
        guard let finished, let exporter else { return }
        exporter.add(
            FinishedSpan(
                traceID: identity.traceID, spanID: identity.spanID, parentSpanID: identity.parentSpanID, name: finished.name, kind: kind,
                startNanos: startNanos, endNanos: instant().nanosecondsSinceEpoch, attributes: finished.attributes,
                events: finished.events, status: finished.status))
    }
}
