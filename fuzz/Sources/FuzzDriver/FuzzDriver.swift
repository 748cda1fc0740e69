/// Runs libFuzzer's driver with a Swift closure as the target. libFuzzer calls back through a C
/// function pointer, which cannot capture, so the closure waits in a global for the one run.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) private var target: ((UnsafeRawBufferPointer) -> Void)?

public func fuzz(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    target = body
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    let status = withUnsafeMutablePointer(to: &argv) { pointer in
        pointer.withMemoryRebound(to: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self, capacity: 1) { argvPointer in
            LLVMFuzzerRunDriver(&argc, argvPointer) { data, size in
                target?(UnsafeRawBufferPointer(start: data, count: size))
                return 0
            }
        }
    }
    exitProcess(status)
}

@_silgen_name("exit")
private func exitProcess(_ status: CInt) -> Never
