import Foundation

/// The benchmark's table: one row per scenario, one column per lock, each figure with its ratio
/// to process-shared pthread_rwlock (default kind) measured in the same run.
struct BenchTable {
    let results: [BenchResult]

    static func format(_ value: Double, unit: String) -> String {
        switch unit {
        case "ops/s":
            return value >= 1e6 ? String(format: "%.1f M/s", value / 1e6) : String(format: "%.0f k/s", value / 1e3)
        case "bytes": return "\(Int(value)) B"
        case "ns": return value >= 10_000 ? String(format: "%.1f µs", value / 1000) : String(format: "%.1f ns", value)
        case "us": return String(format: "%.1f µs", value)
        case "ms": return value < 1 ? String(format: "%.3f ms", value) : String(format: "%.1f ms", value)
        default: return String(format: "%.2f %@", value, unit)
        }
    }

    func render() -> String {
        var locks: [String] = []
        for result in results where !locks.contains(result.lock) { locks.append(result.lock) }
        var scenarios: [String] = []
        for result in results where !scenarios.contains(result.scenario) { scenarios.append(result.scenario) }
        var rows: [[String]] = [["scenario"] + locks]
        for scenario in scenarios {
            let pthread = results.first { $0.scenario == scenario && $0.lock == "pthread" }
            let baseline = pthread?.note?.hasPrefix("starved") == true ? nil : pthread?.value
            var row = [scenario]
            for lock in locks {
                guard let result = results.first(where: { $0.scenario == scenario && $0.lock == lock }) else {
                    row.append("-"); continue
                }
                guard let value = result.value else { row.append(result.note.map { _ in "never" } ?? "-"); continue }
                var cell = Self.format(value, unit: result.unit)
                if let p99 = result.p99 { cell += " (p99 \(Self.format(p99, unit: result.unit)))" }
                if result.note?.hasPrefix("starved") == true { cell = "≥ " + cell + " starved" }
                if let baseline, baseline > 0, lock != "pthread", result.unit != "bytes", result.note?.hasPrefix("starved") != true {
                    cell += String(format: " %.2f×", value / baseline)
                }
                row.append(cell)
            }
            rows.append(row)
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.enumerated().map { index, row in
            let line = row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
            return index == 0 ? line + "\n" + String(repeating: "-", count: line.count) : line
        }.joined(separator: "\n") + "\n(×: ratio to pthread in this run; lower is better for times and bytes, higher for ops/s)"
    }
}

/// Read-mostly throughput against process count, one line per lock.
struct ScalingChart {
    struct Point {
        let lock: String
        let processes: Int
        let opsPerSecond: Double
    }
    let points: [Point]

    func svg() -> String {
        let width = 640.0, height = 400.0, left = 70.0, bottom = 50.0, top = 30.0, right = 150.0
        let maxValue = max(1, points.map(\.opsPerSecond).max() ?? 1) * 1.1
        let counts = [1, 2, 4, 8]
        func x(_ processes: Int) -> Double {
            left + Double(counts.firstIndex(of: processes) ?? 0) / Double(counts.count - 1) * (width - left - right)
        }
        func y(_ value: Double) -> Double { height - bottom - value / maxValue * (height - bottom - top) }
        let colours = ["prwlock": "#d62728", "pthread": "#1f77b4", "pthread-writer": "#17becf", "flock": "#2ca02c", "ofd": "#9467bd"]
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="18" font-size="14">Read-mostly (99% reads) throughput, all processes together</text>
            <line x1="\(left)" y1="\(y(0))" x2="\(width - right)" y2="\(y(0))" stroke="black"/>
            <line x1="\(left)" y1="\(y(0))" x2="\(left)" y2="\(top)" stroke="black"/>
            <text x="\((left + width - right) / 2)" y="\(height - 10)" text-anchor="middle">processes</text>

            """
        for count in counts {
            svg += "<text x=\"\(x(count))\" y=\"\(y(0) + 18)\" text-anchor=\"middle\">\(count)</text>\n"
        }
        for step in 0...4 {
            let value = maxValue / 1.1 * Double(step) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">\(String(format: "%.0f M", value / 1e6))</text>\n"
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
