/// A flag's value the tool cannot use: printed as one line, and the exit code is 2.
package struct UsageError: Error, Equatable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
