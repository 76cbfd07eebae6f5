import Testing

@testable import KeyValCLI

@Suite("Line editing")
struct LineEditingTests {
    private func type(_ text: String, into editing: inout LineEditing) -> [LineEditing.Outcome] {
        editing.feed(Array(text.utf8))
    }

    @Test("typing, moving and deleting edit the line where the cursor is")
    func editing() {
        var editing = LineEditing()
        _ = type("GET ky", into: &editing)
        _ = type("\u{1B}[D", into: &editing)  // Left
        _ = type("e", into: &editing)
        #expect(editing.line == "GET key")
        _ = type("\u{01}", into: &editing)  // Ctrl-A
        _ = type("\u{1B}[3~", into: &editing)  // Delete
        #expect(editing.line == "ET key")
        _ = type("\u{05}\u{7F}", into: &editing)  // Ctrl-E, Backspace
        #expect(editing.line == "ET ke")
        _ = type("\u{17}", into: &editing)  // Ctrl-W
        #expect(editing.line == "ET ")
        _ = type("\u{15}", into: &editing)  // Ctrl-U
        #expect(editing.line.isEmpty && editing.cursor == 0)
    }

    @Test("escape sequences split across reads still count as one key")
    func splitEscape() {
        var editing = LineEditing()
        _ = type("ab", into: &editing)
        #expect(type("\u{1B}", into: &editing).isEmpty)
        #expect(type("[", into: &editing).isEmpty)
        #expect(type("D", into: &editing) == [.redraw])
        #expect(editing.cursor == 1)
    }

    @Test("multi-byte characters are inserted whole, even split across reads")
    func utf8() {
        var editing = LineEditing()
        let bytes = Array("é".utf8)
        #expect(editing.feed(bytes[..<1]).isEmpty)
        #expect(editing.feed(bytes[1...]) == [.redraw])
        #expect(editing.line == "é")
    }

    @Test("enter submits, and a pasted block gives one line per line end")
    func submit() {
        var editing = LineEditing()
        let outcomes = type("SET a 1\r\nSET b 2\rGET", into: &editing)
        #expect(
            outcomes.filter { if case .submit = $0 { true } else { false } } == [
                .submit("SET a 1"), .submit("SET b 2"),
            ])
        #expect(editing.line == "GET")
    }

    @Test("Up and Down browse the history and come back to the draft")
    func history() {
        var editing = LineEditing(history: ["GET a"])
        _ = type("SET b 2\r", into: &editing)
        _ = type("dra", into: &editing)
        _ = type("\u{1B}[A", into: &editing)
        #expect(editing.line == "SET b 2")
        _ = type("\u{1B}[A", into: &editing)
        #expect(editing.line == "GET a")
        #expect(type("\u{1B}[A", into: &editing) == [.nothing])
        _ = type("\u{1B}[B\u{1B}[B", into: &editing)
        #expect(editing.line == "dra")
        // A repeated line is remembered once; blanks not at all.
        _ = type("\u{15}SET b 2\r   \r", into: &editing)
        #expect(editing.history == ["GET a", "SET b 2"])
    }

    @Test("Ctrl-C abandons the line, Ctrl-D ends input only on an empty line")
    func controlKeys() {
        var editing = LineEditing()
        #expect(type("abc\u{03}", into: &editing).last == .cancel)
        #expect(editing.line.isEmpty)
        _ = type("xy\u{01}", into: &editing)
        #expect(type("\u{04}", into: &editing) == [.redraw])
        #expect(editing.line == "y")
        _ = type("\u{05}\u{15}", into: &editing)
        #expect(type("\u{04}", into: &editing) == [.endOfInput])
    }
}
