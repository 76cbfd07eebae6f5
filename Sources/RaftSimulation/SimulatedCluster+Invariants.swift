import RaftCore

/// Raft's safety properties (paper Figure 3), checked incrementally as each change happens.
extension SimulatedCluster {
    /// Election safety and leader completeness, at the moment a node becomes leader.
    mutating func observe(_ event: RaftEvent, at n: Int) {
        trace.record(now, .event(nodes[n].id, event))
        guard case .becameLeader(let term) = event else { return }
        stats.elections += 1
        let id = nodes[n].id
        if let other = leaderOfTerm[term], other != id {
            return fail("election safety: \(other) and \(id) both leaders in \(term)")
        }
        leaderOfTerm[term] = id
        // Leader completeness (§5.4): an entry committed in an earlier term is in every later leader's log.
        let log = nodes[n].core!.log
        for (k, committed) in committedEntries.enumerated() where committed.knownCommittedIn < term {
            let index = LogIndex(UInt64(k + 1))
            // Entries under the snapshot were checked when the snapshot was.
            if index < log.snapshotIndex { continue }
            if log.term(at: index) != committed.term {
                return fail(
                    "leader completeness: \(id) leads \(term) without \(index)@\(committed.term), committed by \(committed.knownCommittedIn)"
                )
            }
        }
    }

    /// Log matching: an (index, term) pair names one entry, with one predecessor term, cluster-wide
    /// (by induction, equal pairs then mean equal log prefixes).
    mutating func recordEntry(_ entry: Entry, previousTerm: Term, at n: Int) {
        let fingerprint = EntryFingerprint(kind: entry.kind, data: entry.data, previousTerm: previousTerm)
        if let seen = entriesSeen[entry.index]?[entry.term] {
            if seen != fingerprint {
                fail(
                    "log matching: \(nodes[n].id) holds a different \(entry.index)@\(entry.term) than another node"
                )
            }
        } else {
            entriesSeen[entry.index, default: [:]][entry.term] = fingerprint
        }
    }

    /// State machine safety: every node applies the same entry at each index.
    mutating func recordApplied(_ entry: Entry, at n: Int) {
        let k = Int(entry.index.value) - 1
        if k < appliedEntries.count {
            if appliedEntries[k] != entry {
                fail(
                    "state machine safety: \(nodes[n].id) applied \(entry) at \(entry.index), another node applied \(appliedEntries[k])"
                )
            }
        } else if k == appliedEntries.count {
            appliedEntries.append(entry)
            if options.machine == .keyValue { recordKeyValueReference(entry) }
        } else {
            fail("\(nodes[n].id) applied \(entry.index) with nothing applied at \(appliedEntries.count + 1)")
        }
    }

    /// After each `advance`: commit and apply never go back, and committed prefixes agree.
    mutating func checkProgress(of n: Int) {
        guard let core = nodes[n].core else { return }
        let id = nodes[n].id
        let committed = core.log.committed
        if committed < nodes[n].lastCommitSeen {
            return fail("\(id) commit index went back \(nodes[n].lastCommitSeen) → \(committed)")
        }
        if core.log.applied < nodes[n].lastAppliedSeen {
            return fail("\(id) applied index went back \(nodes[n].lastAppliedSeen) → \(core.log.applied)")
        }
        var index = max(nodes[n].lastCommitSeen, core.log.snapshotIndex).next
        while index <= committed {
            let entry = core.log.entry(at: index)!
            let term = entry.term
            let k = Int(index.value) - 1
            if k < committedEntries.count {
                if committedEntries[k].term != term {
                    return fail(
                        "\(id) committed \(index)@\(term) but \(index)@\(committedEntries[k].term) was committed before"
                    )
                }
                if entry.kind == .configuration {
                    checkCommittedConfiguration(entry, isFirstCommit: false, at: n)
                }
            } else if k > committedEntries.count {
                return fail(
                    "\(id) committed \(index) with nothing known committed at \(committedEntries.count + 1)")
            } else {
                committedEntries.append((term, core.term))
                if entry.kind == .configuration {
                    checkCommittedConfiguration(entry, isFirstCommit: true, at: n)
                }
                checkLeadersHold(index: index, term: term, knownCommittedIn: core.term)
            }
            if failure != nil { return }
            index = index.next
        }
        nodes[n].lastCommitSeen = committed
        nodes[n].lastAppliedSeen = core.log.applied
        checkMembership(of: n)
    }

