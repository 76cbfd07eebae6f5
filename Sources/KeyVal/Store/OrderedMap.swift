/// A sorted map with value semantics whose copies share structure: a B-tree of copy-on-write
/// nodes.
///
/// It holds the key-value state for two reasons:
/// - **Snapshots off the node's loop.** Copying the map is O(1): the copy shares every node. A
///   later write copies only the nodes on its path from the root (O(log n)), never the whole map,
///   so the node's loop can hand a copy to a background task that encodes it while the loop goes
///   on applying entries. A `Dictionary` copy would be O(1) too, but the loop's next write would
///   then copy all of it.
/// - **Keys in order.** Listing a prefix visits only the keys it returns, and a snapshot is
///   written in key order without sorting.
///
/// Every node except the root holds between `minimumKeys` and `maximumKeys` keys; an inner node
/// with k keys has k + 1 children, and all leaves are at the same depth (CLRS ch. 18). Insertion
/// splits full nodes and deletion tops up minimal nodes on the way down, so each operation is one
/// pass from the root.
struct OrderedMap<Key: Comparable & Sendable, Value: Sendable>: Sendable {
    /// The minimum degree t: a node other than the root has t-1 ... 2t-1 keys. 32 keeps a 1M-key
    /// map four levels deep, and a node's arrays small enough that copying one on write is cheap.
    static var minimumDegree: Int { 32 }
    static var minimumKeys: Int { minimumDegree - 1 }
    static var maximumKeys: Int { 2 * minimumDegree - 1 }

    private var root: Node?
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    // MARK: Lookup

    subscript(key: Key) -> Value? {
        var node = root
        while let current = node {
            let (position, found) = current.search(key)
            if found { return current.values[position] }
            if current.isLeaf { return nil }
            node = current.children[position]
        }
        return nil
    }

    // MARK: Updates

