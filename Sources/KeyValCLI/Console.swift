import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The client's terminal: answers, errors and notices out; lines in.
///
/// On a terminal it edits lines itself (`LineEditing`) in raw mode, so a notice that arrives while
/// the user types (a reconnect, a warning from the heartbeat) is printed above the prompt and the
/// half-typed line is drawn again below it. On a pipe it reads plain lines and keeps stdout for
/// answers: notices go to stderr.
final class Console: Sendable {
    let isInteractive: Bool
    /// Notices are dropped (one-shot mode: the answer is all that is wanted).
    let isQuiet: Bool
    private let state: Mutex<State>
    private let historyFile: String?

    private struct State: Sendable {
        var editing: LineEditing
        /// The prompt while a line is being read.
        var prompt: String?
        /// Lines submitted in one burst (a paste) after the one being returned.
        var submitted: [String] = []
    }

    /// - Parameter historyFile: where lines typed at a terminal are kept across runs; nil for none.
    init(interactive: Bool, quiet: Bool = false, historyFile: String?) {
        self.isInteractive = interactive
        self.isQuiet = quiet
        self.historyFile = interactive ? historyFile : nil
        let history = self.historyFile.map(Self.loadHistory) ?? []
        self.state = Mutex(State(editing: LineEditing(history: history)))
    }

    /// Whether standard input and output are both a terminal.
    static var standardStreamsAreTerminal: Bool { isatty(0) == 1 && isatty(1) == 1 }

    // MARK: Output

    /// An answer to a command: stdout.
    func answer(_ text: String) { write(1, text + "\n") }

    /// A failed command: stderr (on a terminal both show alike; scripts get clean stdout).
    func error(_ text: String) { write(2, text + "\n") }

    /// Something the user did not ask for (a reconnect, a warning): above the prompt on a
    /// terminal, stderr otherwise.
    func notice(_ text: String) {
        if isQuiet { return }
        guard isInteractive else { return write(2, text + "\n") }
        state.withLock { state in
            if let prompt = state.prompt {
                Self.write(1, "\r\u{1B}[K" + text + "\n")
                Self.draw(prompt: prompt, state.editing)
            } else {
                Self.write(1, text + "\n")
            }
        }
    }

    /// A line on stderr before any console exists (flag errors).
    static func writeError(_ line: String) { write(2, line + "\n") }

    /// Writes under the lock, so output never lands in the middle of a redrawn prompt.
    private func write(_ fd: Int32, _ text: String) {
        state.withLock { _ in Self.write(fd, text) }
    }

