import Linearizability
import Testing

/// Our checker against Porcupine's published histories and verdicts: before we trust its
/// verdicts on our own histories, it must agree with a trusted checker on every one of these.
@Suite("Porcupine histories")
struct PorcupineTests {
    /// Checks one data file with no step budget.
    static func verdict(of file: String) throws -> LinearizabilityResult {
        let text = try PorcupineHistories.text(of: file)
        if file.hasPrefix("jepsen/") {
            return checkLinearizability(RegisterModel(), history: try PorcupineHistories.jepsenHistory(text))
        } else {
            // Porcupine's kv histories start every key at "".
            return checkLinearizability(
                KeyValueModel(initialValue: ""), history: try PorcupineHistories.kvHistory(text))
        }
    }

    @Test("our verdict equals Porcupine's", arguments: PorcupineHistories.cases)
    func verdictMatches(_ testCase: PorcupineHistories.Case) throws {
        guard let isLinearizable = testCase.isLinearizable else {
            Issue.record("cannot load the Porcupine data: \(testCase.loadError ?? "?")")
            return
        }
        let result = try Self.verdict(of: testCase.file)
        switch result {
        case .linearizable:
            #expect(isLinearizable, "\(testCase.file): we say linearizable, Porcupine says not")
        case .notLinearizable:
            #expect(!isLinearizable, "\(testCase.file): we say \(result), Porcupine says linearizable")
        case .unknown:
            Issue.record("\(testCase.file): .unknown without a step budget")
        }
    }

    @Test("expected.json lists every data file: 26 linearizable, 82 not")
    func dataIsComplete() throws {
        let expected = try PorcupineHistories.loadExpected()
        #expect(expected.count == 108)
        #expect(expected.values.filter { $0 }.count == 26)
        #expect(expected.values.filter { !$0 }.count == 82)
        let jepsen = (0..<103).map { String(format3($0)) }.filter { $0 != "jepsen/etcd_095.log" }
        let kv = ["c01", "c10", "c50"].flatMap { ["kv/\($0)-ok.txt", "kv/\($0)-bad.txt"] }
        #expect(Set(expected.keys) == Set(jepsen + kv))
    }

    @Test("etcd_095.log is empty and an empty history is linearizable")
    func emptyLog() throws {
        let history = try PorcupineHistories.jepsenHistory(PorcupineHistories.text(of: "jepsen/etcd_095.log"))
        #expect(history.isEmpty)
        #expect(checkLinearizability(RegisterModel(), history: history) == .linearizable)
    }

    @Test("the Jepsen parser keeps :info operations with unknown outcome and drops :fail")
    func jepsenParser() throws {
        let log = """
            INFO  jepsen.util - 0\t:invoke\t:write\t1
            INFO  jepsen.util - 1   :invoke :cas    [1 2]
            INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]
            some other line
            INFO  jepsen.util - 0\t:ok\t:write\t1
            INFO  jepsen.util - 1\t:info\t:cas\t:timed-out
            INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]
            INFO  jepsen.util - 3\t:invoke\t:read\tnil
            INFO  jepsen.util - 3\t:ok\t:read\t2
            """
        let history = try PorcupineHistories.jepsenHistory(log)
        #expect(
            history == [
                .completed(clientID: 0, .write(1), invokedAt: 0, returnedAt: 4, output: .write),
                .unknownOutcome(clientID: 1, .cas(expected: 1, new: 2), invokedAt: 1),
                .completed(clientID: 3, .read, invokedAt: 7, returnedAt: 8, output: .read(2)),
            ])
    }

    @Test("the kv parser reads EDN maps")
    func kvParser() throws {
        let log = """
            {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
            {:process 1, :type :invoke, :f :get, :key "0", :value nil}
            {:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
            {:process 1, :type :ok, :f :get, :key "0", :value ""}
            """
        let history = try PorcupineHistories.kvHistory(log)
        #expect(
            history == [
                .completed(
                    clientID: 0, .append(key: "0", value: "x 0 0 y"), invokedAt: 0, returnedAt: 2,
                    output: .append),
                .completed(clientID: 1, .get(key: "0"), invokedAt: 1, returnedAt: 3, output: .get("")),
            ])
    }

    @Test("a step budget makes a hard Porcupine history .unknown, the same every time")
    func budgetOnRealHistory() throws {
        let history = try PorcupineHistories.jepsenHistory(PorcupineHistories.text(of: "jepsen/etcd_000.log"))
        let first = checkLinearizability(RegisterModel(), history: history, maxSteps: 20)
        #expect(first == .unknown)
        #expect(checkLinearizability(RegisterModel(), history: history, maxSteps: 20) == first)
    }
}

/// `jepsen/etcd_007.log` for 7.
private func format3(_ number: Int) -> String {
    let digits = String(number)
    return "jepsen/etcd_" + String(repeating: "0", count: 3 - digits.count) + digits + ".log"
}
