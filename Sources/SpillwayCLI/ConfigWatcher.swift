import Foundation
import Logging

/// Follows the config file the way Kubernetes updates a mounted ConfigMap: the file is a symlink
/// into a directory that is swapped atomically (`..data` -> `..2026_12_01_...`), so watching the
/// file's inode or the file alone misses the change. Once a second the path is read through its
/// links, and when its text is one not tried yet (by the watcher, SIGHUP or the admin API's
/// reload), the change is applied as SIGHUP applies it: the same validation, and a bad file
/// refused (logged with its line) while the running config stays. A refused text is not retried
/// until the file changes again.
struct ConfigWatcher: Sendable {
    let path: String
    let control: GatewayControl
    let logger: Logger
    var interval: Duration = .seconds(1)

    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if control.reloadIfChanged() { logger.notice("config file changed; applied or refused as above", metadata: ["file": "\(path)"]) }
        }
    }
}
