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
    static let left = 58.0, right = 12.0, top = 26.0, bottom = 34.0

    /// A line chart of one or more series against step.
    static func lines(title: String, series: [Series], xLabel: String = "step") -> String {
        let all = series.flatMap(\.points).filter { $0.y.isFinite }
        guard !all.isEmpty else { return "" }
        let (x0, x1) = paddedRange(all.map(\.x), pad: false)
        let (y0, y1) = paddedRange(all.map(\.y), pad: true)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }

        let legendHeight = series.count > 1 ? Double(series.count) * 15 + 6 : 0
        var svg = open(title: title, height: height + legendHeight)
        svg += axes(x0: x0, x1: x1, y0: y0, y1: y1, px: px, py: py, xLabel: xLabel)
        for (index, line) in series.enumerated() {
            let colour = palette[(line.colour ?? index) % palette.count]
            let finite = line.points.filter { $0.y.isFinite }
            let coordinates = finite.map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-series=\"\(HTML.escape(line.name))\" data-points=\"\(finite.count)\" "
                + "fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\"\(coordinates)\"/>\n"
            let showDots = finite.count <= 120
            for point in finite {
                svg += "<circle class=\"pt\" cx=\"\(fmt(px(point.x)))\" cy=\"\(fmt(py(point.y)))\" r=\"\(showDots ? 2.4 : 0.01)\" "
                    + "fill=\"\(colour)\" data-x=\"\(fmt(point.x))\" data-y=\"\(point.y)\"><title>\(HTML.escape(line.name)) step \(fmt(point.x)): \(MetricFormat.value(point.y))</title></circle>\n"
            }
        }
        if series.count > 1 { svg += legend(series.enumerated().map { ($0.element.name, $0.element.colour ?? $0.offset) }) }
        return svg + "</svg>\n"
    }

    /// A horizontal bar chart (one bar per label), e.g. a sweep's ranking metric per variant.
    static func bars(title: String, bars: [(label: String, value: Double, colour: Int)]) -> String {
        let finite = bars.filter { $0.value.isFinite }
        guard !finite.isEmpty else { return "" }
        let barHeight = 22.0, labelWidth = 250.0
        let chartHeight = top + Double(finite.count) * (barHeight + 6) + 20
        let low = min(0, finite.map(\.value).min()!), high = max(0, finite.map(\.value).max()!)
        let span = high - low == 0 ? 1 : high - low
        let plotW = width + 140 - labelWidth - right - 60
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

    private static func open(title: String, height: Double) -> String {
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
            + "viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">\n"
            + "<text x=\"\(fmt(left))\" y=\"16\" class=\"title\">\(HTML.escape(title))</text>\n"
    }

    private static func axes(x0: Double, x1: Double, y0: Double, y1: Double, px: (Double) -> Double, py: (Double) -> Double,
                             xLabel: String) -> String {
        var svg = "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(width - left - right))\" height=\"\(fmt(height - top - bottom))\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n"
        for tick in ticks(y0, y1) {
            let y = py(tick)
            svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(width - right))\" y2=\"\(fmt(y))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(fmt(left - 5))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\" class=\"tick\">\(MetricFormat.value(tick))</text>\n"
        }
        for tick in ticks(x0, x1) {
            let x = px(tick)
            svg += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(height - bottom))\" x2=\"\(fmt(x))\" y2=\"\(fmt(height - bottom + 4))\" stroke=\"#999\"/>\n"
            svg += "<text x=\"\(fmt(x))\" y=\"\(fmt(height - bottom + 16))\" text-anchor=\"middle\" class=\"tick\">\(MetricFormat.value(tick))</text>\n"
        }
        svg += "<text x=\"\(fmt(width - right))\" y=\"\(fmt(height - 4))\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(xLabel))</text>\n"
        return svg
    }

    /// One entry per line, under the plot.
    private static func legend(_ entries: [(name: String, colour: Int)]) -> String {
        var svg = ""
        for (row, entry) in entries.enumerated() {
            let y = height + 6 + Double(row) * 15
            let text = entry.name.count > 80 ? String(entry.name.prefix(79)) + "…" : entry.name
            svg += "<rect x=\"\(fmt(left))\" y=\"\(fmt(y - 4))\" width=\"14\" height=\"3\" fill=\"\(palette[entry.colour % palette.count])\"/>"
            svg += "<text x=\"\(fmt(left + 18))\" y=\"\(fmt(y))\" class=\"legend\">\(HTML.escape(text))</text>\n"
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
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= raw } ?? raw
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
