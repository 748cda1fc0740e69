import Tracing

/// The span of one request, when a tracer is configured: it continues the client's W3C trace
/// (`traceparent`), notes each attempt as an event, and ends with the request's outcome. The
/// storage nodes get the client's `traceparent` unchanged (a signed header must not be rewritten).
struct RequestSpan: Sendable {
    let span: any Span
    /// The trace this request belongs to (the client's, or a new one), for the access log.
    let traceID: String?

    init(tracer: any Tracer, operation: String, traceparent: String?) {
        var context = InstrumentationContext.topLevel
        if let traceparent { tracer.extract(traceparent, into: &context, using: TraceparentReader()) }
        span = tracer.startSpan(operation, context: context, ofKind: .server)
        var propagated: String?
        tracer.inject(span.context, into: &propagated, using: TraceparentWriter())
        traceID = propagated.flatMap { header in
            let parts = header.split(separator: "-")
            return parts.count == 4 ? String(parts[1]) : nil
        }
    }

    func attempt(node: String, kind: String) {
        guard span.isRecording else { return }
        span.addEvent(SpanEvent(name: "attempt", attributes: ["spillway.node": .string(node), "spillway.attempt": .string(kind)]))
    }

    func finish(_ s: RequestSummary) {
        guard span.isRecording else {
            span.end()
            return
        }
        span.updateAttributes { a in
            a["rpc.system"] = "aws-api"
            a["rpc.method"] = s.operation
            if let bucket = s.bucket { a["aws.s3.bucket"] = bucket }
            if let key = s.key { a["aws.s3.key"] = key }
            a["http.response.status_code"] = s.status
            if let code = s.errorCode { a["aws.s3.error_code"] = code }
            a["client.address"] = s.clientAddress ?? ""
            a["spillway.request_id"] = s.requestID
            a["spillway.tenant"] = s.tenant
            a["spillway.pool"] = s.pool
            a["spillway.nodes"] = s.attempts.map(\.url)
            a["spillway.retries"] = s.retries
            a["spillway.hedged"] = s.hedged
            a["spillway.resumes"] = s.resumes
            a["spillway.limiter"] = s.decision.rawValue
            a["spillway.bytes_in"] = s.bytesIn
            a["spillway.bytes_out"] = s.bytesOut
        }
        if s.status >= 500 || s.aborted {
            span.setStatus(SpanStatus(code: .error, message: s.errorCode ?? (s.aborted ? "response cut" : "status \(s.status)")))
        }
        span.end()
    }
}

/// Reads a context from the request's `traceparent` value.
struct TraceparentReader: Extractor {
    func extract(key: String, from carrier: String) -> String? { key == "traceparent" ? carrier : nil }
}

/// Writes a context as a `traceparent` value.
struct TraceparentWriter: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout String?) { if key == "traceparent" { carrier = value } }
}
