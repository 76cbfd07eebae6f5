import RaftCore

/// The source of trouble in the faulty phase: partitions (symmetric and one-way), crashes and restarts.
extension SimulatedCluster {
    mutating func scheduleNemesis() {
        let mean = Int64(options.nemesisEveryTicks) * options.tickInterval
        queue.schedule(.nemesis, at: now + Int64.random(in: (mean / 2)...(mean * 3 / 2), using: &random))
    }

    mutating func runNemesis() {
        guard !isHealed else { return }
        defer { scheduleNemesis() }
        // Retired nodes are gone for good; every other node, member or not, is fair game.
        let ids = self.ids.filter { !nodes[indexOf[$0]!].isRetired }
        let up = ids.filter { nodes[indexOf[$0]!].isUp }
        let down = ids.filter { !nodes[indexOf[$0]!].isUp }
        switch Int.random(in: 0..<9, using: &random) {
        case 0:
            let isolated = ids.randomElement(using: &random)!
            partition([[isolated], ids.filter { $0 != isolated }])
        case 1:
            let shuffled = ids.shuffled(using: &random)
            let cut = Int.random(in: 1...max(1, ids.count / 2), using: &random)
            partition([Array(shuffled[..<cut]), Array(shuffled[cut...])])
        case 2:
            for _ in 0..<Int.random(in: 1...ids.count, using: &random) {
                let pair = ids.shuffled(using: &random)
                if ids.count > 1 { block(from: pair[0], to: pair[1]) }
            }
        case 3, 4:
            healNetwork()
        case 5:
            // Half the time in the middle of its next write that sends first (a leader's, thesis
            // §10.2.1): its messages out, its own copy not yet durable.
            if let victim = up.randomElement(using: &random) {
                if Bool.random(using: &random) { crash(victim) } else { crashDuringWrite = victim }
            }
        case 6:
            // Leaders are where the interesting bugs hide (Figure 8 needs a chain of them to fail).
            if let leader {
                if Bool.random(using: &random) { crash(leader) } else { crashDuringWrite = leader }
            }
        case 7:
            // Cut the leader off with a minority of its voters, so the majority moves on while it
            // keeps its log. The voter set changes, so the majority is counted in the leader's
            // configuration, not in the number of nodes.
            if let leader, let voters = core(leader)?.configuration.voters {
                let others = voters.filter { $0 != leader }.shuffled(using: &random)
                let minority = Array(others.prefix((voters.count - 1) / 2))
                let rest = ids.filter { $0 != leader && !minority.contains($0) }
                partition([[leader] + minority, rest])
            }
        default:
            if let revived = down.randomElement(using: &random) { restart(revived) }
        }
    }
}

/// A fixed-size record of what happened last, printed with a failure.
struct TraceBuffer {
    enum Record {
        case delivered(Envelope)
        case dropped(Envelope)
        case event(NodeID, RaftEvent)
        case crash(NodeID)
        case restart(NodeID)
        case client(Int, String)
        case note(String)
    }

    private var records: [(time: Int64, record: Record)] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = max(capacity, 1) }

    mutating func record(_ time: Int64, _ record: Record) {
        if records.count < capacity {
            records.append((time, record))
        } else {
            records[next] = (time, record)
        }
        next = (next + 1) % capacity
    }

    var lines: [String] {
        let ordered = records.count < capacity ? records : Array(records[next...] + records[..<next])
        return ordered.map { time, record in
            let text: String
            switch record {
            case .delivered(let envelope): text = "deliver \(envelope)"
            case .dropped(let envelope): text = "drop    \(envelope)"
            case .event(let id, let event): text = "\(id) is \(event)"
            case .crash(let id): text = "crash \(id)"
            case .restart(let id): text = "restart \(id)"
            case .client(let c, let what): text = "client c\(c) \(what)"
            case .note(let note): text = note
            }
            return "[\(time)] \(text)"
        }
    }
}
