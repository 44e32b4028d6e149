import Foundation

/// The corpus that holds the validator's line: a dozen tasks, each with a good answer, a parroting
/// answer, an off-topic answer, a truncated one, a padded one and, for code, one that does not run.
/// Good, off-topic and non-running answers are written out; parroting, truncated and padded ones
/// are made from them the way models produce them (see `CorpusTask.variants`).
struct CorpusTask: Sendable {
    var name: String
    var task: String
    var requirements: [String]
    var isCode: Bool
    var good: String
    var offTopic: String
    /// Code only: looks right, but raises at import or fails its own test.
    var broken: String?
    /// A hand-written parroting answer (else the generated one is used alone).
    var parrot: String?
}

enum Corpus {
    static let tasks: [CorpusTask] = code + text

    // MARK: - Code

    static let code: [CorpusTask] = [
        CorpusTask(
            name: "csv-parser",
            task: "Write a Python function that parses CSV text into a list of dicts, handling quoted fields and a header row.",
            requirements: ["parse CSV text into a list of dicts", "handle quoted fields", "use the header row as keys"],
            isCode: true,
            good: #"""
                A small state machine is enough: it walks the text once, tracks whether it is inside quotes, and treats a doubled quote inside a quoted field as a literal quote.

                ```python
                # file: csvparse.py
                def parse_csv(text: str) -> list[dict]:
                    rows, field, row, in_quotes, i = [], [], [], False, 0
                    while i < len(text):
                        ch = text[i]
                        if in_quotes:
                            if ch == '"' and i + 1 < len(text) and text[i + 1] == '"':
                                field.append('"')
                                i += 1
                            elif ch == '"':
                                in_quotes = False
                            else:
                                field.append(ch)
                        elif ch == '"':
                            in_quotes = True
                        elif ch == ",":
                            row.append("".join(field))
                            field = []
                        elif ch == "\n":
                            row.append("".join(field))
                            rows.append(row)
                            field, row = [], []
                        else:
                            field.append(ch)
                        i += 1
                    if field or row:
                        row.append("".join(field))
                        rows.append(row)
                    if not rows:
                        return []
                    header, *records = rows
                    return [dict(zip(header, rec)) for rec in records]
                ```

                ```python
                # file: test_csvparse.py
                from csvparse import parse_csv


                def test_header_becomes_keys():
                    assert parse_csv("name,age\nAda,36\n") == [{"name": "Ada", "age": "36"}]


                def test_quoted_field_keeps_comma_and_quote():
                    rows = parse_csv('city,motto\n"Paris, FR","say ""oui"""\n')
                    assert rows == [{"city": "Paris, FR", "motto": 'say "oui"'}]


                def test_empty_text():
                    assert parse_csv("") == []
                ```

                The header row supplies the keys; a comma or newline inside quotes stays part of the field.
                """#,
            offTopic: #"""
                Here is a fast Fibonacci function using memoization.

                ```python
                from functools import lru_cache


                @lru_cache(maxsize=None)
                def fib(n: int) -> int:
                    if n < 2:
                        return n
                    return fib(n - 1) + fib(n - 2)


                def test_fib():
                    assert fib(10) == 55
                ```

                Memoization turns the exponential recursion into linear time.
                """#,
            broken: #"""
                This parser splits each line and zips it with the header row.

                ```python
                # file: csvparse.py
                def parse_csv(text):
                    lines = text.strip().split("\n")
                    header = lines[0].split(",")
                    return [dict(zip(header, line.split(","))) for line in lines[1:]]


                def test_quoted_field():
                    rows = parse_csv('city,motto\n"Paris, FR",hello\n')
                    assert rows[0]["city"] == "Paris, FR"


                assert test_quoted_field() is None
                ```

                Quoted fields are kept together and the header row gives the keys.
                """#),
        CorpusTask(
            name: "reverse-string",
            task: "Write a Python function that reverses a string, with a test.",
            requirements: ["reverse a string", "include a test"],
            isCode: true,
            good: #"""
                Slicing with a step of -1 walks the string backwards, which covers empty strings and multi-byte characters alike.

                ```python
                # file: textutil.py
                def reverse_string(s: str) -> str:
                    if not isinstance(s, str):
                        raise TypeError("expected str, got " + type(s).__name__)
                    return s[::-1]
                ```

                ```python
                # file: test_textutil.py
                import pytest

                from textutil import reverse_string


                def test_reverse_string():
                    assert reverse_string("abc") == "cba"
                    assert reverse_string("") == ""
                    assert reverse_string("añb") == "bña"


                def test_rejects_bytes():
                    with pytest.raises(TypeError):
                        reverse_string(b"abc")
                ```
                """#,
            offTopic: #"""
                To count the words in a file, read it and split on whitespace:

                ```python
                def count_words(path):
                    with open(path, encoding="utf-8") as fh:
                        return sum(len(line.split()) for line in fh)
                ```

                For very large files this streams line by line and never holds the whole file in memory.
                """#,
            broken: #"""
                ```python
                def reverse_string(s):
                    return s[::-1]


                def test_reverse_string():
                    return reverse_string(word) == "olleh"


                assert test_reverse_string() == False
                ```

                The test checks that reversing gives the expected result.
                """#),
        CorpusTask(
            name: "lru-cache",
            task: "Implement an LRU cache class in Python with get and put methods and a fixed capacity.",
            requirements: ["LRU cache class", "get and put methods", "evict the least recently used item at capacity"],
            isCode: true,
            good: #"""
                An `OrderedDict` keeps keys in use order: `move_to_end` on every access, and `popitem(last=False)` drops the oldest entry once the capacity is exceeded.

                ```python
                # file: lru.py
                from collections import OrderedDict


                class LRUCache:
                    def __init__(self, capacity: int):
                        if capacity <= 0:
                            raise ValueError("capacity must be positive")
                        self.capacity = capacity
                        self._items = OrderedDict()

                    def get(self, key, default=None):
                        if key not in self._items:
                            return default
                        self._items.move_to_end(key)
                        return self._items[key]

                    def put(self, key, value) -> None:
                        self._items[key] = value
                        self._items.move_to_end(key)
                        if len(self._items) > self.capacity:
                            self._items.popitem(last=False)
                ```

                ```python
                # file: test_lru.py
                from lru import LRUCache


                def test_evicts_least_recently_used():
                    c = LRUCache(2)
                    c.put("a", 1)
                    c.put("b", 2)
                    assert c.get("a") == 1
                    c.put("c", 3)
                    assert c.get("b") is None
                    assert c.get("a") == 1 and c.get("c") == 3


                def test_put_updates_existing_key():
                    c = LRUCache(1)
                    c.put("a", 1)
                    c.put("a", 2)
                    assert c.get("a") == 2
                ```
                """#,
            offTopic: #"""
                A binary search tree supports ordered traversal:

                ```python
                class Node:
                    def __init__(self, key):
                        self.key, self.left, self.right = key, None, None


                def insert(root, key):
                    if root is None:
                        return Node(key)
                    if key < root.key:
                        root.left = insert(root.left, key)
                    else:
                        root.right = insert(root.right, key)
                    return root
                ```

                In-order traversal then visits the keys in sorted order.
                """#,
            broken: #"""
                ```python
                # file: lru.py
                class LRUCache:
                    def __init__(self, capacity):
                        self.capacity = capacity
                        self.items = {}

                    def get(self, key):
                        return self.items.get(key)

                    def put(self, key, value):
                        if len(self.items) >= self.capacity:
                            self.items.pop(next(iter(self.items)))
                        self.items[key] = value
                ```

                ```python
                # file: test_lru.py
                from lru import LRUCache


                def test_recently_read_key_survives():
                    c = LRUCache(2)
                    c.put("a", 1)
                    c.put("b", 2)
                    c.get("a")
                    c.put("c", 3)
                    assert c.get("a") == 1
                ```

                The cache evicts the least recently used entry when it is full.
                """#),
        CorpusTask(
            name: "email-validation",
            task: "Write a Python function that validates an email address and returns True or False.",
            requirements: ["validate an email address", "return True or False", "reject addresses without a domain"],
            isCode: true,
            good: #"""
                A full RFC 5322 parser is overkill; this checks the shape that mail servers actually accept: one `@`, a non-empty local part of allowed characters, and a domain of dot-separated labels with a TLD of at least two letters.

                ```python
                # file: emailcheck.py
                import re

                _LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$")
                _LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


                def is_valid_email(address: str) -> bool:
                    if not isinstance(address, str) or address.count("@") != 1 or len(address) > 254:
                        return False
                    local, domain = address.split("@")
                    if not local or local.startswith(".") or ".." in local or not _LOCAL.match(local):
                        return False
                    labels = domain.split(".")
                    if len(labels) < 2 or len(labels[-1]) < 2 or not labels[-1].isalpha():
                        return False
                    return all(_LABEL.match(label) for label in labels)
                ```

                ```python
                # file: test_emailcheck.py
                from emailcheck import is_valid_email


                def test_accepts_ordinary_addresses():
                    assert is_valid_email("ada@example.org") is True
                    assert is_valid_email("first.last+tag@mail.example.co.uk") is True


                def test_rejects_missing_domain_and_bad_shapes():
                    for bad in ["ada@", "ada", "ada@localhost", "a..b@example.org", "@example.org", "ada@exa_mple.org"]:
                        assert is_valid_email(bad) is False
                ```
                """#,
            offTopic: #"""
                To send an email from Python, use `smtplib` with STARTTLS:

                ```python
                import smtplib
                from email.message import EmailMessage


                def send(host, user, password, to, subject, body):
                    msg = EmailMessage()
                    msg["From"], msg["To"], msg["Subject"] = user, to, subject
                    msg.set_content(body)
                    with smtplib.SMTP(host, 587) as s:
                        s.starttls()
                        s.login(user, password)
                        s.send_message(msg)
                ```

                Keep the password in an environment variable rather than in the script.
                """#,
            broken: #"""
                ```python
                # file: emailcheck.py
                import re

                PATTERN = re.compile(r"^[\w.]+@[\w]+(\.[\w]+$")


                def is_valid_email(address):
                    return bool(PATTERN.match(address))
                ```

                ```python
                # file: test_emailcheck.py
                from emailcheck import is_valid_email


                def test_domain_required():
                    assert is_valid_email("ada@example.org")
                    assert not is_valid_email("ada@")
                ```

                The regular expression validates the address and rejects a missing domain.
                """#),
        CorpusTask(
            name: "merge-intervals",
            task: "Write a Python function that merges overlapping intervals.",
            requirements: ["merge overlapping intervals", "sort intervals by start", "handle an empty list"],
            isCode: true,
            good: #"""
                Sort by start, then sweep once: each interval either extends the last merged one (when it starts before that one ends) or begins a new one. O(n log n) for the sort, O(n) for the sweep.

                ```python
                # file: intervals.py
                def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
                    merged: list[tuple[int, int]] = []
                    for start, end in sorted(intervals, key=lambda iv: iv[0]):
                        if start > end:
                            raise ValueError(f"interval ({start}, {end}) ends before it starts")
                        if merged and start <= merged[-1][1]:
                            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                        else:
                            merged.append((start, end))
                    return merged
                ```

                ```python
                # file: test_intervals.py
                from intervals import merge_intervals


                def test_merges_overlaps_in_any_order():
                    assert merge_intervals([(8, 10), (1, 3), (2, 6), (15, 18)]) == [(1, 6), (8, 10), (15, 18)]


                def test_touching_intervals_merge():
                    assert merge_intervals([(1, 4), (4, 5)]) == [(1, 5)]


                def test_empty_list():
                    assert merge_intervals([]) == []
                ```
                """#,
            offTopic: #"""
                Dijkstra's algorithm finds shortest paths with a priority queue:

                ```python
                import heapq


                def shortest(graph, source):
                    dist = {source: 0}
                    heap = [(0, source)]
                    while heap:
                        d, node = heapq.heappop(heap)
                        if d > dist.get(node, float("inf")):
                            continue
                        for nxt, w in graph.get(node, []):
                            nd = d + w
                            if nd < dist.get(nxt, float("inf")):
                                dist[nxt] = nd
                                heapq.heappush(heap, (nd, nxt))
                    return dist
                ```
                """#,
            broken: #"""
                ```python
                # file: intervals.py
                def merge_intervals(intervals):
                    intervals.sort()
                    out = [intervals[0]]
                    for s, e in intervals[1:]:
                        if s <= out[-1][1]:
                            out[-1] = (out[-1][0], e)
                        else:
                            out.append((s, e))
                    return out
                ```

                ```python
                # file: test_intervals.py
                from intervals import merge_intervals


                def test_contained_interval_and_empty():
                    assert merge_intervals([(1, 10), (2, 3)]) == [(1, 10)]
                    assert merge_intervals([]) == []
                ```

                Intervals are sorted by start and overlapping ones are merged; an empty list is handled.
                """#),
        CorpusTask(
            name: "token-bucket",
            task: "Write a Python rate limiter using the token bucket algorithm.",
            requirements: ["token bucket algorithm", "refill tokens over time", "allow or reject a request"],
            isCode: true,
            good: #"""
                The bucket holds up to `capacity` tokens and gains `rate` tokens per second; a request takes one token or is rejected. The clock is injected so tests do not sleep.

                ```python
                # file: bucket.py
                import time


                class TokenBucket:
                    def __init__(self, rate: float, capacity: int, clock=time.monotonic):
                        if rate <= 0 or capacity <= 0:
                            raise ValueError("rate and capacity must be positive")
                        self.rate, self.capacity, self._clock = rate, capacity, clock
                        self._tokens = float(capacity)
                        self._last = clock()

                    def _refill(self) -> None:
                        now = self._clock()
                        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                        self._last = now

                    def allow(self, cost: float = 1.0) -> bool:
                        self._refill()
                        if self._tokens >= cost:
                            self._tokens -= cost
                            return True
                        return False
                ```

                ```python
                # file: test_bucket.py
                from bucket import TokenBucket


                class FakeClock:
                    def __init__(self):
                        self.t = 0.0

                    def __call__(self):
                        return self.t


                def test_burst_then_reject_then_refill():
                    clock = FakeClock()
                    b = TokenBucket(rate=2, capacity=3, clock=clock)
                    assert [b.allow() for _ in range(4)] == [True, True, True, False]
                    clock.t = 0.5
                    assert b.allow() is True
                    assert b.allow() is False
                ```
                """#,
            offTopic: #"""
                A retry decorator with exponential backoff:

                ```python
                import functools
                import random
                import time


                def retry(times=3, base=0.1):
                    def wrap(fn):
                        @functools.wraps(fn)
                        def inner(*a, **kw):
                            for attempt in range(times):
                                try:
                                    return fn(*a, **kw)
                                except Exception:
                                    if attempt == times - 1:
                                        raise
                                    time.sleep(base * 2 ** attempt + random.random() / 100)
                        return inner
                    return wrap
                ```
                """#,
            broken: #"""
                ```python
                # file: bucket.py
                import time


                class TokenBucket:
                    def __init__(self, rate, capacity):
                        self.rate = rate
                        self.capacity = capacity
                        self.tokens = capacity
                        self.last = time.monotonic()

                    def allow(self):
                        now = time.monotonic()
                        self.tokens = self.tokens + (now - self.last) * self.rate
                        self.last = now
                        if self.tokens > 1:
                            self.tokens -= 1
                            return True
                        return False


                def test_burst_is_capped():
                    bucket = TokenBucket(rate=1000, capacity=2)
                    time.sleep(0.01)
                    assert [bucket.allow() for _ in range(3)] == [True, True, False]
                ```

                The bucket refills over time and allows or rejects each request.
                """#),
    ]

    // MARK: - Text

    static let text: [CorpusTask] = [
        CorpusTask(
            name: "pgbouncer",
            task: "Explain how PostgreSQL connection pooling with PgBouncer reduces latency.",
            requirements: ["how connection pooling works", "why it reduces latency", "PgBouncer pool modes"],
            isCode: false,
            good: """
                Opening a PostgreSQL connection is expensive: the client does a TCP (and usually TLS) handshake, authenticates, and the server forks a backend process that allocates its own memory. On a busy host that costs several milliseconds per connection, and far more under load.

                PgBouncer sits between the application and the database and keeps a small set of server connections open. Clients connect to PgBouncer instead; when a client needs the database, PgBouncer lends it an idle server connection and takes it back afterwards. The expensive setup happens once per server connection, not once per request, and that is why pooling reduces latency. It also caps the number of backends, so the database does not thrash when hundreds of application workers connect at once.

                PgBouncer has three pool modes. Session mode gives a client a server connection for its whole session, which is safe for everything but saves the least. Transaction mode returns the connection after each transaction, so a few dozen backends can serve thousands of clients; prepared statements and session settings such as `SET` do not survive between transactions there. Statement mode returns it after every statement and forbids multi-statement transactions, so it suits only simple autocommit workloads.

                In practice transaction mode with a pool of roughly two to four connections per CPU core on the database server gives the best latency for web traffic.
                """,
            offTopic: """
                Redis is an in-memory key-value store. It keeps data in RAM and can persist it with snapshots or an append-only file. Typical uses are caching, session storage and queues. Its single-threaded event loop makes individual commands atomic, and replication with Sentinel or Cluster gives high availability.
                """,
            parrot: """
                PostgreSQL connection pooling with PgBouncer reduces latency.

                - PostgreSQL
                - connection pooling
                - PgBouncer
                - reduces latency

                Requirements:
                - how connection pooling works
                - why it reduces latency
                - PgBouncer pool modes

                Covers: how connection pooling works; why it reduces latency; PgBouncer pool modes.
                """),
        CorpusTask(
            name: "rest-graphql",
            task: "Compare REST and GraphQL for a mobile app backend.",
            requirements: ["over-fetching and under-fetching", "caching", "tooling and learning curve"],
            isCode: false,
            good: """
                For a mobile client the main difference is how many round trips a screen costs and how much data crosses a slow network.

                With REST each resource has its own endpoint, so a profile screen may call `/users/42`, `/users/42/posts` and `/users/42/followers`: three round trips on a high-latency cellular link, each returning fields the screen never shows (over-fetching), or too few so another call is needed (under-fetching). GraphQL lets the client ask for exactly the fields one screen needs in a single request, which cuts payload size and round trips.

                Caching favours REST. Plain GET requests with stable URLs are cached by CDNs, proxies and the platform HTTP cache with `ETag` and `Cache-Control` for free. GraphQL usually sends POST requests to one endpoint, so HTTP caching does not apply; you rely on client caches such as Apollo's normalized store, or persisted queries sent as GET.

                Tooling and learning curve: REST is understood by every developer and tool, from curl to API gateways. GraphQL needs a schema, resolvers, and care with N+1 queries (DataLoader) and query cost limits, but gives typed code generation for Swift and Kotlin clients in return.

                A reasonable rule: choose GraphQL when many screens combine data from several resources and the team can invest in the server side; choose REST for a small API with cache-friendly, resource-shaped screens.
                """,
            offTopic: """
                Kubernetes schedules containers onto nodes. A Deployment declares how many replicas of a pod should run, and the controller replaces failed pods. Services give pods a stable virtual IP, and an Ingress routes external HTTP traffic to them. Horizontal Pod Autoscalers add replicas when CPU use rises.
                """),
        CorpusTask(
            name: "key-rotation",
            task: "Describe how to rotate API keys without downtime.",
            requirements: ["issue a new key alongside the old one", "migrate clients", "revoke the old key", "monitor usage"],
            isCode: false,
            good: """
                Zero-downtime rotation works because the server accepts two keys for a while.

                1. Issue the new key while the old one stays valid. The server stores both (hashed), each with an id and a creation date, and authenticates a request if either matches.
                2. Migrate the clients to the new key: update the secret in the vault or the deployment's environment, then redeploy or reload the clients one group at a time. Clients that read the secret at start-up need a restart; ones that watch the secret store pick it up on their own.
                3. Monitor usage of each key: watch which key id each request uses. Log the id (never the key) and graph requests per key; when traffic on the old id has been zero for a full business cycle, usually a day or a week, every client has moved.
                4. Revoke the old key and keep alerting on any request that still presents it, because that shows a forgotten client, a cron job or a leaked copy.

                Automate the schedule (for example every 90 days) so rotation is routine, and keep the overlap window short enough that a leaked key does not stay useful for long.
                """,
            offTopic: """
                Password hashing should use a slow, salted algorithm such as Argon2id or bcrypt. A unique salt per password prevents rainbow-table attacks, and the work factor should be tuned so one hash takes about 100 milliseconds on the server.
                """),
        CorpusTask(
            name: "financial-crisis",
            task: "Summarize the causes of the 2008 financial crisis.",
            requirements: ["subprime mortgages", "securitization", "leverage at banks", "the collapse of Lehman Brothers"],
            isCode: false,
            good: """
                The crisis grew from a US housing boom financed by loans to borrowers who could not repay them. From about 2003, lenders wrote subprime mortgages with low teaser rates, little documentation and small down payments, expecting that rising house prices would let borrowers refinance.

                Securitization spread the risk and hid it. Mortgages were pooled into mortgage-backed securities and then re-packaged into collateralized debt obligations; rating agencies gave AAA ratings to tranches whose value depended on the same falling housing market, so investors worldwide held exposure they did not understand.

                Banks and investment banks ran with very high leverage, often 30 to 1, funded by short-term borrowing in the repo and commercial-paper markets. When house prices fell in 2006–2007 and defaults rose, losses on a few percent of assets were enough to wipe out their equity, and lenders stopped rolling over the short-term funding.

                The panic peaked when Lehman Brothers filed for bankruptcy on 15 September 2008 without a rescue. Money-market funds "broke the buck", interbank lending froze, and AIG needed a government bailout the next day, which turned a housing slump into a global recession.
                """,
            offTopic: """
                The Great Depression began with the 1929 stock market crash. Bank runs, the gold standard and tight monetary policy deepened it, unemployment in the United States reached about 25 percent, and the New Deal introduced deposit insurance and public works programs.
                """),
        CorpusTask(
            name: "processes-threads",
            task: "Explain the difference between processes and threads.",
            requirements: ["memory isolation", "creation and switching cost", "communication between them"],
            isCode: false,
            good: """
                A process is a running program with its own virtual address space, file descriptors and security context; a thread is a path of execution inside a process, and all threads of a process share its memory.

                Isolation follows from that. A process cannot read another process's memory unless both ask for shared memory, so a crash or a memory-corrupting bug stays inside it. Threads see the same heap, which makes sharing data trivial but means one thread's bad write can corrupt the others and data races need locks or atomics.

                Cost differs too. Creating a process copies page tables and kernel structures (fork uses copy-on-write, but it is still tens to hundreds of microseconds), and switching between processes flushes parts of the TLB. Threads are cheaper to create and to switch, which is why servers use thread pools rather than a process per request.

                For communication, threads simply read and write shared variables, synchronised with mutexes, condition variables or channels. Processes need inter-process communication: pipes, sockets, message queues or explicitly mapped shared memory, which is slower but keeps the boundary clear.
                """,
            offTopic: """
                TCP and UDP are transport protocols. TCP gives an ordered, reliable byte stream with congestion control, while UDP sends independent datagrams with no delivery guarantee, which suits video calls and DNS lookups where latency matters more than completeness.
                """),
        CorpusTask(
            name: "commit-messages",
            task: "Give guidance on writing a good git commit message.",
            requirements: ["a short subject line", "explain why in the body", "imperative mood"],
            isCode: false,
            good: """
                Keep the subject line to about 50 characters, capitalise it and leave off the final period, because `git log --oneline`, GitHub and email patches truncate longer ones.

                Write the subject in the imperative mood, as if completing the sentence "If applied, this commit will …": "Add retry to the upload client", not "Added retries" or "Fixes stuff". It matches the messages git itself generates for merges and reverts.

                Separate the body from the subject with a blank line and wrap it at 72 columns. Use the body to say why the change was made and what problem it solves; the diff already shows how. Mention the alternatives you rejected, side effects, and the issue number it closes.

                Finally, make each commit one logical change, so the message can describe it honestly and `git bisect` or a revert touches only that change.
                """,
            offTopic: """
                To resolve a merge conflict, open the conflicted files, look for the markers that separate your side from theirs, edit the text into the version you want, then stage the files and continue the merge. A tool like `git mergetool` shows both sides next to each other.
                """),
    ]

    // MARK: - Variants

    /// Filler models add around an answer: pleasantries and generalities that say nothing.
    static let filler = [
        "I hope this helps you on your journey! Technology keeps evolving at an incredible pace, and staying curious is what makes a great engineer.",
        "In today's fast-paced digital landscape, every organisation faces new challenges, and the right mindset makes all the difference for teams of any size.",
        "Remember that there is rarely a single right answer in software; context, team culture and business goals always shape the final decision.",
        "Feel free to reach out if you have further questions. Happy coding, and best of luck with your project!",
    ]
}

extension CorpusTask {
    enum Variant: String, CaseIterable, Sendable { case good, parroting, offTopic = "off-topic", truncated, padded, nonRunning = "non-running" }

    /// The task restated: its sentence, its words as a list, then a "Covers:" line (for code, under a
    /// stub whose name repeats the task) — the answer the old scores gave 1.00.
    var generatedParrot: String {
        let words = task.split { !$0.isLetter && !$0.isNumber }.filter { $0.count > 3 }.map { "- \($0.lowercased())" }
        var s = "\(task)\n\n" + words.joined(separator: "\n") + "\n\n"
        if isCode {
            let name = requirements[0].lowercased().split { !$0.isLetter }.prefix(4).joined(separator: "_")
            s += "```python\ndef \(name)(*args):\n    \"\"\"\(task)\"\"\"\n    pass\n```\n\n"
        }
        s += "Covers: " + requirements.joined(separator: "; ") + ".\n"
        return s
    }

    /// The good answer cut off mid-sentence at about 55% (a stream that stopped).
    var truncated: String {
        let cut = good.index(good.startIndex, offsetBy: good.count * 55 / 100)
        var s = String(good[..<cut])
        while let last = s.last, !last.isLetter { s.removeLast() }
        return s
    }

    /// The good answer with filler before and after it.
    var padded: String {
        Corpus.filler[0] + " " + Corpus.filler[1] + "\n\n" + good + "\n\n" + Corpus.filler[2] + "\n\n" + Corpus.filler[3] + "\n"
    }

    /// The answers to score, each with its variant.
    var variants: [(Variant, String)] {
        var out: [(Variant, String)] = [(.good, good), (.parroting, generatedParrot)]
        if let parrot { out.append((.parroting, parrot)) }
        out += [(.offTopic, offTopic), (.truncated, truncated), (.padded, padded)]
        if let broken { out.append((.nonRunning, broken)) }
        return out
    }
}