    /// A newly known committed entry must be in the log of every current leader of a later term
    /// than the one it was committed in.
    mutating func checkLeadersHold(index: LogIndex, term: Term, knownCommittedIn: Term) {
        for node in nodes {
            guard let core = node.core, core.isLeader, core.term > knownCommittedIn,
                index >= core.log.snapshotIndex
            else { continue }
            if core.log.term(at: index) != term {
                return fail(
                    "leader completeness: \(node.id) leads \(core.term) without committed \(index)@\(term)")
            }
        }
    }

    /// A snapshot must hold exactly the state that applying the committed entries through its index gives.
    mutating func verifySnapshot(_ snapshot: Snapshot, at n: Int) {
        let index = Int(snapshot.metadata.index.value)
        guard index <= appliedEntries.count else {
            return fail(
                "\(nodes[n].id) has a snapshot at \(index) but only \(appliedEntries.count) entries were ever applied"
            )
        }
        if index > 0 && appliedEntries[index - 1].term != snapshot.metadata.term {
            return fail(
                "\(nodes[n].id): snapshot at \(index) says \(snapshot.metadata.term), the applied entry there is \(appliedEntries[index - 1])"
            )
        }
        if !snapshotHoldsAppliedState(snapshot) {
            return fail(
                "\(nodes[n].id): snapshot at \(index) does not match the state of the entries applied through it"
            )
        }
        let configuration = committedConfiguration(at: snapshot.metadata.index)?.configuration
        if snapshot.metadata.configuration != configuration ?? ClusterConfiguration(members: []) {
            fail(
                "membership: \(nodes[n].id)'s snapshot at \(index) carries \(snapshot.metadata.configuration), the committed configuration there is \(configuration.map { "\($0)" } ?? "none")"
            )
        }
    }

    /// Whether the snapshot's data is the state machine after the entries applied through its index.
    func snapshotHoldsAppliedState(_ snapshot: Snapshot) -> Bool {
        let index = snapshot.metadata.index
        switch options.machine {
        case .register:
            var expected: [String: String] = [:]
            for entry in appliedEntries[..<Int(index.value)] where entry.kind == .command {
                if let (key, value) = SimulatedCommand.decode(entry.data) { expected[key] = value }
            }
            return SimulatedCommand.restore(from: snapshot.data) == expected
        case .keyValue:
            // Byte for byte: the store's snapshots are deterministic, sessions included.
            return referenceStore(at: index).snapshot() == snapshot.data
        }
    }

    /// After healing: every member of the leader's configuration (voter or learner) holds and has
    /// applied what the leader committed. Nodes outside it (removed, or spares never added) are
    /// not sent the log any more, so they are not expected to have it.
    mutating func checkConvergence() {
        guard let leaderID = leader, let leaderCore = core(leaderID) else {
            return fail("liveness: no leader after recovery")
        }
        let committed = leaderCore.log.committed
        let members = Set(leaderCore.configuration.members.map(\.id))
        for node in nodes where members.contains(node.id) {
            guard let core = node.core else {
                return fail(
                    "liveness: \(node.id), a member of \(leaderCore.configuration), is down after healing")
            }
            if core.log.applied < committed {
                return fail(
                    "liveness: \(node.id) applied only \(core.log.applied) of \(committed) committed by \(leaderID)"
                )
            }
        }
    }
}
