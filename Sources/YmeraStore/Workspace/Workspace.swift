import Foundation
import YmeraCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One version of one file. The content is kept in `versions/<sha256>` (immutable, content-addressed).
/// Phase and model stay plain strings in `manifest.json`, so a manifest outlives a renamed phase.
public struct WorkspaceFileVersion: Codable, Sendable, Hashable {
    public var version: Int
    public var step: String
    public var phase: String
    public var model: String
    public var sha256: String
    public var size: Int
    public var time: Date
    /// The author as the engine names it (nil when the manifest holds a phase this build does not know).
    public var author: FileAuthor? { Phase(rawValue: phase).map { FileAuthor(step: step, phase: $0, model: ModelID(model)) } }
}

/// A file of the workspace with all its versions, oldest first.
public struct WorkspaceFileHistory: Codable, Sendable, Hashable {
    public var path: String
    public var versions: [WorkspaceFileVersion]
    public var latest: WorkspaceFileVersion { versions[versions.count - 1] }
}

/// A file name from model output that was not written, and why.
public struct WorkspaceRefusal: Codable, Sendable, Hashable, Error, CustomStringConvertible {
    /// The name as the model wrote it (at most 300 characters kept).
    public var name: String
    public var step: String
    public var reason: String
    public var time: Date
    public var description: String {
        let shown = name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
        return "refused file \"\(shown)\" from \(step): \(reason)"
    }
}

/// `manifest.json`: every file with every version, and every refused name.
public struct WorkspaceManifest: Codable, Sendable, Hashable {
    public var runID: String
    public var files: [WorkspaceFileHistory]
    public var refused: [WorkspaceRefusal]

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case files, refused
    }
}

/// A file written as a new version.
public struct WorkspaceWrite: Sendable, Hashable {
    public var path: String
    public var version: Int
}

/// What one `write(output:author:)` did.
public struct WorkspaceWriteResult: Sendable, Hashable {
    public var written: [WorkspaceWrite] = []
    /// Paths whose content was the same as their latest version (no new version).
    public var unchanged: [String] = []
    public var refused: [WorkspaceRefusal] = []
}

public enum WorkspaceError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case exists([String])
    case io(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .notFound(let s): "no workspace: \(s)"
        case .exists(let paths): "would overwrite existing files (use --force): " + paths.joined(separator: ", ")
        case .io(let s): "workspace I/O error: \(s)"
        case .corrupt(let s): "workspace is damaged: \(s)"
        }
    }
}

/// A run's generated files: `<dataDir>/workspaces/<runID>/` with `files/` (the final version of each
/// file), `versions/` (every version, by SHA-256) and `manifest.json`.
///
/// File names come from model output and are untrusted. A name is refused (and listed in the manifest
/// under `refused`) when it is empty, absolute, has a `..` component, a backslash, a NUL or control
/// character, is too long, passes through a symlink or a file, names a symlink, would make more than
/// `maxFiles` files, or its content is over `maxFileBytes`. Writes never follow symlinks: each parent
/// is checked with `lstat`, its resolved path must stay inside `files/`, and the file is written to a
/// fresh temporary (`O_EXCL | O_NOFOLLOW`) and renamed over the target (rename replaces a link, it
/// does not follow it).
///
/// Not thread-safe: one writer per run (`StoreRunWorkspace` serialises the engine's writes).
public final class Workspace {
    public static let maxFiles = 200
    public static let maxFileBytes = 1 << 20

    public let runID: String
    public let root: URL
    public private(set) var manifest: WorkspaceManifest
    private let now: @Sendable () -> Date

    public var filesDirectory: URL { root.appendingPathComponent("files", isDirectory: true) }
    public var versionsDirectory: URL { root.appendingPathComponent("versions", isDirectory: true) }
    public var manifestURL: URL { root.appendingPathComponent("manifest.json") }

    public static func directory(dataDirectory: URL, runID: String) -> URL {
        dataDirectory.appendingPathComponent("workspaces", isDirectory: true).appendingPathComponent(runID, isDirectory: true)
    }

