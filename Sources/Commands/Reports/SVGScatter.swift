import Foundation

/// A scatter chart: groups of points in their own colours, each group's mean marked with a cross
/// (e.g. the reward–KL frontier: one point per arm and seed, one colour per arm). Every point is in
/// the markup (`<circle class="pt scatter" data-group=… data-x=… data-y=…>`, `<path class="mean" …>`).
extension SVGChart {
    struct ScatterGroup {
        var name: String
        var points: [(x: Double, y: Double, label: String)]
        var colour: Int
        /// Mark the mean of the points with a cross (when there are at least two).
        var markMean = true
    }

    static func scatter(title: String, groups: [ScatterGroup], xLabel: String, yLabel: String) -> String {
        let finite = groups.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        guard !finite.isEmpty else { return "" }
        let (x0, x1) = paddedRange(finite.map(\.x), pad: true)
        let (y0, y1) = paddedRange(finite.map(\.y), pad: true)
        let xTicks = ticks(x0, x1), yTicks = ticks(y0, y1)
        let frame = Frame(left: margin(yTicks, minimum: 40) + 16,
                          right: max(12, Double((xTicks.last.map(TickFormat.short) ?? "").count) * tickCharacterWidth / 2 + 2))
        func px(_ x: Double) -> Double { frame.left + (x - x0) / (x1 - x0) * frame.plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * frame.plotHeight }

        let legendHeight = Double(groups.count) * 15 + 6
        var svg = "<svg class=\"chart scatter\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height + legendHeight))\" "
            + "viewBox=\"0 0 \(fmt(width)) \(fmt(height + legendHeight))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">\n"
            + "<text x=\"\(fmt(min(frame.left, 58)))\" y=\"16\" class=\"title\">\(HTML.escape(title))</text>\n"
        svg += "<rect x=\"\(fmt(frame.left))\" y=\"\(fmt(top))\" width=\"\(fmt(frame.plotWidth))\" height=\"\(fmt(frame.plotHeight))\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n"
        for tick in xTicks {
            let x = px(tick)
            svg += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top))\" x2=\"\(fmt(x))\" y2=\"\(fmt(height - bottom + 4))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(fmt(x))\" y=\"\(fmt(height - bottom + 16))\" text-anchor=\"middle\" class=\"tick\">\(TickFormat.short(tick))</text>\n"
        }
        for tick in yTicks {
            let y = py(tick)
            svg += "<line x1=\"\(fmt(frame.left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(width - frame.right))\" y2=\"\(fmt(y))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(fmt(frame.left - 5))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\" class=\"tick\">\(TickFormat.short(tick))</text>\n"
        }
        svg += "<text x=\"\(fmt(width - frame.right))\" y=\"\(fmt(height - 4))\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(xLabel))</text>\n"
        let midY = top + frame.plotHeight / 2
        svg += "<text x=\"12\" y=\"\(fmt(midY))\" text-anchor=\"middle\" transform=\"rotate(-90 12 \(fmt(midY)))\" class=\"label axis-name\">\(HTML.escape(yLabel))</text>\n"

        for group in groups {
            let colour = palette[group.colour % palette.count]
            let points = group.points.filter { $0.x.isFinite && $0.y.isFinite }
            for point in points {
                svg += "<circle class=\"pt scatter\" cx=\"\(fmt(px(point.x)))\" cy=\"\(fmt(py(point.y)))\" r=\"4\" fill=\"\(colour)\" fill-opacity=\"0.75\" "
                    + "data-group=\"\(HTML.escape(group.name))\" data-x=\"\(point.x)\" data-y=\"\(point.y)\"><title>"
                    + HTML.escape("\(group.name) \(point.label): \(xLabel) \(MetricFormat.value(point.x)), \(yLabel) \(MetricFormat.value(point.y))")
                    + "</title></circle>\n"
            }
            guard group.markMean, points.count >= 2 else { continue }
            var sumX = 0.0, sumY = 0.0
            for point in points { sumX += point.x; sumY += point.y }
            let meanX = sumX / Double(points.count), meanY = sumY / Double(points.count)
            let cx = px(meanX), cy = py(meanY)
            svg += "<path class=\"mean\" d=\"M\(fmt(cx - 7)),\(fmt(cy))H\(fmt(cx + 7))M\(fmt(cx)),\(fmt(cy - 7))V\(fmt(cy + 7))\" "
                + "stroke=\"\(colour)\" stroke-width=\"2.5\" data-group=\"\(HTML.escape(group.name))\" data-x=\"\(meanX)\" data-y=\"\(meanY)\">"
                + "<title>" + HTML.escape("\(group.name) mean of \(points.count): \(xLabel) \(MetricFormat.value(meanX)), \(yLabel) \(MetricFormat.value(meanY))")
                + "</title></path>\n"
        }
        for (row, group) in groups.enumerated() {
            let y = height + 6 + Double(row) * 15
            svg += "<circle cx=\"\(fmt(frame.left + 5))\" cy=\"\(fmt(y - 3))\" r=\"4\" fill=\"\(palette[group.colour % palette.count])\"/>"
            svg += "<text x=\"\(fmt(frame.left + 14))\" y=\"\(fmt(y))\" class=\"legend\">\(HTML.escape(group.name))"
                + (group.markMean && group.points.count >= 2 ? " (+ = mean of \(group.points.count))" : "") + "</text>\n"
        }
        return svg + "</svg>\n"
    }
}