    /// Sets `value` for `key`; returns the value it replaced, if any.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        guard root != nil else {
            root = Node(keys: [key], values: [value], children: [])
            count = 1
            return nil
        }
        makeRootUnique()
        if root!.keys.count == Self.maximumKeys {
            let old = root!
            let newRoot = Node(keys: [], values: [], children: [old])
            newRoot.splitChild(at: 0)
            root = newRoot
        }
        let previous = root!.insertNonFull(key, value)
        if previous == nil { count += 1 }
        return previous
    }

    /// Removes `key`; returns its value, or nil if it was absent.
    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard root != nil else { return nil }
        makeRootUnique()
        let removed = root!.remove(key)
        if root!.keys.isEmpty {
            // The root may shrink to nothing (the last key went) or hand over to its only child
            // (a merge below it took its last key): the tree loses one level.
            root = root!.isLeaf ? nil : root!.children[0]
        }
        if removed != nil { count -= 1 }
        return removed
    }

    private mutating func makeRootUnique() {
        if !isKnownUniquelyReferenced(&root!) { root = root!.copy() }
    }

    // MARK: Traversal

    /// Calls `body` with each key and value in ascending key order, starting at the first key not
    /// below `start` (the first key when nil), until `body` returns false.
    func forEach(from start: Key? = nil, _ body: (Key, Value) throws -> Bool) rethrows {
        guard let root else { return }
        _ = try root.visit(from: start, body)
    }

    /// All keys and values in ascending key order.
    var elements: [(key: Key, value: Value)] {
        var result: [(key: Key, value: Value)] = []
        result.reserveCapacity(count)
        forEach { key, value in
            result.append((key, value))
            return true
        }
        return result
    }

    // MARK: Checking

    /// Checks every B-tree invariant (order, node sizes, equal leaf depth, count); a description of
    /// the first violation, or nil. For tests.
    func invariantViolation() -> String? {
        guard let root else { return count == 0 ? nil : "empty tree with count \(count)" }
        var leafDepth: Int?
        var seen = 0
        if let problem = root.check(
            isRoot: true, depth: 0, leafDepth: &leafDepth, seen: &seen, lower: nil, upper: nil)
        {
            return problem
        }
        return seen == count ? nil : "count is \(count) but the tree holds \(seen) keys"
    }

    // MARK: Nodes

    /// One B-tree node. Nodes are shared between copies of the map and mutated only while
    /// uniquely referenced: every mutating path first makes the node it changes unique (copying
    /// a shared one), so a node reachable from two maps never changes.
    final class Node: @unchecked Sendable {
        // @unchecked: a node is mutated only when `isKnownUniquelyReferenced` shows that one map
        // owns it, i.e. by that map's single owner; shared nodes are read-only, so reading them
        // from other threads (a snapshot being encoded off the loop) is safe.
        var keys: [Key]
        var values: [Value]
        /// Empty for a leaf; otherwise `keys.count + 1` children.
        var children: [Node]

        init(keys: [Key], values: [Value], children: [Node]) {
            self.keys = keys
            self.values = values
            self.children = children
            self.keys.reserveCapacity(OrderedMap.maximumKeys)
            self.values.reserveCapacity(OrderedMap.maximumKeys)
        }

        var isLeaf: Bool { children.isEmpty }

        func copy() -> Node { Node(keys: keys, values: values, children: children) }

        /// The first position whose key is not below `key`, and whether that key equals it.
        func search(_ key: Key) -> (position: Int, found: Bool) {
            var low = 0
            var high = keys.count
            while low < high {
                let middle = (low + high) / 2
                if keys[middle] < key { low = middle + 1 } else { high = middle }
            }
            return (low, low < keys.count && keys[low] == key)
        }

        /// Makes child `position` uniquely owned by this (already unique) node, and returns it.
        func uniqueChild(_ position: Int) -> Node {
            if !isKnownUniquelyReferenced(&children[position]) {
                children[position] = children[position].copy()
            }
            return children[position]
        }

        /// Splits the full child at `position` around its median key, which moves up into this
        /// node. This node must be unique and not full.
        func splitChild(at position: Int) {
            let child = uniqueChild(position)
            let t = OrderedMap.minimumDegree
            let right = Node(
                keys: Array(child.keys[t...]), values: Array(child.values[t...]),
                children: child.isLeaf ? [] : Array(child.children[t...]))
            let medianKey = child.keys[t - 1]
            let medianValue = child.values[t - 1]
            child.keys.removeSubrange((t - 1)...)
            child.values.removeSubrange((t - 1)...)
            if !child.isLeaf { child.children.removeSubrange(t...) }
            keys.insert(medianKey, at: position)
            values.insert(medianValue, at: position)
            children.insert(right, at: position + 1)
        }

        /// Inserts into the subtree of this unique, non-full node; returns the replaced value.
        func insertNonFull(_ key: Key, _ value: Value) -> Value? {
            var node = self
            while true {
                var (position, found) = node.search(key)
                if found {
                    let previous = node.values[position]
                    node.values[position] = value
                    return previous
                }
                if node.isLeaf {
                    node.keys.insert(key, at: position)
                    node.values.insert(value, at: position)
                    return nil
                }
                if node.children[position].keys.count == OrderedMap.maximumKeys {
                    node.splitChild(at: position)
                    if node.keys[position] == key {
                        let previous = node.values[position]
                        node.values[position] = value
                        return previous
                    }
                    if node.keys[position] < key { position += 1 }
                }
                node = node.uniqueChild(position)
            }
        }

        /// Removes `key` from the subtree of this unique node (CLRS 18.3): before descending into a
        /// child it makes sure the child has more than the minimum, so the removal never has to
        /// come back up. The root may be left with no keys; the map fixes that.
        func remove(_ key: Key) -> Value? {
            let (position, found) = search(key)
            if isLeaf {
                guard found else { return nil }
                keys.remove(at: position)
                return values.remove(at: position)
            }
            if found {
                let removed = values[position]
                if children[position].keys.count > OrderedMap.minimumKeys {
                    // Replace with the predecessor, then remove that from the left subtree.
                    let (predecessorKey, predecessorValue) = children[position].last
                    keys[position] = predecessorKey
                    values[position] = predecessorValue
                    _ = uniqueChild(position).remove(predecessorKey)
                } else if children[position + 1].keys.count > OrderedMap.minimumKeys {
                    let (successorKey, successorValue) = children[position + 1].first
                    keys[position] = successorKey
                    values[position] = successorValue
                    _ = uniqueChild(position + 1).remove(successorKey)
                } else {
                    // Both neighbours are minimal: merge them around the key and remove it there.
                    mergeChildren(at: position)
                    _ = uniqueChild(position).remove(key)
                }
                return removed
            }
            let child = ensureChildAboveMinimum(position)
            return uniqueChild(child).remove(key)
        }

        /// The smallest key and its value in this subtree.
        var first: (Key, Value) {
            var node = self
            while !node.isLeaf { node = node.children[0] }
            return (node.keys[0], node.values[0])
        }

        /// The largest key and its value in this subtree.
        var last: (Key, Value) {
            var node = self
            while !node.isLeaf { node = node.children[node.children.count - 1] }
            return (node.keys[node.keys.count - 1], node.values[node.values.count - 1])
        }

        /// Gives child `position` at least `minimumDegree` keys, by borrowing from a sibling that
        /// can spare one or merging with a sibling; returns the position of the child that now
        /// covers the same keys (a merge with the left sibling moves it one to the left).
        func ensureChildAboveMinimum(_ position: Int) -> Int {
            guard children[position].keys.count == OrderedMap.minimumKeys else { return position }
            if position > 0 && children[position - 1].keys.count > OrderedMap.minimumKeys {
                let child = uniqueChild(position)
                let left = uniqueChild(position - 1)
                child.keys.insert(keys[position - 1], at: 0)
                child.values.insert(values[position - 1], at: 0)
                keys[position - 1] = left.keys.removeLast()
                values[position - 1] = left.values.removeLast()
                if !left.isLeaf { child.children.insert(left.children.removeLast(), at: 0) }
                return position
            }
            if position < keys.count && children[position + 1].keys.count > OrderedMap.minimumKeys {
                let child = uniqueChild(position)
                let right = uniqueChild(position + 1)
                child.keys.append(keys[position])
                child.values.append(values[position])
                keys[position] = right.keys.removeFirst()
                values[position] = right.values.removeFirst()
                if !right.isLeaf { child.children.append(right.children.removeFirst()) }
                return position
            }
            if position < keys.count {
                mergeChildren(at: position)
                return position
            }
            mergeChildren(at: position - 1)
            return position - 1
        }

        /// Merges child `position + 1` and the key between them into child `position`.
        func mergeChildren(at position: Int) {
            let left = uniqueChild(position)
            let right = children[position + 1]
            left.keys.append(keys.remove(at: position))
            left.values.append(values.remove(at: position))
            left.keys.append(contentsOf: right.keys)
            left.values.append(contentsOf: right.values)
            left.children.append(contentsOf: right.children)
            children.remove(at: position + 1)
        }

        /// In-order traversal from the first key not below `start`; false once `body` said stop.
        func visit(from start: Key?, _ body: (Key, Value) throws -> Bool) rethrows -> Bool {
            let first = start.map { search($0).position } ?? 0
            if isLeaf {
                for position in first..<keys.count {
                    if try !body(keys[position], values[position]) { return false }
                }
                return true
            }
            // Only the first child visited can hold keys below `start`.
            if try !children[first].visit(from: start, body) { return false }
            for position in first..<keys.count {
                if try !body(keys[position], values[position]) { return false }
                if try !children[position + 1].visit(from: nil, body) { return false }
            }
            return true
        }

        func check(
            isRoot: Bool, depth: Int, leafDepth: inout Int?, seen: inout Int, lower: Key?, upper: Key?
        ) -> String? {
            if keys.count != values.count {
                return "a node has \(keys.count) keys and \(values.count) values"
            }
            if keys.count > OrderedMap.maximumKeys { return "a node has \(keys.count) keys" }
            if !isRoot && keys.count < OrderedMap.minimumKeys { return "a node has only \(keys.count) keys" }
            if isRoot && keys.isEmpty { return "the root has no keys" }
            for k in keys.indices {
                if k > 0 && !(keys[k - 1] < keys[k]) { return "keys out of order within a node" }
                if let lower, !(lower < keys[k]) { return "a key is not above its left separator" }
                if let upper, !(keys[k] < upper) { return "a key is not below its right separator" }
            }
            seen += keys.count
            if isLeaf {
                if let leafDepth, leafDepth != depth { return "leaves at depths \(leafDepth) and \(depth)" }
                leafDepth = depth
                return nil
            }
            if children.count != keys.count + 1 {
                return "a node with \(keys.count) keys has \(children.count) children"
            }
            for (k, child) in children.enumerated() {
                if let problem = child.check(
                    isRoot: false, depth: depth + 1, leafDepth: &leafDepth, seen: &seen,
                    lower: k == 0 ? lower : keys[k - 1], upper: k == keys.count ? upper : keys[k])
                {
                    return problem
                }
            }
            return nil
        }
    }
}

extension OrderedMap: Equatable where Value: Equatable {
    /// Equal when they hold the same keys with equal values, however they were built.
    static func == (lhs: OrderedMap, rhs: OrderedMap) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.root === rhs.root { return true }
        var right = rhs.elements.makeIterator()
        var equal = true
        lhs.forEach { key, value in
            guard let other = right.next(), other.key == key, other.value == value else {
                equal = false
                return false
            }
            return true
        }
        return equal
    }
}
