/// Request counts: every request sent (`attempts`) ends as a successful read, a successful write, a
/// conflict (a compare-and-set that found another version) or an error; until it ends it is only
/// an attempt.
package struct Tally: Sendable, Equatable {
    package var attempts = 0
    package var reads = 0
    package var writes = 0
    package var conflicts = 0
    package var errors = 0

    package init(attempts: Int = 0, reads: Int = 0, writes: Int = 0, conflicts: Int = 0, errors: Int = 0) {
        self.attempts = attempts
        self.reads = reads
        self.writes = writes
        self.conflicts = conflicts
        self.errors = errors
    }

    /// Successful operations: reads and writes (a conflict is an answer, but changed nothing).
    package var ops: Int { reads + writes }

    package static func + (lhs: Tally, rhs: Tally) -> Tally {
        Tally(
            attempts: lhs.attempts + rhs.attempts, reads: lhs.reads + rhs.reads,
            writes: lhs.writes + rhs.writes,
            conflicts: lhs.conflicts + rhs.conflicts, errors: lhs.errors + rhs.errors)
    }

    package static func - (lhs: Tally, rhs: Tally) -> Tally {
        Tally(
            attempts: lhs.attempts - rhs.attempts, reads: lhs.reads - rhs.reads,
            writes: lhs.writes - rhs.writes,
            conflicts: lhs.conflicts - rhs.conflicts, errors: lhs.errors - rhs.errors)
    }
}
