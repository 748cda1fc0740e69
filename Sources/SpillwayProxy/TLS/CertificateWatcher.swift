import Foundation
import Synchronization

/// Notices when any of a set of files changes (its size, modification time or inode: an edit, a
/// copy over it, or a rename into place as Kubernetes does with mounted secrets), by looking once
/// a second on a thread of its own, and says so. Cheap: one `stat` per file per second.
final class CertificateWatcher: Sendable {
    private let paths: [String]
    private let stopped = Atomic<Bool>(false)
    private let onChange: @Sendable () -> Void
    static let interval = Duration.seconds(1)

    init(paths: [String], onChange: @escaping @Sendable () -> Void) {
        self.paths = paths
        self.onChange = onChange
    }

    func start() {
        let thread = Thread { [self] in
            var last = fingerprints()
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: Self.interval.seconds)
                guard !stopped.load(ordering: .relaxed) else { return }
                let now = fingerprints()
                if now != last {
                    last = now
                    onChange()
                }
            }
        }
        thread.name = "spillway-certificate-watcher"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private struct Fingerprint: Equatable {
        var size: Int64
        var modified: Int64
        var modifiedNanos: Int
        var inode: UInt64
    }

    private func fingerprints() -> [Fingerprint?] {
        paths.map { path in
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            return Fingerprint(
                size: Int64(st.st_size), modified: Int64(st.st_mtim.tv_sec), modifiedNanos: Int(st.st_mtim.tv_nsec), inode: UInt64(st.st_ino))
        }
    }
}
