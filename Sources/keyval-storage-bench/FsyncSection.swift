import Foundation

/// The raw price of durability on this disk: one 4 KiB write and one sync, with no SQLite.
/// The log-store figures are read against it ("how many syncs does a batch cost?").
struct FsyncSection: BenchSection {
    let name = "fsync"
    let summary =
        "raw cost of a 4 KiB write + fsync, and of a 4 KiB append + fdatasync (what a WAL commit does)"

    func run(_ context: BenchContext) throws {
        print("== fsync: one durable 4 KiB write, no SQLite")
        let directory = try context.directory(for: name)
        let path = directory + "/probe"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let page = [UInt8](repeating: 0xA5, count: 4_096)

        func write(at offset: Int) throws {
            let written = page.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            guard written == page.count else {
                throw BenchError("pwrite: \(String(cString: strerror(errno)))")
            }
        }
        func check(_ result: Int32, _ call: String) throws {
            guard result == 0 else { throw BenchError("\(call): \(String(cString: strerror(errno)))") }
        }

        let overwrite = try Measurement.run(seconds: context.seconds) {
            try write(at: 0)
            try check(fsync(descriptor), "fsync")
        }
        var offset = 0
        let append = try Measurement.run(seconds: context.seconds) {
            try write(at: offset)
            offset += page.count
            try check(fdatasync(descriptor), "fdatasync")
        }
        var table = Table("operation", "ops", "ops/s", "µs/op mean", "p50", "p99", "max")
        for (label, measurement) in [
            ("overwrite 4 KiB + fsync", overwrite), ("append 4 KiB + fdatasync", append),
        ] {
            table.add(
                label, "\(measurement.count)", fixed(measurement.perSecond), fixed(measurement.mean, 1),
                fixed(measurement.quantile(0.5), 1), fixed(measurement.quantile(0.99), 1),
                fixed(measurement.quantile(1), 1))
        }
        table.print()
        print("  compare medians: the means carry the disk's occasional multi-millisecond stalls")
        context.fsyncMedianMicroseconds = overwrite.quantile(0.5)
    }
}
