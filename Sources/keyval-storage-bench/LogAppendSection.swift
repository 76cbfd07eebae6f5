import Raft

/// `SQLiteLogStore.persist` throughput: batches of 128-byte entries appended one transaction
/// (so one sync, `synchronous=FULL`) per batch, as the node does for each `Ready`. A fresh
/// database per batch size; no compaction during the run.
struct LogAppendSection: BenchSection {
    let name = "log"
    let summary = "SQLiteLogStore.persist of 1, 16 and 256 entries of 128 bytes per batch, one sync each"
    static let batchSizes = [1, 16, 256]
    static let entryBytes = 128

    func run(_ context: BenchContext) throws {
        print(
            "== log: SQLiteLogStore.persist, \(Self.entryBytes)-byte entries, one transaction and one sync per batch"
        )
        var table = Table(
            "entries/batch", "batches", "entries/s", "batches/s", "µs/batch mean", "p50", "p99", "max",
            "payload MB/s",
            "p50 in fsyncs")
        for batchSize in Self.batchSizes {
            let directory = try context.directory(for: "\(name)-\(batchSize)")
            let measurement = try measure(batchSize: batchSize, in: directory, seconds: context.seconds)
            let entriesPerSecond = measurement.perSecond * Double(batchSize)
            table.add(
                "\(batchSize)", "\(measurement.count)", fixed(entriesPerSecond), fixed(measurement.perSecond),
                fixed(measurement.mean, 1), fixed(measurement.quantile(0.5), 1),
                fixed(measurement.quantile(0.99), 1),
                fixed(measurement.quantile(1), 1), fixed(entriesPerSecond * Double(Self.entryBytes) / 1e6, 2),
                context.fsyncMedianMicroseconds.map { fixed(measurement.quantile(0.5) / $0, 2) } ?? "-")
        }
        table.print()
        print(
            "  p50 in fsyncs: a batch's median time over the median 4 KiB write + fsync of the fsync section")
    }

    private func measure(batchSize: Int, in directory: String, seconds: Double) throws -> Measurement {
        let store = try SQLiteLogStore(directory: directory)
        try store.persist(hardState: HardState(term: Term(1), vote: "n1"), entries: [])
        let data = (0..<Self.entryBytes).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        var batch = (0..<batchSize).map { Entry(term: Term(1), index: LogIndex(UInt64($0)), data: data) }
        var next = LogIndex(1)
        return try Measurement.run(seconds: seconds) {
            for position in batch.indices { batch[position].index = next.advanced(by: position) }
            try store.persist(hardState: nil, entries: batch)
            next = next.advanced(by: batchSize)
        }
    }
}