    /// Writes without taking the lock: for callers that hold it.
    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // stdout closed: nothing useful to do
            }
            bytes = bytes.dropFirst(written)
        }
    }

    // MARK: Input

    /// The next line, without its line end; nil at the end of input (Ctrl-D on a terminal).
    func readLine(prompt: String) async -> String? {
        if isInteractive { return await editLine(prompt: prompt) }
        return await Self.readPlainLine()
    }

    private func editLine(prompt: String) async -> String? {
        if let pasted = state.withLock({ $0.submitted.isEmpty ? nil : $0.submitted.removeFirst() }) {
            write(1, prompt + pasted + "\n")
            appendToHistory(pasted)
            return pasted
        }
        RawMode.enter()
        defer { RawMode.leave() }
        state.withLock { state in
            state.prompt = prompt
            Self.draw(prompt: prompt, state.editing)
        }
        while true {
            let bytes = await Self.readStandardInput()
            let result: String?? = state.withLock { state in
                guard !bytes.isEmpty else {
                    state.prompt = nil
                    Self.write(1, "\n")
                    return .some(nil)
                }
                var line: String??
                // Drawn once after the whole read, not once per key: a paste is one redraw.
                var needsDrawing = false
                for outcome in state.editing.feed(bytes) {
                    switch outcome {
                    case .redraw:
                        needsDrawing = true
                    case .submit(let submitted):
                        if line == nil {
                            Self.write(1, "\r\u{1B}[K" + prompt + submitted + "\n")
                            line = .some(submitted)
                        } else {
                            state.submitted.append(submitted)
                        }
                    case .cancel:
                        Self.write(1, "^C\n")
                        needsDrawing = true
                    case .endOfInput:
                        if line == nil {
                            Self.write(1, "\n")
                            line = .some(nil)
                        }
                    case .clearScreen:
                        Self.write(1, "\u{1B}[H\u{1B}[2J")
                        needsDrawing = true
                    case .nothing:
                        break
                    }
                }
                if line != nil {
                    state.prompt = nil
                } else if needsDrawing {
                    Self.draw(prompt: prompt, state.editing)
                }
                return line
            }
            if let result {
                if let line = result { appendToHistory(line) }
                return result
            }
        }
    }

    /// Prompt, line, erase the rest, and the cursor put back where it belongs.
    private static func draw(prompt: String, _ editing: LineEditing) {
        var output = "\r" + prompt + editing.line + "\u{1B}[K"
        let after = editing.text.count - editing.cursor
        if after > 0 { output += "\u{1B}[\(after)D" }
        write(1, output)
    }

    /// Blocking reads run on NIO's thread pool, never on the cooperative pool.
    private static func readStandardInput() async -> [UInt8] {
        (try? await NIOThreadPool.singleton.runIfActive {
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let count = buffer.withUnsafeMutableBytes { systemRead(0, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                return Array(buffer.prefix(max(0, count)))
            }
        }) ?? []
    }

    private static func readPlainLine() async -> String? {
        (try? await NIOThreadPool.singleton.runIfActive { () -> String? in
            guard var line = Swift.readLine(strippingNewline: true) else { return nil }
            if line.hasSuffix("\r") { line.removeLast() }
            return line
        }) ?? nil
    }

    // MARK: History

    private static let historyLimit = 500

    private static func loadHistory(from path: String) -> [String] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var lines: [String] = []
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) > 0, let buffer {
            var line = String(cString: buffer)
            if line.hasSuffix("\n") { line.removeLast() }
            if !line.isEmpty { lines.append(line) }
        }
        return Array(lines.suffix(historyLimit))
    }

    private func appendToHistory(_ line: String) {
        guard let historyFile, !line.allSatisfy(\.isWhitespace) else { return }
        let fd = open(historyFile, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        Self.write(fd, line + "\n")
    }
}

/// The terminal's raw mode while a line is edited: keys arrive one by one, unechoed, Ctrl-C as a
/// byte. Output processing stays on, so "\n" still moves to the start of the next line. The
/// saved settings are restored after each line, at exit (also a trap's, which runs no `defer`),
/// and on SIGINT/SIGTERM/SIGHUP/SIGQUIT, so the shell is never left raw.
enum RawMode {
    // Written once per line by the REPL's task; read by the signal and exit handlers, which
    // only restore what it holds.
    nonisolated(unsafe) private static var saved: termios?
    private static let installHandlers: Void = {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            signal(signalNumber) { received in
                RawMode.leave()
                _exit(128 + received)
            }
        }
        atexit { RawMode.leave() }
    }()

    static func enter() {
        _ = installHandlers
        var settings = termios()
        guard tcgetattr(0, &settings) == 0 else { return }
        saved = settings
        settings.c_lflag &= ~tcflag_t(ICANON | ECHO | IEXTEN | ISIG)
        settings.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &settings.c_cc) { controlCharacters in
            controlCharacters[Int(VMIN)] = 1
            controlCharacters[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSADRAIN, &settings)
    }

    static func leave() {
        guard var settings = saved else { return }
        tcsetattr(0, TCSADRAIN, &settings)
    }
}

// At file scope, so these name the C functions and not `Console`'s own `write`, on Glibc and
// Darwin alike.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, bytes, count)
}
private func systemRead(_ fd: Int32, _ bytes: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, bytes, count)
}
