import Foundation

/// The benchmark's table, each figure with its ratio to process-shared pthread_rwlock (default
/// kind) measured in the same run. `render()`: one line per lock under each scenario, with the
/// spread, within 100 columns; `renderWide()`: one row per scenario, one column per lock.
struct BenchTable {
    let results: [BenchResult]
    /// Of each figure: the spread is max − min over them.
    var repetitions: Int? = nil

    static func format(_ value: Double, unit: String) -> String {
        switch unit {
        case "ops/s":
            return value >= 1e6 ? String(format: "%.1f M/s", value / 1e6) : String(format: "%.0f k/s", value / 1e3)
        case "bytes": return "\(Int(value)) B"
        case "ns": return value >= 10_000 ? String(format: "%.1f µs", value / 1000) : String(format: "%.1f ns", value)
        case "us": return String(format: "%.1f µs", value)
        case "ms": return value < 1 ? String(format: "%.3f ms", value) : String(format: "%.1f ms", value)
        case "%": return String(format: "%.2f %%", value)
        default: return String(format: "%.2f %@", value, unit)
        }
    }

    private var locks: [String] { results.reduce(into: []) { if !$0.contains($1.lock) { $0.append($1.lock) } } }
    private var scenarios: [String] { results.reduce(into: []) { if !$0.contains($1.scenario) { $0.append($1.scenario) } } }

    private func result(_ scenario: String, _ lock: String) -> BenchResult? {
        results.first { $0.scenario == scenario && $0.lock == lock }
    }

    private static func starved(_ result: BenchResult) -> Bool { result.note?.hasPrefix("starved") == true }

    /// "1.41×" against pthread in this run, when both have a figure that compares.
    private func ratio(_ result: BenchResult) -> String? {
        guard let value = result.value, result.lock != "pthread", result.unit != "bytes", result.unit != "%", !Self.starved(result),
              let pthread = self.result(result.scenario, "pthread"), !Self.starved(pthread),
              let baseline = pthread.value, baseline > 0
        else { return nil }
        return String(format: "%.2f×", value / baseline)
    }

    /// The median (or the one figure), "≥ 2000.0 ms" when the writer was starved, "never".
    private static func figure(_ result: BenchResult) -> String {
        guard let value = result.value else { return result.note.map { _ in "never" } ?? "-" }
        return (starved(result) ? "≥ " : "") + format(value, unit: result.unit)
    }

    /// Columns padded to their widest cell: the first left-aligned, the others right-aligned
    /// except the last, a rule under the header.
    private static func layout(_ rows: [[String]], leftAlignedLast: Bool) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        let lines = rows.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 || (leftAlignedLast && column == columns - 1) ? cell + pad : pad + cell
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = String(repeating: "-", count: lines.map(\.count).max() ?? 0)
        return [lines[0], rule] + lines.dropFirst()
    }

    func render() -> String {
        var rows: [[String]] = [["scenario / lock", "median", "spread", "vs pthread", "note"]]
        for scenario in scenarios {
            rows.append([scenario == "handoff" ? "handoff (p50; p99 for spread)" : scenario])
            for lock in locks {
                guard let result = result(scenario, lock) else { continue }
                let spread = result.p99.map { "p99 " + Self.format($0, unit: result.unit) }
                    ?? result.spread.map { Self.format($0, unit: result.unit) } ?? ""
                rows.append(["  " + lock, Self.figure(result), spread, ratio(result) ?? "", Self.shortNote(result)])
            }
        }
        let repetitions = self.repetitions.map { " of the \($0) repetitions" } ?? ""
        return Self.layout(rows, leftAlignedLast: true).joined(separator: "\n") + """

            median and spread (max − min)\(repetitions); writer-wait is the longest of its attempts,
            recovery's spread is over its rounds. vs pthread: ratio to pthread in this run; lower is
            better for times and bytes, higher for ops/s. --wide: one column per lock
            """
    }

    /// The note in a few words (the JSON has it whole).
    private static func shortNote(_ result: BenchResult) -> String {
        guard let note = result.note else { return "" }
        if starved(result) { return "starved (capped)" }
        if note.hasPrefix("never") { return note.replacingOccurrences(of: "never (", with: "(") }
        if note.hasPrefix("kernel lock state") { return "kernel state only" }
        return note
    }

    func renderWide() -> String {
        var rows: [[String]] = [["scenario"] + locks]
        for scenario in scenarios {
            rows.append([scenario] + locks.map { lock in
                guard let result = result(scenario, lock) else { return "-" }
                guard result.value != nil else { return Self.figure(result) }
                var cell = Self.figure(result)
                if let p99 = result.p99 { cell += " (p99 \(Self.format(p99, unit: result.unit)))" }
                if Self.starved(result) { cell += " starved" }
                if let ratio = ratio(result) { cell += " " + ratio }
                return cell
            })
        }
        return Self.layout(rows, leftAlignedLast: false).joined(separator: "\n")
            + "\nmedians; ×: ratio to pthread in this run; lower is better for times and bytes, higher for ops/s"
    }
}

