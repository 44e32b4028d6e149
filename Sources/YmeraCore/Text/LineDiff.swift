/// Line diffs (Myers' O((N+M)·D) algorithm) and their unified form, as `diff -u` prints it.
///
/// Bounded: past `maxEdits` differing lines the rest of the middle is reported as removed and added
/// (still a correct diff, just not the shortest), so a diff of two large unrelated texts stays fast.
public enum LineDiff {
    /// One line of a diff.
    public enum Line: Sendable, Hashable {
        case same(String)
        case removed(String)
        case added(String)
    }

    /// The lines of a text; a final newline does not start an empty line.
    public static func lines(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { parts.removeLast() }
        return parts
    }

    /// The edit script from `a` to `b`, in order: unchanged, removed and added lines.
    public static func diff(_ a: [String], _ b: [String], maxEdits: Int = 4000) -> [Line] {
        // Common prefix and suffix first: most diffs of related texts are small in the middle.
        var start = 0
        while start < a.count && start < b.count && a[start] == b[start] { start += 1 }
        var endA = a.count, endB = b.count
        while endA > start && endB > start && a[endA - 1] == b[endB - 1] {
            endA -= 1
            endB -= 1
        }
        var out = a[..<start].map { Line.same($0) }
        out += middle(Array(a[start..<endA]), Array(b[start..<endB]), maxEdits: maxEdits)
        out += a[endA...].map { Line.same($0) }
        return out
    }

    /// Myers' greedy shortest edit script with its trace, walked back.
    static func middle(_ a: [String], _ b: [String], maxEdits: Int) -> [Line] {
        let n = a.count, m = b.count
        if n == 0 { return b.map { .added($0) } }
        if m == 0 { return a.map { .removed($0) } }
        let offset = n + m
        var v = [Int](repeating: 0, count: 2 * offset + 2)
        var trace: [[Int]] = []
        var found = false
        outer: for d in 0...min(offset, maxEdits) {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) {
                    x = v[offset + k + 1]
                } else {
                    x = v[offset + k - 1] + 1
                }
                var y = x - k
                while x < n && y < m && a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[offset + k] = x
                if x >= n && y >= m {
                    found = true
                    break outer
                }
            }
        }
        guard found else { return a.map { .removed($0) } + b.map { .added($0) } }
        // Walk back through the trace from (n, m).
        var x = n, y = m
        var script: [Line] = []
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let vd = trace[d]
            let k = x - y
            let prevK: Int
            if d == 0 {
                prevK = 0
            } else if k == -d || (k != d && vd[offset + k - 1] < vd[offset + k + 1]) {
                prevK = k + 1
            } else {
                prevK = k - 1
            }
            let prevX = d == 0 ? 0 : vd[offset + prevK]
            let prevY = prevX - prevK
            while x > prevX && y > prevY {
                script.append(.same(a[x - 1]))
                x -= 1
                y -= 1
            }
            if d > 0 {
                if x == prevX {
                    script.append(.added(b[y - 1]))
                } else {
                    script.append(.removed(a[x - 1]))
                }
            }
            x = prevX
            y = prevY
        }
        return script.reversed()
    }

    /// The unified diff of two texts with `context` lines around each change; "" when they are equal.
    public static func unified(_ a: String, _ b: String, labelA: String, labelB: String, context: Int = 3) -> String {
        let script = diff(lines(a), lines(b))
        guard script.contains(where: { if case .same = $0 { false } else { true } }) else { return "" }
        var out = "--- \(labelA)\n+++ \(labelB)\n"
        // Positions in a and b of each script line (1-based), to number the hunks.
        var posA = [Int](), posB = [Int]()
        var ia = 1, ib = 1
        for l in script {
            posA.append(ia)
            posB.append(ib)
            switch l {
            case .same: ia += 1; ib += 1
            case .removed: ia += 1
            case .added: ib += 1
            }
        }
        let changed = script.indices.filter { if case .same = script[$0] { false } else { true } }
        var i = 0
        while i < changed.count {
            var lo = max(0, changed[i] - context)
            var hi = min(script.count - 1, changed[i] + context)
            var j = i
            while j + 1 < changed.count && changed[j + 1] - context <= hi + 1 {
                j += 1
                hi = min(script.count - 1, changed[j] + context)
            }
            lo = max(0, lo)
            let slice = script[lo...hi]
            let countA = slice.filter { if case .added = $0 { false } else { true } }.count
            let countB = slice.filter { if case .removed = $0 { false } else { true } }.count
            let startA = countA == 0 ? posA[lo] - 1 : posA[lo]
            let startB = countB == 0 ? posB[lo] - 1 : posB[lo]
            // As `diff -u`: a range of one line is its start alone.
            func range(_ start: Int, _ count: Int) -> String { count == 1 ? "\(start)" : "\(start),\(count)" }
            out += "@@ -\(range(startA, countA)) +\(range(startB, countB)) @@\n"
            for l in slice {
                switch l {
                case .same(let s): out += " \(s)\n"
                case .removed(let s): out += "-\(s)\n"
                case .added(let s): out += "+\(s)\n"
                }
            }
            i = j + 1
        }
        return out
    }
}
