import SpillwayConfig
import SpillwayS3

/// The gateway's own word on what a tenant may do (`tenants[].allow`), checked at the edge before
/// any byte reaches storage: for pools Spillway signs for, storage sees only the pool's identity,
/// so this is the only place the tenant is told apart. A tenant without rules may do anything.
enum AccessCheck {
    /// Why `context`'s request is refused, or nil when it may go on.
    static func refusal(_ context: borrowing RequestContext) -> S3Error? {
        let rules = context.identity.allow
        let request = context.request
        if !rules.isEmpty {
            let operation = request.operation.operationClass
            // A listing is judged by the prefix it lists; anything else by its key.
            let keyOrPrefix = operation == .list
                ? RequestClassifier.queryValue("prefix", in: RequestClassifier.split(context.target).query) ?? "" : request.key
            guard rules.allows(bucket: request.bucket, keyOrPrefix: keyOrPrefix, operation: operation) else {
                return S3Error(.accessDenied, "Access Denied: tenant '\(context.identity.tenant)' may not \(operation.rawValue) here.")
            }
            if let source = context.copySource, !rules.allows(bucket: source.bucket, keyOrPrefix: source.key, operation: .read) {
                return S3Error(.accessDenied, "Access Denied: tenant '\(context.identity.tenant)' may not read the copy source.")
            }
        }
        if context.copySourceElsewhere {
            return S3Error(.notImplemented, "The copy source is routed to another pool; Spillway does not copy between pools. Copy through a client (GET then PUT).")
        }
        return nil
    }
}
