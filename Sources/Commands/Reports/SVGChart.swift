import Engine
import Foundation

/// Inline SVG charts for the HTML report, drawn here (no library, no network). Every plotted point
/// is in the markup (`<polyline data-points=…>` and `<circle class="pt">`), so the page needs no
/// script to show data, and a headless browser's DOM dump can count what was plotted.
enum SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        /// Index into `palette` (a variant keeps its colour across charts); nil = position.
        var colour: Int? = nil
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    static let width = 520.0, height = 250.0
    static let top = 26.0, bottom = 34.0
    /// Width of one character of the 11 px tick font (DejaVu Sans digits are 7 px at 11 px; a little
    /// more for safety), for margins that fit the widest tick label.
    static let tickCharacterWidth = 7.0

    /// The plot area inside a chart: margins sized to the tick labels, so none is clipped.
    struct Frame {
        var left: Double
        var right: Double
        var plotWidth: Double { width - left - right }
        var plotHeight: Double { height - top - bottom }
    }

    /// A line chart of one or more series against step. `rightSeries`, when given, are drawn against
    /// a second y-axis on the right (a quantity in other units, e.g. KL beside rewards).
    static func lines(title: String, series: [Series], rightSeries: [Series] = [], xLabel: String = "step",
                      leftLabel: String? = nil, rightLabel: String? = nil) -> String {
        let leftPoints = series.flatMap(\.points).filter { $0.y.isFinite }
        let rightPoints = rightSeries.flatMap(\.points).filter { $0.y.isFinite }
        guard !leftPoints.isEmpty || !rightPoints.isEmpty else { return "" }
        let (x0, x1) = paddedRange((leftPoints + rightPoints).map(\.x), pad: false)
        let leftRange = leftPoints.isEmpty ? nil : paddedRange(leftPoints.map(\.y), pad: true)
        let rightRange = rightPoints.isEmpty ? nil : paddedRange(rightPoints.map(\.y), pad: true)
        let leftTicks = leftRange.map { ticks($0.0, $0.1) } ?? []
        let rightTicks = rightRange.map { ticks($0.0, $0.1) } ?? []
        // x is a step or an epoch: whole-number ticks only.
        let xTicks = ticks(x0, x1, minimumStep: 1)
        // Room for the widest y label (and the axis's name beside it), and for half the last x label
        // (it is centred on the frame's edge).
        let halfLastX = Double((xTicks.last.map(TickFormat.short) ?? "").count) * tickCharacterWidth / 2 + 2
        let nameWidth = 16.0
        let frame = Frame(left: margin(leftTicks, minimum: 40) + (leftLabel == nil ? 0 : nameWidth),
                          right: max(rightTicks.isEmpty ? 12 : margin(rightTicks, minimum: 34) + (rightLabel == nil ? 0 : nameWidth), halfLastX))
        func px(_ x: Double) -> Double { frame.left + (x - x0) / (x1 - x0) * frame.plotWidth }
        func py(_ y: Double, _ range: (Double, Double)) -> Double { top + (1 - (y - range.0) / (range.1 - range.0)) * frame.plotHeight }

        let all = series.map { ($0, false) } + rightSeries.map { ($0, true) }
        let legendHeight = all.count > 1 ? Double(all.count) * 15 + 6 : 0
        var svg = open(title: title, height: height + legendHeight, frame: frame)
        svg += axes(frame: frame, xTicks: xTicks, px: px, xLabel: xLabel)
        if let leftRange { svg += yAxis(frame: frame, ticks: leftTicks, y: { py($0, leftRange) }, onRight: false, label: leftLabel) }
        if let rightRange { svg += yAxis(frame: frame, ticks: rightTicks, y: { py($0, rightRange) }, onRight: true, label: rightLabel) }
        for (index, (line, onRight)) in all.enumerated() {
            guard let range = onRight ? rightRange : leftRange else { continue }
            let colour = palette[(line.colour ?? index) % palette.count]
            let finite = line.points.filter { $0.y.isFinite }
            let coordinates = finite.map { "\(fmt(px($0.x))),\(fmt(py($0.y, range)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-series=\"\(HTML.escape(line.name))\" data-points=\"\(finite.count)\" "
                + (onRight ? "data-axis=\"right\" stroke-dasharray=\"5 3\" " : "")
                + "fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\"\(coordinates)\"/>\n"
            let showDots = finite.count <= 120
            for point in finite {
                svg += "<circle class=\"pt\" cx=\"\(fmt(px(point.x)))\" cy=\"\(fmt(py(point.y, range)))\" r=\"\(showDots ? 2.4 : 0.01)\" "
                    + "fill=\"\(colour)\" data-x=\"\(fmt(point.x))\" data-y=\"\(point.y)\"><title>\(HTML.escape(line.name)) step \(fmt(point.x)): \(MetricFormat.value(point.y))</title></circle>\n"
            }
        }
        if all.count > 1 {
            svg += legend(all.enumerated().map { index, entry in
                (entry.0.name + (entry.1 ? " (right axis, dashed)" : ""), entry.0.colour ?? index)
            }, frame: frame)
        }
        return svg + "</svg>\n"
    }

    /// A margin that fits the widest of `ticks`' labels.
    static func margin(_ ticks: [Double], minimum: Double) -> Double {
        let widest = ticks.map { TickFormat.short($0).count }.max() ?? 0
        return max(minimum, Double(widest) * tickCharacterWidth + 12)
    }

    /// A horizontal bar chart (one bar per label), e.g. a sweep's ranking metric per variant.
    static func bars(title: String, bars: [(label: String, value: Double, colour: Int)]) -> String {
        let finite = bars.filter { $0.value.isFinite }
        guard !finite.isEmpty else { return "" }
        let barHeight = 22.0, labelWidth = 250.0
        let chartHeight = top + Double(finite.count) * (barHeight + 6) + 20
        let low = min(0, finite.map(\.value).min()!), high = max(0, finite.map(\.value).max()!)
        let span = high - low == 0 ? 1 : high - low
        let plotW = width + 140 - labelWidth - 12 - 60
        func px(_ v: Double) -> Double { labelWidth + (v - low) / span * plotW }
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width + 140))\" height=\"\(fmt(chartHeight))\" "
            + "viewBox=\"0 0 \(fmt(width + 140)) \(fmt(chartHeight))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">\n"
        svg += "<text x=\"8\" y=\"16\" class=\"title\">\(HTML.escape(title))</text>\n"
        svg += "<line x1=\"\(fmt(px(0)))\" y1=\"\(fmt(top - 4))\" x2=\"\(fmt(px(0)))\" y2=\"\(fmt(chartHeight - 16))\" stroke=\"#999\"/>\n"
        for (index, bar) in finite.enumerated() {
            let y = top + Double(index) * (barHeight + 6)
            let x = min(px(0), px(bar.value)), w = max(1, abs(px(bar.value) - px(0)))
            svg += "<text x=\"\(fmt(labelWidth - 6))\" y=\"\(fmt(y + 15))\" text-anchor=\"end\" class=\"label\">\(HTML.escape(bar.label))</text>\n"
            svg += "<rect class=\"bar\" x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"\(fmt(barHeight))\" "
                + "fill=\"\(palette[bar.colour % palette.count])\" data-value=\"\(bar.value)\"><title>\(HTML.escape(bar.label)): \(MetricFormat.value(bar.value))</title></rect>\n"
            svg += "<text x=\"\(fmt(max(px(0), px(bar.value)) + 4))\" y=\"\(fmt(y + 15))\" class=\"label\">\(MetricFormat.value(bar.value))</text>\n"
        }
        return svg + "</svg>\n"
    }

    private static func open(title: String, height: Double, frame: Frame) -> String {
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
            + "viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">\n"
            + "<text x=\"\(fmt(min(frame.left, 58)))\" y=\"16\" class=\"title\">\(HTML.escape(title))</text>\n"
    }

    /// The frame and the x-axis with its ticks.
    private static func axes(frame: Frame, xTicks: [Double], px: (Double) -> Double, xLabel: String) -> String {
        var svg = "<rect x=\"\(fmt(frame.left))\" y=\"\(fmt(top))\" width=\"\(fmt(frame.plotWidth))\" height=\"\(fmt(frame.plotHeight))\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n"
        for tick in xTicks {
            let x = px(tick)
            svg += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(height - bottom))\" x2=\"\(fmt(x))\" y2=\"\(fmt(height - bottom + 4))\" stroke=\"#999\"/>\n"
            svg += "<text x=\"\(fmt(x))\" y=\"\(fmt(height - bottom + 16))\" text-anchor=\"middle\" class=\"tick\">\(TickFormat.short(tick))</text>\n"
        }
        svg += "<text x=\"\(fmt(width - frame.right))\" y=\"\(fmt(height - 4))\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(xLabel))</text>\n"
        return svg
    }

    /// A y-axis's grid lines (left axis only) and tick labels, outside the frame on its side.
    private static func yAxis(frame: Frame, ticks: [Double], y: (Double) -> Double, onRight: Bool, label: String?) -> String {
        var svg = ""
        for tick in ticks {
            let ty = y(tick)
            if onRight {
                svg += "<line x1=\"\(fmt(width - frame.right))\" y1=\"\(fmt(ty))\" x2=\"\(fmt(width - frame.right + 4))\" y2=\"\(fmt(ty))\" stroke=\"#999\"/>\n"
                svg += "<text x=\"\(fmt(width - frame.right + 6))\" y=\"\(fmt(ty + 4))\" text-anchor=\"start\" class=\"tick axis-right\">\(TickFormat.short(tick))</text>\n"
            } else {
                svg += "<line x1=\"\(fmt(frame.left))\" y1=\"\(fmt(ty))\" x2=\"\(fmt(width - frame.right))\" y2=\"\(fmt(ty))\" stroke=\"#e4e4e4\"/>\n"
                svg += "<text x=\"\(fmt(frame.left - 5))\" y=\"\(fmt(ty + 4))\" text-anchor=\"end\" class=\"tick\">\(TickFormat.short(tick))</text>\n"
            }
        }
        if let label {
            // The axis's name, turned along the axis, outside its tick labels.
            let x = onRight ? width - 6 : 12.0, y = top + (height - top - bottom) / 2
            svg += "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" text-anchor=\"middle\" transform=\"rotate(\(onRight ? 90 : -90) \(fmt(x)) \(fmt(y)))\" "
                + "class=\"label axis-name\">\(HTML.escape(label))</text>\n"
        }
        return svg
    }

    /// One entry per line, under the plot.
    private static func legend(_ entries: [(name: String, colour: Int)], frame: Frame) -> String {
        var svg = ""
        for (row, entry) in entries.enumerated() {
            let y = height + 6 + Double(row) * 15
            let text = entry.name.count > 80 ? String(entry.name.prefix(79)) + "…" : entry.name
            svg += "<rect x=\"\(fmt(frame.left))\" y=\"\(fmt(y - 4))\" width=\"14\" height=\"3\" fill=\"\(palette[entry.colour % palette.count])\"/>"
            svg += "<text x=\"\(fmt(frame.left + 18))\" y=\"\(fmt(y))\" class=\"legend\">\(HTML.escape(text))</text>\n"
        }
        return svg
    }

    /// The data range, widened a little (and made non-empty) so lines do not touch the frame.
    static func paddedRange(_ values: [Double], pad: Bool) -> (Double, Double) {
        var low = values.min() ?? 0, high = values.max() ?? 1
        if low == high { low -= abs(low) > 0 ? abs(low) * 0.1 : 1; high += abs(high) > 0 ? abs(high) * 0.1 : 1 }
        if pad { let margin = (high - low) * 0.06; low -= margin; high += margin }
        return (low, high)
    }

    /// About five round tick values (1, 2 or 5 × 10ⁿ apart) inside [low, high].
    /// - Parameter minimumStep: the smallest spacing allowed (1 for steps and epochs).
    static func ticks(_ low: Double, _ high: Double, minimumStep: Double = 0) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = max(minimumStep, [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? raw)
        var tick = ceil(low / step) * step
        var result: [Double] = []
        while tick <= high + step * 1e-9 && result.count < 12 {
            // 3 × 0.2 is 0.6000000000000001 in binary: keep 12 significant digits.
            result.append(abs(tick) < step * 1e-9 ? 0 : Double(String(format: "%.12g", tick)) ?? tick)
            tick += step
        }
        return result
    }

    static func fmt(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}

enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
