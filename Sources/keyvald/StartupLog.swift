import Foundation
import Synchronization

/// Holds log lines back while the daemon starts, so a start that fails prints exactly one line
/// on stderr, the error (the contract in README: one line and an exit code), rather than the
/// steps that went well before it. Once the node serves (and, for a joiner, has joined), or when
/// the process ends normally, the held lines are written in order with their own timestamps, so
/// nothing is lost from a start that succeeds.
enum StartupLog {
    private enum Phase {
        case holding([String])
        case open
    }

    /// Beyond this many held lines they are written anyway: a start that logs so much (a join
    /// retrying for minutes) is better watched than kept silent.
    static let maxHeldLines = 200

    private static let phase = Mutex(Phase.holding([]))

    /// Writes `line` (newline included) to stderr, or holds it while starting.
    static func write(_ line: String) {
        let toWrite: [String] = phase.withLock { phase in
            guard case .holding(var held) = phase else { return [line] }
            held.append(line)
            if held.count > maxHeldLines {
                phase = .open
                return held
            }
            phase = .holding(held)
            return []
        }
        for line in toWrite { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// The start succeeded: writes what was held; later lines go straight to stderr.
    static func open() {
        let held: [String] = phase.withLock { phase in
            defer { phase = .open }
            if case .holding(let held) = phase { return held }
            return []
        }
        for line in held { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// The start failed: drops what was held (the error line says what went wrong) and writes
    /// nothing more.
    static func discard() {
        phase.withLock { phase in
            if case .holding = phase { phase = .holding([]) }
        }
    }
}
