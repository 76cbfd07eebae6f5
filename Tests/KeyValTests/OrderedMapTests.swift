import Testing

@testable import KeyVal

@Suite("OrderedMap")
struct OrderedMapTests {
    /// A deterministic generator, so a failure names a seed that replays it.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test(
        "random inserts, replacements and removals match a Dictionary, with every B-tree invariant kept",
        arguments: [1, 2, 3, 4] as [UInt64])
    func matchesDictionary(seed: UInt64) {
        var random = Generator(state: seed)
        var map = OrderedMap<Int, Int>()
        var reference: [Int: Int] = [:]
        // Key ranges small and large: small ones make replacements and removals of present keys
        // common, large ones grow the tree several levels deep.
        for keyRange in [50, 5_000, 100_000] {
            for step in 0..<20_000 {
                let key = random.next(keyRange)
                if random.next(3) == 0 {
                    #expect(map.removeValue(forKey: key) == reference.removeValue(forKey: key))
                } else {
                    let value = random.next(1_000_000)
                    #expect(map.updateValue(value, forKey: key) == reference.updateValue(value, forKey: key))
                }
                if step % 997 == 0 {
                    #expect(map.invariantViolation() == nil, "seed \(seed), range \(keyRange), step \(step)")
                }
            }
            #expect(map.count == reference.count)
            #expect(map.elements.map(\.key) == reference.keys.sorted())
            #expect(map.elements.allSatisfy { reference[$0.key] == $0.value })
            for key in 0..<min(keyRange, 2_000) { #expect(map[key] == reference[key]) }
        }
        #expect(map.invariantViolation() == nil)
    }

    @Test("removing every key, in any order, leaves an empty map with no nodes")
    func removeEverything() {
        var random = Generator(state: 9)
        var map = OrderedMap<Int, String>()
        var keys = Array(0..<10_000)
        for key in keys { map.updateValue("v\(key)", forKey: key) }
        #expect(map.invariantViolation() == nil)
        for k in keys.indices.reversed() { keys.swapAt(k, random.next(k + 1)) }
        for (n, key) in keys.enumerated() {
            #expect(map.removeValue(forKey: key) == "v\(key)")
            if n % 500 == 0 { #expect(map.invariantViolation() == nil) }
        }
        #expect(map.isEmpty && map.invariantViolation() == nil)
        #expect(map.removeValue(forKey: 1) == nil)
    }

    @Test("a copy is a snapshot: writes to either side never show in the other")
    func copiesAreIndependent() {
        var map = OrderedMap<Int, Int>()
        for key in 0..<20_000 { map.updateValue(key, forKey: key) }
        let snapshot = map
        for key in stride(from: 0, to: 20_000, by: 3) { map.removeValue(forKey: key) }
        for key in stride(from: 1, to: 20_000, by: 3) { map.updateValue(-key, forKey: key) }
        map.updateValue(7, forKey: 99_999)
        #expect(snapshot.count == 20_000)
        // Counted, not compared as arrays: a failure should say how much leaked, not print 20k numbers.
        let changed = snapshot.elements.enumerated().filter { $0.offset != $0.element.value }.count
        #expect(changed == 0, "\(changed) of the snapshot's values changed with the original")
        #expect(snapshot.invariantViolation() == nil && map.invariantViolation() == nil)
        #expect(map[1] == -1 && map[0] == nil && map[2] == 2 && map[99_999] == 7)

        var second = snapshot
        second.updateValue(-5, forKey: 5)
        #expect(snapshot[5] == 5 && second[5] == -5 && map[5] == 5)
    }

    @Test("forEach starts at the first key not below the start and stops when told")
    func orderedTraversal() {
        var map = OrderedMap<Int, Int>()
        for key in stride(from: 0, to: 10_000, by: 2) { map.updateValue(key * 10, forKey: key) }
        var visited: [Int] = []
        map.forEach(from: 4_001) { key, value in
            #expect(value == key * 10)
            visited.append(key)
            return visited.count < 5
        }
        #expect(visited == [4_002, 4_004, 4_006, 4_008, 4_010])
        var all = 0
        map.forEach(from: nil) { _, _ in
            all += 1
            return true
        }
        #expect(all == 5_000)
        var past: [Int] = []
        map.forEach(from: 20_000) { key, _ in
            past.append(key)
            return true
        }
        #expect(past.isEmpty)
    }
}
