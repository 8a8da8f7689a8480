/// The stage dependency graph: nodes in file order, edges from producer to consumer.
public struct StageGraph: Sendable, Hashable {
    /// Stage names in file order.
    public let names: [String]
    /// For each stage (by index in `names`), the indices of the stages it reads from, ascending.
    let upstream: [[Int]]
    /// For each stage, the indices of the stages that read from it, ascending.
    let downstream: [[Int]]
    /// Indices in topological order (ties broken by file order).
    let order: [Int]

    public enum Failure: Error, Equatable {
        /// A cycle, as stage names with the first repeated at the end: `[a, b, a]`.
        case cycle([String])
    }

    /// `edges[name]` are the stages `name` reads from. Unknown names in edges are ignored.
    public init(names: [String], upstreamOf edges: [String: [String]]) throws(Failure) {
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() { index[name] = i }
        var upstream = [[Int]](repeating: [], count: names.count)
        var downstream = [[Int]](repeating: [], count: names.count)
        for (i, name) in names.enumerated() {
            let ups = Set((edges[name] ?? []).compactMap { index[$0] })
            upstream[i] = ups.sorted()
            for u in ups { downstream[u].append(i) }
        }
        for i in downstream.indices { downstream[i].sort() }
        // Kahn's algorithm, always taking the ready stage earliest in the file.
        var remaining = upstream.map(\.count)
        var ready = remaining.indices.filter { remaining[$0] == 0 }
        var order: [Int] = []
        while !ready.isEmpty {
            let next = ready.removeFirst()
            order.append(next)
            for d in downstream[next] {
                remaining[d] -= 1
                if remaining[d] == 0 {
                    let position = ready.firstIndex { $0 > d } ?? ready.endIndex
                    ready.insert(d, at: position)
                }
            }
        }
        if order.count < names.count {
            throw .cycle(Self.findCycle(upstream: upstream, stuck: remaining.indices.filter { remaining[$0] > 0 }).map { names[$0] })
        }
        self.names = names
        self.upstream = upstream
        self.downstream = downstream
        self.order = order
    }

    /// A cycle among the stuck nodes, in data-flow direction, starting at the earliest in the file.
    private static func findCycle(upstream: [[Int]], stuck: [Int]) -> [Int] {
        let stuckSet = Set(stuck)
        // Every stuck node has a stuck upstream node or lies downstream of a cycle; follow upstream
        // edges from the first stuck node until a node repeats.
        var path: [Int] = []
        var seenAt: [Int: Int] = [:]
        var current = stuck[0]
        while seenAt[current] == nil {
            seenAt[current] = path.count
            path.append(current)
            current = upstream[current].first { stuckSet.contains($0) }!
        }
        // path[seenAt[current]...] walks upstream; reverse it to read producer → consumer.
        var cycle = Array(path[seenAt[current]!...].reversed())
        let start = cycle.indices.min { cycle[$0] < cycle[$1] }!
        cycle = Array(cycle[start...] + cycle[..<start])
        return cycle + [cycle[0]]
    }

    /// Stage names in topological order.
    public var topologicalOrder: [String] { order.map { names[$0] } }

    private func indexOf(_ name: String) -> Int? { names.firstIndex(of: name) }

    /// Stages that read `name`'s outputs directly.
    public func directDependents(of name: String) -> [String] {
        guard let i = indexOf(name) else { return [] }
        return downstream[i].map { names[$0] }
    }

    /// Stages whose outputs `name` reads directly.
    public func directDependencies(of name: String) -> [String] {
        guard let i = indexOf(name) else { return [] }
        return upstream[i].map { names[$0] }
    }

    /// Every stage downstream of `name` (transitively), in topological order.
    public func dependents(of name: String) -> [String] { closure(from: name, along: downstream) }

    /// Every stage `name` depends on (transitively), in topological order.
    public func ancestors(of name: String) -> [String] { closure(from: name, along: upstream) }

    private func closure(from name: String, along edges: [[Int]]) -> [String] {
        guard let start = indexOf(name) else { return [] }
        var seen = Set<Int>()
        var stack = edges[start]
        while let next = stack.popLast() {
            if seen.insert(next).inserted { stack.append(contentsOf: edges[next]) }
        }
        return order.filter { seen.contains($0) }.map { names[$0] }
    }
}