    /// Opens a run's workspace, creating it if needed.
    public static func open(dataDirectory: URL, runID: String, now: @escaping @Sendable () -> Date = { Date() }) throws -> Workspace {
        guard isSafeRunID(runID) else { throw WorkspaceError.io("invalid run id \(runID.debugDescription)") }
        let root = directory(dataDirectory: dataDirectory, runID: runID)
        let fm = FileManager.default
        for dir in [root, root.appendingPathComponent("files"), root.appendingPathComponent("versions")] {
            do {
                try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch { throw WorkspaceError.io("cannot create \(dir.path): \(error.localizedDescription)") }
            guard fileType(dir.path) == S_IFDIR else { throw WorkspaceError.io("\(dir.path) is not a plain directory") }
        }
        return try Workspace(root: root, runID: runID, now: now)
    }

    /// Opens an existing workspace (for `ymera files` and `ymera diff`); nil when the run has none.
    public static func existing(dataDirectory: URL, runID: String) throws -> Workspace? {
        guard isSafeRunID(runID) else { return nil }
        let root = directory(dataDirectory: dataDirectory, runID: runID)
        guard fileType(root.appendingPathComponent("manifest.json").path) == S_IFREG else { return nil }
        return try Workspace(root: root, runID: runID, now: { Date() })
    }

    private init(root: URL, runID: String, now: @escaping @Sendable () -> Date) throws {
        self.root = root
        self.runID = runID
        self.now = now
        let url = root.appendingPathComponent("manifest.json")
        if Self.fileType(url.path) == S_IFREG {
            do {
                manifest = try Self.decoder.decode(WorkspaceManifest.self, from: Data(contentsOf: url))
            } catch { throw WorkspaceError.corrupt("manifest.json: \(error)") }
        } else {
            manifest = WorkspaceManifest(runID: runID, files: [], refused: [])
        }
    }

    // MARK: Writing

    /// Writes every named file in a step's output as a new version by `author`.
    @discardableResult
    public func write(output: String, author: FileAuthor) -> WorkspaceWriteResult {
        var result = WorkspaceWriteResult()
        for file in WorkspaceParser.files(in: output) {
            switch write(name: file.name, content: Data(file.content.utf8), author: author) {
            case .success(let r):
                if let v = r { result.written.append(v) } else {
                    result.unchanged.append(file.name)
                }
            case .failure(let refusal): result.refused.append(refusal)
            }
        }
        return result
    }

    /// Writes one file as a new version; `nil` when the content equals the latest version.
    @discardableResult
    public func write(name: String, content: Data, author: FileAuthor) -> Result<WorkspaceWrite?, WorkspaceRefusal> {
        func refuse(_ reason: String) -> Result<WorkspaceWrite?, WorkspaceRefusal> {
            let r = WorkspaceRefusal(name: String(name.prefix(300)), step: author.step, reason: reason, time: now())
            manifest.refused.append(r)
            try? saveManifest()
            return .failure(r)
        }
        let components: [String]
        switch Self.checkName(name) {
        case .refused(let reason): return refuse(reason)
        case .ok(let c): components = c
        }
        let path = components.joined(separator: "/")
        guard content.count <= Self.maxFileBytes else {
            return refuse("\(content.count) bytes is over the limit of \(Self.maxFileBytes) bytes per file")
        }
        let index = manifest.files.firstIndex { $0.path == path }
        if index == nil && manifest.files.count >= Self.maxFiles {
            return refuse("a run may write at most \(Self.maxFiles) files")
        }
        let sha = SHA256.hex(of: content)
        if let i = index, manifest.files[i].latest.sha256 == sha { return .success(nil) }
        do {
            try storeVersion(content, sha: sha)
            try Self.safeWrite(content, components: components, under: filesDirectory)
        } catch let e as SafeWriteRefusal {
            return refuse(e.reason)
        } catch {
            return refuse("could not write: \(error)")
        }
        let number = (index.map { manifest.files[$0].latest.version } ?? 0) + 1
        let version = WorkspaceFileVersion(
            version: number, step: author.step, phase: author.phase.rawValue, model: author.model.rawValue, sha256: sha, size: content.count, time: now())
        if let i = index { manifest.files[i].versions.append(version) } else {
            manifest.files.append(WorkspaceFileHistory(path: path, versions: [version]))
            manifest.files.sort { $0.path < $1.path }
        }
        do { try saveManifest() } catch { return refuse("could not save the manifest: \(error)") }
        return .success(WorkspaceWrite(path: path, version: number))
    }

    private func storeVersion(_ content: Data, sha: String) throws {
        if Self.fileType(versionsDirectory.appendingPathComponent(sha).path) == S_IFREG { return }
        try Self.safeWrite(content, components: [sha], under: versionsDirectory)
    }

    private func saveManifest() throws {
        let data = try Self.encoder.encode(manifest)
        try Self.safeWrite(data, components: ["manifest.json"], under: root)
    }

    // MARK: Reading

    /// The final files, sorted by path, each with its latest version.
    public var finalFiles: [WorkspaceFileHistory] { manifest.files }

    /// The bytes of a version, checked against its SHA-256.
    public func content(of version: WorkspaceFileVersion) throws -> Data {
        guard version.sha256.count == 64, version.sha256.allSatisfy(\.isHexDigit) else {
            throw WorkspaceError.corrupt("bad hash \(version.sha256.debugDescription)")
        }
        let url = versionsDirectory.appendingPathComponent(version.sha256)
        guard Self.fileType(url.path) == S_IFREG else { throw WorkspaceError.corrupt("missing version \(version.sha256)") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw WorkspaceError.io("\(url.path): \(error.localizedDescription)") }
        guard SHA256.hex(of: data) == version.sha256 else {
            throw WorkspaceError.corrupt("version \(version.sha256) does not match its hash")
        }
        return data
    }

    /// Copies exactly the final version of every file into `destination` (created if needed). Existing
    /// files there are refused, before anything is written, unless `force`. Returns the paths copied.
    @discardableResult
    public func copyFinal(to destination: URL, force: Bool = false) throws -> [String] {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch { throw WorkspaceError.io("cannot create \(destination.path): \(error.localizedDescription)") }
        var plan: [([String], Data)] = []
        var existing: [String] = []
        for file in manifest.files {
            guard case .ok(let components) = Self.checkName(file.path) else {
                throw WorkspaceError.corrupt("unsafe path in manifest: \(file.path.debugDescription)")
            }
            plan.append((components, try content(of: file.latest)))
            if Self.fileType(destination.appendingPathComponent(file.path).path) != nil { existing.append(file.path) }
        }
        if !existing.isEmpty && !force { throw WorkspaceError.exists(existing) }
        for (components, data) in plan {
            do { try Self.safeWrite(data, components: components, under: destination) } catch let e as SafeWriteRefusal {
                throw WorkspaceError.io("\(components.joined(separator: "/")): \(e.reason)")
            }
        }
        return plan.map { $0.0.joined(separator: "/") }
    }

    // MARK: Comparing

    public struct Comparison: Sendable, Hashable {
        public var added: [String] = []
        public var removed: [String] = []
        public var changed: [String] = []
        public var unchanged: [String] = []
    }

    /// How `b`'s final files differ from `a`'s (by content hash).
    public static func compare(_ a: Workspace?, _ b: Workspace?) -> Comparison {
        let fa = Dictionary((a?.manifest.files ?? []).map { ($0.path, $0.latest.sha256) }, uniquingKeysWith: { _, y in y })
        let fb = Dictionary((b?.manifest.files ?? []).map { ($0.path, $0.latest.sha256) }, uniquingKeysWith: { _, y in y })
        var c = Comparison()
        for path in Set(fa.keys).union(fb.keys).sorted() {
            switch (fa[path], fb[path]) {
            case (nil, _): c.added.append(path)
            case (_, nil): c.removed.append(path)
            case let (x?, y?): if x == y { c.unchanged.append(path) } else { c.changed.append(path) }
            }
        }
        return c
    }

    // MARK: Names and safe writes

    public enum NameCheck: Sendable, Hashable {
        case ok([String])
        case refused(String)
    }

    /// The path components of an acceptable name, or why it is refused.
    public static func checkName(_ name: String) -> NameCheck {
        if name.isEmpty { return .refused("empty file name") }
        if name.utf8.count > 1024 { return .refused("file name longer than 1024 bytes") }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || (0x80..<0xa0).contains($0.value) }) {
            return .refused("file name contains a NUL or control character")
        }
        if name.hasPrefix("/") { return .refused("absolute path") }
        if name.contains("\\") { return .refused("backslash in file name") }
        if name.hasPrefix("~") { return .refused("home-relative path") }
        var parts: [String] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { return .refused("'..' in path") }
            if part.utf8.count > 255 { return .refused("path component longer than 255 bytes") }
            if part.hasPrefix(".ymera-tmp-") { return .refused("reserved name") }
            parts.append(String(part))
        }
        if parts.isEmpty { return .refused("empty file name") }
        return .ok(parts)
    }

    struct SafeWriteRefusal: Error { var reason: String }

    /// Writes `data` to `base/components…` without following any symlink: parents are created or
    /// checked one by one with `lstat`, the resolved parent must stay inside `base`, and the data goes
    /// to a new temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`) renamed over the target.
    static func safeWrite(_ data: Data, components: [String], under base: URL) throws {
        guard let baseReal = realPath(base.path) else { throw SafeWriteRefusal(reason: "workspace directory is missing") }
        var dir = base.path
        for part in components.dropLast() {
            dir += "/" + part
            switch fileType(dir) {
            case nil:
                if mkdir(dir, 0o755) != 0 && errno != EEXIST {
                    throw SafeWriteRefusal(reason: "cannot create directory \(part): \(String(cString: strerror(errno)))")
                }
                guard fileType(dir) == S_IFDIR else { throw SafeWriteRefusal(reason: "'\(part)' changed while being created") }
            case S_IFDIR: break
            case S_IFLNK: throw SafeWriteRefusal(reason: "path goes through a symlink ('\(part)')")
            default: throw SafeWriteRefusal(reason: "'\(part)' is a file, not a directory")
            }
        }
        guard let dirReal = realPath(dir), dirReal == baseReal || dirReal.hasPrefix(baseReal + "/") else {
            throw SafeWriteRefusal(reason: "path leaves the workspace")
        }
        let target = dirReal + "/" + components[components.count - 1]
        switch fileType(target) {
        case nil, S_IFREG: break
        case S_IFLNK: throw SafeWriteRefusal(reason: "target is a symlink")
        default: throw SafeWriteRefusal(reason: "target exists and is not a regular file")
        }
        var tmp = ""
        var fd: Int32 = -1
        for _ in 0..<8 {
            tmp = dirReal + "/.ymera-tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw SafeWriteRefusal(reason: "cannot create a file: \(String(cString: strerror(errno)))") }
        var ok = true
        data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    ok = false
                    return
                }
                off += n
            }
        }
        close(fd)
        guard ok else {
            unlink(tmp)
            throw SafeWriteRefusal(reason: "write failed: \(String(cString: strerror(errno)))")
        }
        if rename(tmp, target) != 0 {
            let msg = String(cString: strerror(errno))
            unlink(tmp)
            throw SafeWriteRefusal(reason: "cannot replace the file: \(msg)")
        }
    }

    /// The file type (`S_IFREG`, `S_IFDIR`, `S_IFLNK`, …) without following a symlink; nil when absent.
    static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func isSafeRunID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 128 && id != "." && id != ".."
            && id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}
