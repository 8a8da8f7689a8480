/// A binary min-heap ordered by `areInIncreasingOrder` (the smallest element is popped first). BPE
/// training pops the best merge from it; the judge keeps its k nearest neighbours in one.
public struct BinaryHeap<Element> {
    private var items: [Element] = []
    private let areInIncreasingOrder: (Element, Element) -> Bool

    public init(_ areInIncreasingOrder: @escaping (Element, Element) -> Bool) {
        self.areInIncreasingOrder = areInIncreasingOrder
    }

    public var isEmpty: Bool { items.isEmpty }
    public var count: Int { items.count }
    /// The smallest element, without removing it.
    public var top: Element? { items.first }
    /// Every element, in heap order (not sorted).
    public var elements: [Element] { items }

    public mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard areInIncreasingOrder(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    public mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && areInIncreasingOrder(items[left], items[smallest]) { smallest = left }
            if right < items.count && areInIncreasingOrder(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
