extension RandomStream {
    /// Fisher–Yates from the last element down, one draw per swap: the one shuffle every trainer uses,
    /// so a stream at the same counter always gives the same order.
    public mutating func shuffle<Element>(_ items: inout [Element]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, nextInt(below: i + 1)) }
    }
}
