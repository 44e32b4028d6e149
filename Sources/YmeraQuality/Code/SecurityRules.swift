import Foundation
import YmeraCore

/// YMERA's built-in security rules: line patterns with a rule id, used for every language and, for
/// Python, alongside Bandit when it is installed (a Bandit finding on the same line and of the same
/// kind replaces ours, so each issue is reported once and credited to the tool that found it).
public struct SecurityRule: Sendable, Hashable {
    public var id: String
    /// Languages it applies to; empty = all.
    public var languages: Set<CodeLanguage>
    public var severity: QualityFinding.Severity
    public var message: String
    /// Any of these matches flags the line (case-sensitive unless the pattern says `(?i)`).
    public var patterns: [String]
    /// Matches of these on the same line clear it (safe forms).
    public var unless: [String]
    /// Bandit test ids that report the same issue.
    public var banditIDs: Set<String>
    /// Patterns matched against the whole statement starting on the line (continuation lines joined
    /// until its parentheses close): for arguments split over lines.
    public var statementPatterns: [String]

    public init(
        id: String, languages: Set<CodeLanguage>, severity: QualityFinding.Severity, message: String,
        patterns: [String], unless: [String] = [], banditIDs: Set<String> = [], statementPatterns: [String] = []
    ) {
        self.statementPatterns = statementPatterns
        self.id = id
        self.languages = languages
        self.severity = severity
        self.message = message
        self.patterns = patterns
        self.unless = unless
        self.banditIDs = banditIDs
    }
}

public enum SecurityRules {
    static let sqlVerb = #"(?i:\b(select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+table)\b)"#

