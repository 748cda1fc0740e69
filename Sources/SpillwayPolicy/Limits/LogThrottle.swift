/// One log line per interval for an event that can come in floods (requests shed, forged signatures
/// refused), carrying the count held back since the last line: a flood must not turn the log into a
/// second flood, nor cost the event loop a formatted line per request. Every such event is still
/// counted in the metrics and written to the access log.
public struct LogThrottle: Sendable, Equatable {
    public let interval: Duration
    private var last: Moment?
    private var held = 0

    public init(interval: Duration = .seconds(1)) { self.interval = interval }

    /// An event at `now`: nil to stay silent, or how many events were held back before this one.
    public mutating func admit(at now: Moment) -> Int? {
        if let last, now.since(last) < interval {
            held += 1
            return nil
        }
        defer {
            last = now
            held = 0
        }
        return held
    }
}