/// A figure against a process count, one line per lock: read-mostly throughput against the
/// processes running (`--svg`), or a write pair's cost against the processes attached
/// (`--attached-svg`).
struct ScalingChart {
    struct Point {
        let lock: String
        let processes: Int
        let opsPerSecond: Double
    }
    let points: [Point]
    var title = "Read-mostly (99% reads) throughput, all processes together"
    var xLabel = "processes"
    var counts = [1, 2, 4, 8]
    /// The y axis' labels.
    var format: (Double) -> String = { String(format: "%.0f M", $0 / 1e6) }

    /// The write pair's ns against the processes attached, from the write-attached-N results.
    static func attached(_ results: [BenchResult]) -> ScalingChart {
        let points = results.compactMap { result -> Point? in
            guard let count = Scenario(rawValue: result.scenario)?.attached, count.write, let value = result.value else { return nil }
            return Point(lock: result.lock, processes: count.count, opsPerSecond: value)
        }
        return ScalingChart(
            points: points, title: "Uncontended write (acquire + release), other processes attached and idle",
            xLabel: "processes attached (lock capacity 1024)", counts: [1, 8, 64, 256],
            format: { String(format: "%.0f ns", $0) })
    }

    func svg() -> String {
        let width = 640.0, height = 400.0, left = 70.0, bottom = 50.0, top = 30.0, right = 150.0
        let maxValue = max(1, points.map(\.opsPerSecond).max() ?? 1) * 1.1
        func x(_ processes: Int) -> Double {
            left + Double(counts.firstIndex(of: processes) ?? 0) / Double(counts.count - 1) * (width - left - right)
        }
        func y(_ value: Double) -> Double { height - bottom - value / maxValue * (height - bottom - top) }
        let colours = ["prwlock": "#d62728", "pthread": "#1f77b4", "pthread-writer": "#17becf", "flock": "#2ca02c", "ofd": "#9467bd"]
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="18" font-size="14">\(title)</text>
            <line x1="\(left)" y1="\(y(0))" x2="\(width - right)" y2="\(y(0))" stroke="black"/>
            <line x1="\(left)" y1="\(y(0))" x2="\(left)" y2="\(top)" stroke="black"/>
            <text x="\((left + width - right) / 2)" y="\(height - 10)" text-anchor="middle">\(xLabel)</text>

            """
        for count in counts {
            svg += "<text x=\"\(x(count))\" y=\"\(y(0) + 18)\" text-anchor=\"middle\">\(count)</text>\n"
        }
        for step in 0...4 {
            let value = maxValue / 1.1 * Double(step) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">\(format(value))</text>\n"
            svg += "<line x1=\"\(left)\" y1=\"\(y(value))\" x2=\"\(width - right)\" y2=\"\(y(value))\" stroke=\"#ddd\"/>\n"
        }
        var locks: [String] = []
        for point in points where !locks.contains(point.lock) { locks.append(point.lock) }
        for (index, lock) in locks.enumerated() {
            let colour = colours[lock] ?? "black"
            let line = points.filter { $0.lock == lock }.map { "\(x($0.processes)),\(y($0.opsPerSecond))" }.joined(separator: " ")
            svg += "<polyline points=\"\(line)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            for point in points where point.lock == lock {
                svg += "<circle cx=\"\(x(point.processes))\" cy=\"\(y(point.opsPerSecond))\" r=\"3\" fill=\"\(colour)\"/>\n"
            }
            let legendY = top + 20 + Double(index) * 18
            svg += "<line x1=\"\(width - right + 15)\" y1=\"\(legendY - 4)\" x2=\"\(width - right + 35)\" y2=\"\(legendY - 4)\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(width - right + 40)\" y=\"\(legendY)\">\(lock)</text>\n"
        }
        return svg + "</svg>\n"
    }
}
