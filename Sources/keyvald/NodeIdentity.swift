import Foundation

/// Who a data directory belongs to: the node and the cluster. Written once, when the node
/// bootstraps a cluster or has joined one; read at every start, so a data directory is never used
/// under another node id, and so the transport refuses peers from another cluster.
struct NodeIdentity: Codable, Equatable {
    static let fileName = "keyvald.json"
    static let currentFormat = 1

    var format: Int
    var nodeID: String
    var clusterID: String

    init(nodeID: String, clusterID: String) {
        self.format = Self.currentFormat
        self.nodeID = nodeID
        self.clusterID = clusterID
    }

    enum CodingKeys: String, CodingKey {
        case format
        case nodeID = "node_id"
        case clusterID = "cluster_id"
    }

    /// A new cluster id: 128 random bits in hex.
    static func newClusterID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// The identity in `directory`, or nil if it has none yet.
    static func load(from directory: String) throws(DaemonError) -> NodeIdentity? {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let identity = try JSONDecoder().decode(NodeIdentity.self, from: data)
            guard identity.format == currentFormat else {
                throw DaemonError.dataDirectory(
                    "\(path): format \(identity.format), this keyvald reads \(currentFormat)")
            }
            guard !identity.nodeID.isEmpty, !identity.clusterID.isEmpty else {
                throw DaemonError.dataDirectory("\(path): node_id or cluster_id is empty")
            }
            return identity
        } catch let error as DaemonError {
            throw error
        } catch {
            throw .dataDirectory("\(path) is damaged: \(error)")
        }
    }

    /// Writes the identity durably: a temporary file, fsync, then rename over the old name.
    func save(in directory: String) throws(DaemonError) {
        let path = directory + "/" + Self.fileName
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            var data = try encoder.encode(self)
            data.append(0x0A)
            let temporary = path + ".tmp"
            _ = FileManager.default.createFile(atPath: temporary, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, path) == 0 else {
                throw DaemonError.dataDirectory("cannot rename \(temporary) to \(path): errno \(errno)")
            }
        } catch let error as DaemonError {
            throw error
        } catch {
            throw .dataDirectory("cannot write \(path): \(error)")
        }
    }
}
