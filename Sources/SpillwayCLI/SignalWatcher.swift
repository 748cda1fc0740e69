import Dispatch
import Foundation

/// Turns process signals into an async sequence the main task can await.
/// `@unchecked Sendable`: the sources are only kept alive here, never touched after `init`.
final class SignalWatcher: @unchecked Sendable {
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for signo in signals {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { continuation.yield(signo) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func next() async -> Int32 {
        for await signo in stream { return signo }
        return 0
    }

    /// Waits for the next signal, or for `timeout`, whichever comes first.
    func next(orAfter timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.next() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
