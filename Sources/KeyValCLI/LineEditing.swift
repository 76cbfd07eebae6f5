/// The editing state of one input line, and what each key does to it. Pure: `Console` feeds it
/// bytes from the terminal and draws what it says; tests feed it bytes and read the line.
///
/// Emacs-style keys as in readline, the ones people reach for: arrows, Home/End, Delete,
/// Backspace, Ctrl-A/E/B/F/K/U/W/P/N/L/C/D. Characters are assumed one column wide; a line longer
/// than the terminal is still edited correctly but redrawn untidily.
struct LineEditing: Sendable {
    /// What the caller should do after a key.
    enum Outcome: Equatable {
        case redraw
        /// Enter: the line is done.
        case submit(String)
        /// Ctrl-C: the line is abandoned.
        case cancel
        /// Ctrl-D on an empty line.
        case endOfInput
        /// Ctrl-L.
        case clearScreen
        case nothing
    }

    private(set) var text: [Character] = []
    /// Characters before the cursor.
    private(set) var cursor = 0
    /// Past lines, oldest first; browsing with Up/Down edits copies, as readline does.
    private(set) var history: [String]
    private var historyIndex: Int
    /// The line being typed before browsing history began.
    private var draft: [Character] = []
    /// Bytes of an escape sequence or a UTF-8 character not yet complete.
    private var pending: [UInt8] = []
    private var afterCarriageReturn = false

    init(history: [String] = []) {
        self.history = history
        self.historyIndex = history.count
    }

    var line: String { String(text) }

    private mutating func startNewLine() {
        text = []
        cursor = 0
        draft = []
        historyIndex = history.count
    }

    /// Adds a submitted line to the history (not blanks, not a repeat of the last one).
    private mutating func remember(_ line: String) {
        guard !line.allSatisfy(\.isWhitespace), history.last != line else { return }
        history.append(line)
    }

    /// Feeds bytes as read from the terminal; returns one outcome per completed key, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Outcome] {
        var outcomes: [Outcome] = []
        for byte in bytes {
            // A pasted "\r\n" is one line end, not a line and an empty one.
            defer { afterCarriageReturn = byte == 0x0D }
            if byte == 0x0A && afterCarriageReturn && pending.isEmpty { continue }
            pending.append(byte)
            guard let outcome = takeKey() else { continue }
            outcomes.append(outcome)
            switch outcome {
            case .submit(let line):
                // What follows (pasted lines) starts a new line at once.
                remember(line)
                startNewLine()
            case .cancel:
                startNewLine()
            default:
                break
            }
        }
        return outcomes
    }

    /// Interprets `pending` if it holds a complete key, and clears it; nil while incomplete.
    private mutating func takeKey() -> Outcome? {
        let first = pending[0]
        if first == 0x1B {
            guard let key = Self.escapeKey(pending) else { return nil }
            pending = []
            return key.map { apply($0) } ?? .nothing
        }
        if first < 0x20 || first == 0x7F {
            pending = []
            return control(first)
        }
        // UTF-8: wait for the whole character.
        let length = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2
        guard pending.count >= length else { return nil }
        defer { pending = [] }
        guard let string = String(validating: pending, as: UTF8.self) else { return .nothing }
        for character in string { insert(character) }
        return .redraw
    }

    private enum Key {
        case up, down, left, right, home, end, delete
    }

    /// The key an escape sequence names: nil while it may still grow, `.some(nil)` for one that
    /// is complete but unknown (ignored).
    private static func escapeKey(_ bytes: [UInt8]) -> Key?? {
        guard bytes.count >= 2 else { return nil }
        guard bytes[1] == UInt8(ascii: "[") || bytes[1] == UInt8(ascii: "O") else { return .some(nil) }
        guard bytes.count >= 3 else { return nil }
        let last = bytes[bytes.count - 1]
        // CSI parameters are digits and ';'; the final byte is 0x40...0x7E.
        guard (0x40...0x7E).contains(last) else { return bytes.count > 8 ? .some(nil) : nil }
        let parameters = String(decoding: bytes[2..<(bytes.count - 1)], as: UTF8.self)
        switch (Character(Unicode.Scalar(last)), parameters) {
        case ("A", _): return .some(.up)
        case ("B", _): return .some(.down)
        case ("C", _): return .some(.right)
        case ("D", _): return .some(.left)
        case ("H", _): return .some(.home)
        case ("F", _): return .some(.end)
        case ("~", "1"), ("~", "7"): return .some(.home)
        case ("~", "4"), ("~", "8"): return .some(.end)
        case ("~", "3"): return .some(.delete)
        default: return .some(nil)
        }
    }

    private mutating func apply(_ key: Key) -> Outcome {
        switch key {
        case .up: return browseHistory(by: -1)
        case .down: return browseHistory(by: 1)
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(text.count, cursor + 1)
        case .home: cursor = 0
        case .end: cursor = text.count
        case .delete: if cursor < text.count { text.remove(at: cursor) }
        }
        return .redraw
    }

    private mutating func control(_ byte: UInt8) -> Outcome {
        switch byte {
        case 0x0D, 0x0A: return .submit(line)
        case 0x7F, 0x08:  // Backspace
            guard cursor > 0 else { return .nothing }
            cursor -= 1
            text.remove(at: cursor)
        case 0x01: cursor = 0  // Ctrl-A
        case 0x05: cursor = text.count  // Ctrl-E
        case 0x02: cursor = max(0, cursor - 1)  // Ctrl-B
        case 0x06: cursor = min(text.count, cursor + 1)  // Ctrl-F
        case 0x0B: text.removeSubrange(cursor...)  // Ctrl-K
        case 0x15:  // Ctrl-U
            text.removeSubrange(..<cursor)
            cursor = 0
        case 0x17:  // Ctrl-W: the word before the cursor and the blanks after it
            var start = cursor
            while start > 0, text[start - 1] == " " { start -= 1 }
            while start > 0, text[start - 1] != " " { start -= 1 }
            text.removeSubrange(start..<cursor)
            cursor = start
        case 0x10: return browseHistory(by: -1)  // Ctrl-P
        case 0x0E: return browseHistory(by: 1)  // Ctrl-N
        case 0x0C: return .clearScreen  // Ctrl-L
        case 0x03: return .cancel  // Ctrl-C
        case 0x04:  // Ctrl-D
            if text.isEmpty { return .endOfInput }
            if cursor < text.count { text.remove(at: cursor) }
        default: return .nothing
        }
        return .redraw
    }

    private mutating func insert(_ character: Character) {
        text.insert(character, at: cursor)
        cursor += 1
    }

    private mutating func browseHistory(by step: Int) -> Outcome {
        let target = historyIndex + step
        guard (0...history.count).contains(target) else { return .nothing }
        if historyIndex == history.count { draft = text }
        historyIndex = target
        text = target == history.count ? draft : Array(history[target])
        cursor = text.count
        return .redraw
    }
}
