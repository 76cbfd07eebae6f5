#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The entry point: flags, then the run; exits with the run's code.
package enum BenchMain {
    package static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        switch BenchCommand.interpret(arguments) {
        case .help(let text):
            LineWriter.standardOutput.write(text)
            exit(0)
        case .usage(let line):
            LineWriter.standardError.write(line)
            exit(2)
        case .run(let configuration):
            exit(await BenchRun(configuration: configuration).run())
        }
    }
}