    /// String-built SQL, for each quote character separately (a `'` inside a `"…"` string is content).
    static let sqlPatterns: [String] = {
        var p: [String] = []
        for q in ["\"", "'"] {
            let body = "[^\(q)]*"
            p.append("\\bf\(q)\(body)" + sqlVerb + "\(body)\\{")  // f"SELECT … {x}"
            p.append("\(q)\(body)" + sqlVerb + "\(body)\(q)\\s*\\+\\s*[\\w(]")  // "SELECT …" + x
            p.append("\\+\\s*\(q)\(body)" + sqlVerb)  // x + "… WHERE"
            p.append("\(q)\(body)" + sqlVerb + "\(body)%[sd]\(body)\(q)\\s*%")  // "… %s" % x
            p.append("\(q)\(body)" + sqlVerb + "\(body)\\{\\w*\\}\(body)\(q)\\s*\\.format\\s*\\(")  // .format
        }
        p.append("`[^`]*" + sqlVerb + "[^`]*\\$\\{")  // JS template literal
        p.append(#"(?i)\bString\.format\s*\(\s*"[^"]*\b(select|insert|update|delete)\b"#)
        p.append(#"(?i)sprintf\s*\([^,]+,\s*"[^"]*\b(select|insert|update|delete)\b[^"]*%s"#)
        return p
    }()

    public static let all: [SecurityRule] = [
        SecurityRule(
            id: "shell-true", languages: [.python], severity: .high,
            message: "subprocess with shell=True: command injection if any part comes from input",
            patterns: [#"\bshell\s*=\s*(?!(False|None|0)\s*[,)])"#], banditIDs: ["B602", "B604"]),
        SecurityRule(
            id: "os-system", languages: [.python], severity: .high,
            message: "os.system/os.popen run a shell: command injection if any part comes from input",
            patterns: [#"\bos\.(system|popen\d?)\s*\("#, #"\bcommands\.getoutput\s*\("#], banditIDs: ["B605", "B607"]),
        SecurityRule(
            id: "eval-exec", languages: [.python], severity: .high,
            message: "eval/exec on a non-literal: runs arbitrary code from its input",
            patterns: [#"(?<![\w.])(?<!def )(eval|exec)\s*\(\s*(?!["')])"#],
            unless: [#"ast\.literal_eval"#], banditIDs: ["B307", "B102"]),
        SecurityRule(
            id: "eval-exec", languages: [.javascript, .typescript], severity: .high,
            message: "eval/new Function on a non-literal: runs arbitrary code from its input",
            patterns: [#"(?<![\w.])eval\s*\(\s*(?!["'`)])"#, #"\bnew\s+Function\s*\("#,
                       #"\bset(Timeout|Interval)\s*\(\s*["'`]"#]),
        SecurityRule(
            id: "eval-exec", languages: [.shell], severity: .medium,
            message: "eval of a variable: runs whatever the variable holds",
            patterns: [#"(^|[;&|]\s*)eval\s+["']?\$"#]),
        SecurityRule(
            id: "sql-string-build", languages: [], severity: .high,
            message: "SQL built by string concatenation or formatting: SQL injection; use parameters",
            patterns: sqlPatterns,
            banditIDs: ["B608"]),
        SecurityRule(
            id: "hardcoded-secret", languages: [], severity: .high,
            message: "hard-coded secret: keys and passwords belong in the environment or a secret store",
            patterns: [
                #"(?i)\b[\w]*(api[_-]?key|apikey|secret|token|passw(or)?d|passwd|pwd|access[_-]?key|private[_-]?key|client[_-]?secret)\w*["']?\s*[:=]\s*[rbu]?["'][^"'\s]{6,}["']"#,
                #"\b(sk-(proj-|ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|gsk_[A-Za-z0-9]{20,})\b"#,
                #"-----BEGIN (RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"#,
            ],
            unless: [
                #"(?i)["'](your|my|example|changeme_?in_?env|placeholder|<|\$\{|xxx|\*\*\*|dummy|test|fake|redacted)"#,
                #"(?i)(os\.environ|getenv|process\.env|ENV\[|environ\.get)"#,
                #"(?i)(token|password|secret)\w*\s*[:=]\s*["'](bearer|basic|token|password|secret)["']"#,
            ],
            banditIDs: ["B105", "B106", "B107"]),
        SecurityRule(
            id: "weak-password-hash", languages: [], severity: .high,
            message: "MD5/SHA-1 used for passwords: use bcrypt, scrypt, argon2 or PBKDF2 with a salt",
            patterns: [
                #"(?i)\b(md5|sha1|sha_1)\b.*\b(passw|pwd|passphrase)"#,
                #"(?i)\b(passw|pwd|passphrase)\w*.*\b(md5|sha1)\b"#,
            ],
            unless: [#"(?i)usedforsecurity\s*=\s*False"#],
            banditIDs: ["B303", "B324"]),
        SecurityRule(
            id: "pickle-load", languages: [.python], severity: .medium,
            message: "pickle/dill/marshal load: deserialising untrusted data runs code",
            patterns: [#"\b(c?[Pp]ickle|dill|marshal|shelve|jsonpickle)\.(loads?|Unpickler|open|decode)\s*\("#],
            banditIDs: ["B301", "B302"]),
        SecurityRule(
            id: "yaml-unsafe-load", languages: [.python], severity: .high,
            message: "yaml.load without SafeLoader constructs arbitrary objects; use yaml.safe_load",
            patterns: [#"\byaml\.(load|load_all)\s*\("#, #"\byaml\.unsafe_load\s*\("#, #"Loader\s*=\s*(yaml\.)?(Unsafe)?Loader\b"#],
            unless: [#"SafeLoader|CSafeLoader|BaseLoader"#],
            banditIDs: ["B506"]),
        SecurityRule(
            id: "tls-verify-off", languages: [], severity: .high,
            message: "TLS certificate verification turned off: traffic can be intercepted",
            patterns: [
                #"\bverify\s*=\s*False\b"#, #"\brejectUnauthorized\s*:\s*false\b"#, #"\bInsecureSkipVerify\s*:\s*true\b"#,
                #"NODE_TLS_REJECT_UNAUTHORIZED\s*=\s*["']?0"#, #"\bssl\._create_unverified_context\b"#,
                #"\bcheck_hostname\s*=\s*False\b"#, #"\bCERT_NONE\b"#, #"\bcurl\b[^\n|]*\s(-k|--insecure)\b"#,
                #"\bwget\b[^\n]*--no-check-certificate"#, #"danger_accept_invalid_certs\s*\(\s*true"#,
            ],
            banditIDs: ["B501", "B323", "B502", "B503", "B504"]),
        SecurityRule(
            id: "debug-enabled", languages: [.python], severity: .high,
            message: "web app run with debug=True: the debugger allows code execution",
            patterns: [#"\.run\s*\([^)]*debug\s*=\s*True"#], banditIDs: ["B201"]),
        SecurityRule(
            id: "weak-hash", languages: [.python], severity: .high,
            message: "MD4/MD5/SHA-1 are broken for security uses; use SHA-256 or better (or say usedforsecurity=False)",
            patterns: [
                #"\bhashlib\.(md5|sha1|md4)\s*\("#, #"(?i)\bhashlib\.new\s*\(\s*(name\s*=\s*)?["'](md5|md4|md2|sha1|sha)["']"#,
                #"\b\w+\.(md5|sha1)\s*\(\s*["'\w]"#,
            ],
            unless: [#"(?i)usedforsecurity\s*=\s*False"#], banditIDs: ["B324", "B303"]),
        SecurityRule(
            id: "ssl-insecure-version", languages: [.python], severity: .high,
            message: "SSLv2/SSLv3/TLS 1.0/TLS 1.1 are broken protocol versions; use TLS 1.2 or newer",
            patterns: [#"\bPROTOCOL_(SSLv2|SSLv3|TLSv1|TLSv1_1)\b"#, #"\b(SSLv2|SSLv23|SSLv3|TLSv1|TLSv1_1)_METHOD\b"#],
            banditIDs: ["B502", "B503", "B504"]),
        SecurityRule(
            id: "weak-cipher", languages: [.python], severity: .high,
            message: "a broken cipher (ARC2, ARC4, Blowfish, DES, XOR, CAST5, IDEA, SEED, 3DES); use AES-GCM or ChaCha20-Poly1305",
            patterns: [#"\balgorithms\.(ARC4|Blowfish|CAST5|IDEA|SEED|TripleDES)\s*\("#, #"(?i)\b\w*(arc2|arc4|blowfish|des|xor)\w*\.new\s*\("#],
            banditIDs: ["B304", "B305"]),
        SecurityRule(
            id: "pycrypto", languages: [.python], severity: .high,
            message: "pycrypto is unmaintained and has known vulnerabilities; use pycryptodome or cryptography",
            patterns: [#"^\s*(from|import)\s+Crypto(\.|\s|$)"#], banditIDs: ["B413"]),
        SecurityRule(
            id: "weak-key-size", languages: [.python], severity: .high,
            message: "an RSA/DSA key under 1024 bits can be broken; use 2048 bits or more",
            patterns: [#"\.generate\s*\(\s*([1-9]\d{0,2})\s*[,)]"#], banditIDs: ["B505"],
            statementPatterns: [
                #"\bdsa\.generate_private_key\s*\(\s*(key_size\s*=\s*)?([1-9]\d{0,2})\s*[,)]"#,
                #"\brsa\.generate_private_key\s*\(\s*(public_exponent\s*=\s*)?\d+\s*,\s*(key_size\s*=\s*)?([1-9]\d{0,2})\s*[,)]"#,
            ]),
        SecurityRule(
            id: "ssh-no-host-key", languages: [.python], severity: .high,
            message: "SSH host keys not verified (AutoAddPolicy/WarningPolicy): a man in the middle goes unnoticed",
            patterns: [#"set_missing_host_key_policy\s*\(\s*[\w.]*(AutoAddPolicy|WarningPolicy)"#], banditIDs: ["B507"]),
        SecurityRule(
            id: "tar-extractall", languages: [.python], severity: .high,
            message: "tarfile.extractall without a filter or members list: a crafted archive writes outside the target",
            patterns: [#"\.extractall\s*\("#], unless: [#"filter\s*=\s*["'](data|tar)["']"#, #"members\s*="#], banditIDs: ["B202"]),
        SecurityRule(
            id: "cleartext-protocol", languages: [.python], severity: .high,
            message: "Telnet/FTP send credentials in clear text; use SSH/SFTP or FTP over TLS",
            patterns: [
                #"^\s*import\s+(telnetlib|ftplib)\b"#, #"^\s*from\s+(telnetlib|ftplib)\s+import\b"#, #"\btelnetlib\.Telnet\s*\("#,
                #"(?<![\w.])FTP\s*\("#, #"\bftplib\.FTP\s*\("#,
            ],
            banditIDs: ["B401", "B402", "B312", "B321"]),
        SecurityRule(
            id: "xmlrpc", languages: [.python], severity: .high,
            message: "xmlrpc parses XML unsafely (entity expansion); use defusedxml.xmlrpc",
            patterns: [#"^\s*import\s+xmlrpc\b"#, #"^\s*from\s+xmlrpc\b"#], banditIDs: ["B411"]),
        SecurityRule(
            id: "httpoxy", languages: [.python], severity: .high,
            message: "CGI handlers take the Proxy header as HTTP_PROXY (httpoxy)",
            patterns: [#"\bCGIHandler\s*\("#, #"\btwcgi\.CGI(Directory|Script)\s*\("#], banditIDs: ["B412"]),
        SecurityRule(
            id: "pyghmi", languages: [.python], severity: .high,
            message: "IPMI (pyghmi) is a clear-text, weakly authenticated protocol",
            patterns: [#"^\s*(from|import)\s+pyghmi\b"#], banditIDs: ["B415"]),
        SecurityRule(
            id: "wildcard-injection", languages: [.python], severity: .high,
            message: "a shell command with a wildcard: file names starting with '-' become options (tar, chown, chmod, rsync)",
            patterns: [#"\(\s*["'][^"']*\b(tar|chown|chmod|rsync)\b[^"']*\*"#], banditIDs: ["B609"]),
        SecurityRule(
            id: "trojan-source", languages: [], severity: .high,
            message: "bidirectional control characters: the code runs differently from how it reads (Trojan Source)",
            patterns: [#"[\x{202A}-\x{202E}\x{2066}-\x{2069}]"#], banditIDs: ["B613"]),
        SecurityRule(
            id: "jinja2-autoescape-off", languages: [.python], severity: .high,
            message: "a Jinja2 Environment without autoescape=True or select_autoescape: cross-site scripting",
            patterns: [#"\bEnvironment\s*\("#], unless: [#"autoescape\s*=\s*(True|select_autoescape|jinja2\.select_autoescape)"#],
            banditIDs: ["B701"]),
        SecurityRule(
            id: "insecure-tempfile", languages: [.python], severity: .medium,
            message: "tempfile.mktemp is racy; use mkstemp or NamedTemporaryFile",
            patterns: [#"\btempfile\.mktemp\s*\("#], banditIDs: ["B306"]),
        SecurityRule(
            id: "command-injection", languages: [.javascript, .typescript], severity: .high,
            message: "child_process exec with a built string: command injection; use execFile/spawn with arguments",
            patterns: [#"\b(exec|execSync)\s*\(\s*(`[^`]*\$\{|["'][^"']*["']\s*\+|\w+\s*\+)"#]),
        SecurityRule(
            id: "xss-inner-html", languages: [.javascript, .typescript], severity: .medium,
            message: "innerHTML/outerHTML/document.write with a non-literal: cross-site scripting",
            patterns: [#"\.(inner|outer)HTML\s*[+]?=\s*(?!["'`][^"'`$]*["'`]\s*;?\s*$)"#, #"\bdocument\.write\s*\("#, #"dangerouslySetInnerHTML"#]),
        SecurityRule(
            id: "unsafe-c-string", languages: [.c, .cpp], severity: .high,
            message: "unbounded C string function: buffer overflow (gets/strcpy/strcat/sprintf)",
            patterns: [#"(?<![\w.])(gets|strcpy|strcat|sprintf|vsprintf)\s*\("#]),
        SecurityRule(
            id: "command-injection", languages: [.c, .cpp], severity: .medium,
            message: "system()/popen() run a shell: command injection if any part comes from input",
            patterns: [#"(?<![\w.])(system|popen)\s*\("#]),
        SecurityRule(
            id: "curl-pipe-shell", languages: [.shell], severity: .high,
            message: "downloads piped straight into a shell run unverified code",
            patterns: [#"\b(curl|wget)\b[^|\n]*\|\s*(sudo\s+)?(ba|z)?sh\b"#]),
        SecurityRule(
            id: "world-writable", languages: [.shell, .python], severity: .medium,
            message: "world-writable permissions (777)",
            patterns: [#"\bchmod\s+(-R\s+)?0?777\b"#], banditIDs: ["B103"]),
        SecurityRule(
            id: "bind-all-interfaces", languages: [.python, .javascript, .typescript, .go], severity: .low,
            message: "binds to all interfaces (0.0.0.0): reachable from the network",
            patterns: [#"["']0\.0\.0\.0["']"#], banditIDs: ["B104"]),
    ]

    /// Findings of the built-in rules in one block (lines are in the whole output).
    public static func scan(_ block: CodeBlock, rules: [SecurityRule] = all) -> [QualityFinding] {
        let lines = block.code.components(separatedBy: "\n")
        let applicable = rules.filter { $0.languages.isEmpty || $0.languages.contains(block.language) }
        let commentPrefixes: [String] =
            [.python, .shell, .ruby].contains(block.language) ? ["#"] : ["//", "/*", "*"]
        var out: [QualityFinding] = []
        for (i, line) in lines.enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || commentPrefixes.contains(where: { t.hasPrefix($0) }) { continue }
            if block.language == .shell && t.hasPrefix("#!") { continue }
            let stmt = statement(lines, from: i)
            let flat = stmt.replacingOccurrences(of: "\n", with: " ")
            for rule in applicable {
                let hit = rule.patterns.contains(where: { line.range(of: $0, options: .regularExpression) != nil })
                    || rule.statementPatterns.contains(where: { flat.range(of: $0, options: .regularExpression) != nil })
                guard hit else { continue }
                if rule.unless.contains(where: { stmt.range(of: $0, options: .regularExpression) != nil }) { continue }
                out.append(QualityFinding(
                    rule: rule.id, source: "ymera", severity: rule.severity, line: block.startLine + i, message: rule.message))
            }
            if block.language == .python, let mode = chmodMode(line), mode & 0o002 != 0,
                !out.contains(where: { $0.line == block.startLine + i && $0.rule == "world-writable" })
            {
                out.append(QualityFinding(
                    rule: "world-writable", source: "ymera", severity: .high, line: block.startLine + i,
                    message: "os.chmod grants write permission to every user (mode \(String(mode, radix: 8)))"))
            }
        }
        return out
    }

    /// The statement that starts on line `i`: continuation lines joined until its parentheses close (at most 8).
    static func statement(_ lines: [String], from i: Int) -> String {
        var s = lines[i]
        var depth = s.filter { $0 == "(" }.count - s.filter { $0 == ")" }.count
        var j = i
        while depth > 0 && j + 1 < lines.count && j < i + 8 {
            j += 1
            s += "\n" + lines[j]
            depth += lines[j].filter { $0 == "(" }.count - lines[j].filter { $0 == ")" }.count
        }
        return s
    }

    /// The mode of an `os.chmod(path, MODE)` call written as a number (0o777, 0777, 0x1ff, 511).
    static func chmodMode(_ line: String) -> Int? {
        guard let r = line.range(of: #"\bchmod\s*\(.*,\s*(0o[0-7]+|0x[0-9a-fA-F]+|0[0-7]+|\d+)\s*\)"#, options: .regularExpression) else { return nil }
        let call = String(line[r])
        guard let m = call.range(of: #"(0o[0-7]+|0x[0-9a-fA-F]+|0[0-7]+|\d+)\s*\)$"#, options: .regularExpression) else { return nil }
        let t = call[m].trimmingCharacters(in: CharacterSet(charactersIn: ") "))
        if t.hasPrefix("0o") { return Int(t.dropFirst(2), radix: 8) }
        if t.hasPrefix("0x") { return Int(t.dropFirst(2), radix: 16) }
        if t.hasPrefix("0") && t.count > 1 { return Int(t.dropFirst(), radix: 8) }
        return Int(t)
    }

    /// Drops our findings that an external analyzer also reported on the same line and of the same kind.
    static func dedupe(ours: [QualityFinding], bandit: [QualityFinding]) -> [QualityFinding] {
        let byID = Dictionary(grouping: all, by: \.id)
        return ours.filter { f in
            let ids = byID[f.rule]?.reduce(into: Set<String>()) { $0.formUnion($1.banditIDs) } ?? []
            return !bandit.contains { b in b.line == f.line && ids.contains(b.rule) }
        }
    }

    /// 1 − penalties (high 0.4, medium 0.15, low 0.05, info 0), floored at 0.
    public static func score(_ findings: [QualityFinding]) -> Double {
        let penalty = findings.reduce(0.0) { acc, f in
            switch f.severity {
            case .high: acc + 0.4
            case .medium: acc + 0.15
            case .low: acc + 0.05
            case .info: acc
            }
        }
        return max(0, 1 - penalty)
    }
}
