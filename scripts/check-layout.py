#!/usr/bin/env python3
"""check-layout.py [--root DIR]: the layout rules of CONTRIBUTING.md, checked.

Reads the C sources (never writes), prints each violation as
`rule: file:line: what`, and exits 1 if there is any (2 on a usage error).
Python 3 standard library only. Run by test.sh before the build.

Rules:
  circle    no circle between modules. A module is X.c, X.h and X-private.h
            (or X-internal.h) of one folder; A -> B when a file of A has
            `#include "B.h"`, or (in busd/ proto/ util/, where each module has
            its own header) when a .c file of A calls a function defined in a
            .c file of B, wherever it is declared: a circle hidden behind a
            shared header is still a circle. A bare include name resolves in
            the includer's own folder first, then busd/*/, proto/, util/,
            libbus/, tools/bus/, tests/*/. Every strongly connected component
            (Tarjan) of more than one module is reported, with its shortest
            circles and the include or call behind each step.
            Scope: busd/ proto/ util/ libbus/ tools/.
  layer     a file includes only headers of its own layer or of the layers
            below (busd/CMakeLists.txt):
              proto/ util/ < busd/policy < busd/core < busd/config, busd/bridge
              < busd/io < busd/main.c
            config/ and bridge/ are siblings and do not include each other.
            Inside bridge/: tls.[ch] (busdtls) sees only proto/ and util/;
            bridge.c, linkmsg.c, bridgecfg.c, bridgediff.c (busdbridge, pure) do not include tls.h or
            bridgeio.h. libbus/ sees proto/ and util/, libbus/adapters/ only
            libbus/bus.h (the public API); tools/bus/ sees proto/,
            util/, libbus/ and busd/policy/. Nothing includes tests/.
            System headers: <uv.h> only in busd/io, busd/bridge/bridgeio*,
            busd/bridge/bridgereload.[ch], busd/main.c and libbus/adapters/; socket headers (sys/socket.h, sys/un.h, netinet/,
            arpa/, netdb.h) not in proto/ util/ policy/ core/ config/;
            <systemd/...> only in busd/io; <openssl/...> only in
            busd/bridge/tls.[ch]; <microhttpd.h> only in
            busd/io/httpmetrics.c. Scope: busd/ proto/ util/ libbus/ tools/.
  size      no source file over 1,000 lines. Scope: busd/ proto/ util/
            libbus/ tools/ tests/ (.c and .h).
  vocab     the wire vocabulary is spelt once: no string literal equal to an
            error code of proto/errcode.h (its #defines are read) outside that
            file, and no "org.busd" literal outside proto/buslimits.h
            (BUS_DAEMON_NAME). A line carrying the comment `/* vocab: why */`
            may hold such a literal (a word that happens to equal a code, say
            "timeout" as an option name). Comments are not looked at.
            Scope: busd/ proto/ util/ libbus/ tools/.
  address   one bus address parser, proto/address.c: no function declared in
            proto/address.h is defined or declared anywhere else, `struct
            address` is defined only in proto/address.h, and nothing else
            looks at an address's scheme by hand (a strncmp/strcmp/memcmp/
            strstr against "unix:" or "seqpacket:"; use address_parse() and
            the seqpacket flag). Scope: busd/ proto/ util/ libbus/ tools/
            tests/bench/ tests/abuse/ tests/util/ (the tests of the parser
            itself may spell addresses as they like).
  jsonnew   busd/ and tools/ make json-c objects only through proto/jsonnew.h
            (jsonnew_*(), which abort on allocation failure): no bare
            json_object_new_*() call there (CONTRIBUTING.md, "Allocation
            failure"). libbus checks each constructor itself.
"""

import argparse
import os
import re
import sys

MAX_LINES = 1000

# Folders whose sources the include, layer, vocabulary and address rules look at.
CODE_TOPS = ("busd", "proto", "util", "libbus", "tools")
# The "tools" that live under tests/ (built with the tree, not installed).
TEST_TOOLS = ("tests/bench", "tests/abuse", "tests/util")

# ---- reading C ---------------------------------------------------------------


class Source:
    """One C file: its lines, its text with comments blanked, its string literals."""

    def __init__(self, root, rel):
        self.rel = rel
        self.folder = os.path.dirname(rel)
        self.name = os.path.basename(rel)
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            self.text = f.read()
        self.lines = self.text.split("\n")
        self.nlines = self.text.count("\n") + (0 if self.text.endswith("\n") or not self.text else 1)
        self.code, self.literals = scan_c(self.text)
        self.code_lines = self.code.split("\n")


def scan_c(text):
    """Returns (code, literals): code is text with comments and the insides of
    string and character literals replaced by spaces (newlines kept, so line
    numbers and columns stay), literals is a list of (line, raw contents) of
    the string literals."""
    out = []
    lits = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            chunk = text[i:j]
            out.append(re.sub(r"[^\n]", " ", chunk))
            line += chunk.count("\n")
            i = j
        elif c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if j >= n or text[j] != c:  # unterminated: not a literal (an apostrophe in #error, say)
                out.append(c)
                i += 1
                continue
            body = text[i + 1:j]
            if c == '"':
                lits.append((line, body))
            out.append(c + re.sub(r"[^\n]", " ", body) + c)
            line += body.count("\n")
            i = j + 1
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out), lits


INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SYS_INCLUDE_RE = re.compile(r"^\s*#\s*include\s*<([^>]+)>")


def includes(src):
    """(line, name) of every #include "name" of a file, comments ignored."""
    res = []
    for no, (raw, code) in enumerate(zip(src.lines, src.code_lines), 1):
        if not code.lstrip().startswith("#"):
            continue
        m = INCLUDE_RE.match(raw)
        if m:
            res.append((no, m.group(1)))
    return res


def sys_includes(src):
    res = []
    for no, (raw, code) in enumerate(zip(src.lines, src.code_lines), 1):
        if code.lstrip().startswith("#"):
            m = SYS_INCLUDE_RE.match(raw)
            if m:
                res.append((no, m.group(1)))
    return res


# A function definition: at column 0, a type and a name, a parameter list,
# then the opening brace (on the same or a later line).
FUNC_DEF_RE = re.compile(r"^(?!(?:if|for|while|switch|return|else|do)\b)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*"
                         r"\(([^;{}()]|\([^;{}()]*\))*\)\s*\{", re.M)
FUNC_DECL_RE = re.compile(r"^(?!(?:if|for|while|switch|return|else|do|typedef)\b)[A-Za-z_][\w \t\*]*?\b"
                          r"([A-Za-z_]\w*)\s*\(([^;{}()]|\([^;{}()]*\))*\)\s*;", re.M)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


# ---- the tree ----------------------------------------------------------------


def list_sources(root, tops):
    res = []
    for top in tops:
        base = os.path.join(root, top)
        if os.path.isfile(base):
            if top.endswith((".c", ".h")):
                res.append(top)
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "corpus")
            for fn in sorted(filenames):
                if fn.endswith((".c", ".h")):
                    res.append(os.path.relpath(os.path.join(dirpath, fn), root))
    return res


def load(root, rels):
    srcs = {}
    for rel in rels:
        try:
            srcs[rel] = Source(root, rel)
        except (FileNotFoundError, IsADirectoryError):
            pass  # moved away while we looked (others edit the tree)
    return srcs


def search_folders(root):
    """The folders a bare include name is looked up in, in order (after the
    includer's own folder)."""
    res = []
    busd = os.path.join(root, "busd")
    if os.path.isdir(busd):
        res += ["busd/" + d for d in sorted(os.listdir(busd)) if os.path.isdir(os.path.join(busd, d))]
        res.append("busd")
    res += ["proto", "util", "libbus", "tools/bus"]
    tests = os.path.join(root, "tests")
    if os.path.isdir(tests):
        res += ["tests"] + ["tests/" + d for d in sorted(os.listdir(tests)) if os.path.isdir(os.path.join(tests, d))]
    return [f for f in res if os.path.isdir(os.path.join(root, f))]


class Resolver:
    def __init__(self, root):
        self.root = root
        self.folders = search_folders(root)

    def resolve(self, src, name):
        """Returns (path or None, [other candidates]) for `#include "name"` in src."""
        own = os.path.normpath(os.path.join(src.folder, name))
        if os.path.isfile(os.path.join(self.root, own)):
            return own, []
        found = [os.path.normpath(os.path.join(f, name)) for f in self.folders
                 if os.path.isfile(os.path.join(self.root, f, name))]
        if not found:
            return None, []
        # tests/ come last in the search and are not a rival of the code folders
        code = [p for p in found if not p.startswith("tests/")]
        return found[0], (code[1:] if code else found[1:])


def module_of(rel):
    """folder/stem: X.c, X.h, X-private.h and X-internal.h are one module."""
    folder, name = os.path.split(rel)
    stem = re.sub(r"\.[ch]$", "", name)
    stem = re.sub(r"-(private|internal)$", "", stem)
    return folder + "/" + stem


# ---- the rules ---------------------------------------------------------------


class Report:
    def __init__(self):
        self.items = []

    def add(self, rule, where, what):
        self.items.append((rule, where, what))

    def print(self):
        for rule, where, what in self.items:
            print(f"{rule}: {where}: {what}")


# Where calls count as edges too: the daemon and the protocol, where every
# module has its own header (libbus/ and tools/bus/ share one internal header
# on purpose: bus-internal.h, cli.h).
CALL_SCOPE = ("busd/", "proto/", "util/")
CALL_RE = re.compile(r"(?<![.>\w])([A-Za-z_]\w*)\s*\(")  # not a member's function pointer (p->ops->send)


def global_functions(srcs, scope):
    """name -> module of every non-static function defined once in scope."""
    seen = {}
    for rel, src in srcs.items():
        if not rel.startswith(scope) or not rel.endswith(".c"):
            continue
        for m in FUNC_DEF_RE.finditer(src.code):
            if re.search(r"\bstatic\b", src.code[m.start():m.start(1)]):
                continue
            seen.setdefault(m.group(1), set()).add(module_of(rel))
    return {name: mods.pop() for name, mods in seen.items() if len(mods) == 1}


def check_circles(srcs, resolver, rep):
    graph = {}   # module -> {module: (file, line, how)}, how: the first include or call that makes the edge
    for rel in sorted(srcs):
        src = srcs[rel]
        if not rel.startswith(tuple(t + "/" for t in CODE_TOPS)):
            continue
        a = module_of(rel)
        graph.setdefault(a, {})
        for line, name in includes(src):
            path, _ = resolver.resolve(src, name)
            if path is None or path.startswith("tests/"):
                continue  # not ours (the layer rule reports includes of tests/)
            b = module_of(path)
            if b != a:
                graph[a].setdefault(b, (rel, line, f'#include "{name}"'))
                graph.setdefault(b, {})

    # A call to a function of another module is an edge too, even when the
    # declaration sits in a third header (a circle hidden behind a shared
    # private header is still a circle).
    owner = global_functions(srcs, CALL_SCOPE)
    for rel in sorted(srcs):
        if not rel.startswith(CALL_SCOPE) or not rel.endswith(".c"):
            continue
        src = srcs[rel]
        a = module_of(rel)
        for m in CALL_RE.finditer(src.code):
            b = owner.get(m.group(1))
            if b and b != a and b not in graph[a]:
                graph[a][b] = (rel, line_of(src.code, m.start()), f"calls {m.group(1)}()")
                graph.setdefault(b, {})

    # Tarjan's strongly connected components, iteratively (no recursion limit).
    index, low, onstack, stack, sccs = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        onstack.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in onstack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))

    for comp in sorted(sccs):
        members = set(comp)
        if len(comp) == 2:
            head = f"{comp[0]} and {comp[1]} need each other"
        else:
            head = f"{len(comp)} modules in a circle: " + ", ".join(comp)
        lines = []
        for cycle in short_cycles(graph, members)[:MAX_CYCLES_SHOWN]:
            lines.append("\n    " + " -> ".join(cycle + [cycle[0]]))
            for a, b in zip(cycle, cycle[1:] + [cycle[0]]):
                f, line, how = graph[a][b]
                lines.append(f"\n        {f}:{line} {how}")
        more = len(short_cycles(graph, members)) - MAX_CYCLES_SHOWN
        if more > 0:
            lines.append(f"\n    ({more} more circles through these modules)")
        rep.add("circle", comp[0], head + "".join(lines))


MAX_CYCLES_SHOWN = 6


def short_cycles(graph, members):
    """For each module of a strongly connected component, the shortest circle
    through it (breadth-first within the component); each circle once."""
    seen, res = set(), []
    for start in sorted(members):
        prev, queue, found = {start: None}, [start], None
        while queue and found is None:
            nxt = []
            for v in queue:
                for w in sorted(graph[v]):
                    if w not in members:
                        continue
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            queue = nxt
        if found is None:
            continue
        path, v = [], found
        while v is not None:
            path.append(v)
            v = prev[v]
        path.reverse()
        i = path.index(min(path))  # one spelling per circle: start at its smallest module
        path = path[i:] + path[:i]
        if tuple(path) not in seen:
            seen.add(tuple(path))
            res.append(path)
    return res


# Layer units: (path prefix or file, unit); the first match wins.
UNITS = [
    ("busd/main.c", "main"),
    ("busd/bridge/tls.", "bridge-tls"),
    ("busd/bridge/bridgeio", "bridge-link"),  # bridgeio.[ch], bridgeio_private.h
    ("busd/bridge/bridgereload.", "bridge-link"),
    ("busd/bridge/", "bridge"),
    ("busd/config/", "config"),
    ("busd/core/", "core"),
    ("busd/policy/", "policy"),
    ("busd/io/", "io"),
    ("busd/", "busd-other"),
    ("proto/", "proto"),
    ("util/", "proto"),
    ("libbus/adapters/", "libbus-adapters"),
    ("libbus/", "libbus"),
    ("tools/bus/", "tools"),
    ("tools/", "tools"),
    ("tests/", "tests"),
]

# unit -> the units whose headers it may include
ALLOWED = {
    "proto": {"proto"},
    "policy": {"proto", "policy"},
    "core": {"proto", "policy", "core"},
    "config": {"proto", "policy", "core", "config"},
    "bridge": {"proto", "policy", "core", "bridge"},
    "bridge-tls": {"proto", "bridge-tls"},
    "bridge-link": {"proto", "policy", "core", "bridge", "bridge-tls", "bridge-link"},
    "io": {"proto", "policy", "core", "config", "bridge", "bridge-tls", "bridge-link", "io"},
    "main": {"proto", "policy", "core", "config", "bridge", "bridge-tls", "bridge-link", "io", "main"},
    "busd-other": set(),
    "libbus": {"proto", "libbus"},
    "libbus-adapters": {"libbus"},
    "tools": {"proto", "libbus", "policy", "tools"},
}

UNIT_NAMES = {
    "proto": "proto/ util/", "policy": "busd/policy", "core": "busd/core", "config": "busd/config",
    "bridge": "busd/bridge (busdbridge)", "bridge-tls": "busd/bridge/tls (busdtls)",
    "bridge-link": "busd/bridge/bridgeio (busdlink)", "io": "busd/io", "main": "busd/main.c",
    "busd-other": "busd/ outside a layer folder", "libbus": "libbus",
    "libbus-adapters": "libbus/adapters", "tools": "tools", "tests": "tests",
}


def unit_of(rel):
    for prefix, unit in UNITS:
        if rel == prefix or rel.startswith(prefix):
            return unit
    return None


SOCKET_HEADERS = re.compile(r"^(sys/socket\.h|sys/un\.h|netinet/.*|arpa/.*|netdb\.h)$")
PURE_UNITS = {"proto", "policy", "core", "config"}


def check_layers(srcs, resolver, rep):
    for rel in sorted(srcs):
        if not rel.startswith(tuple(t + "/" for t in CODE_TOPS)):
            continue
        src = srcs[rel]
        unit = unit_of(rel)
        if unit == "busd-other":
            rep.add("layer", rel, "a daemon source outside the layer folders (busd/{policy,core,config,bridge,io}/)")
            continue
        allowed = ALLOWED.get(unit, set())
        for line, name in includes(src):
            path, rivals = resolver.resolve(src, name)
            if path is None:
                continue
            if rivals and os.path.dirname(path) != src.folder:
                rep.add("layer", f"{rel}:{line}",
                        f'#include "{name}" is ambiguous: {path} and {", ".join(rivals)}')
            target = unit_of(path)
            if target not in allowed:
                rep.add("layer", f"{rel}:{line}",
                        f'{UNIT_NAMES[unit]} includes "{name}" ({path}, {UNIT_NAMES.get(target, target)}): '
                        f"{UNIT_NAMES[unit]} may include only {describe(allowed)}")
        for line, name in sys_includes(src):
            why = None
            if name == "uv.h" and unit not in ("io", "bridge-link", "main", "libbus-adapters"):
                why = "libuv is for busd/io, busd/bridge/bridgeio (busdlink), main.c and libbus/adapters"
            elif SOCKET_HEADERS.match(name) and unit in PURE_UNITS:
                why = "no sockets below busd/io (the core knows peers by id)"
            elif name.startswith("systemd/") and unit != "io" and unit in ALLOWED and unit not in ("libbus", "libbus-adapters", "tools"):
                why = "libsystemd is for busd/io"
            elif name.startswith("openssl/") and unit not in ("bridge-tls", "libbus", "tools"):
                why = "OpenSSL is for busd/bridge/tls.c"
            elif name == "microhttpd.h" and rel != "busd/io/httpmetrics.c":
                why = "libmicrohttpd is for busd/io/httpmetrics.c (GET /metrics)"
            if why:
                rep.add("layer", f"{rel}:{line}", f"#include <{name}> in {UNIT_NAMES[unit]}: {why}")


def describe(units):
    order = ["proto", "policy", "core", "config", "bridge", "bridge-tls", "bridge-link", "io", "main",
             "libbus", "libbus-adapters", "tools"]
    return ", ".join(UNIT_NAMES[u] for u in order if u in units) or "nothing"


def check_sizes(srcs, rep):
    for rel in sorted(srcs):
        n = srcs[rel].nlines
        if n > MAX_LINES:
            rep.add("size", rel, f"{n} lines (at most {MAX_LINES}): split it")


def errcodes(root):
    codes = {}
    path = os.path.join(root, "proto/errcode.h")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    for m in re.finditer(r'^\s*#\s*define\s+(\w+)\s+"([^"\\]*)"', text, re.M):
        codes.setdefault(m.group(2), m.group(1))
    return codes


def check_vocab(root, srcs, rep):
    codes = errcodes(root)
    if codes is None:
        rep.add("vocab", "proto/errcode.h", "missing: the error codes have no home")
        codes = {}
    elif not codes:
        rep.add("vocab", "proto/errcode.h", 'no #define NAME "code" found: did its format change?')
    for rel in sorted(srcs):
        if not rel.startswith(tuple(t + "/" for t in CODE_TOPS)):
            continue
        src = srcs[rel]
        for line, lit in src.literals:
            marked = "/* vocab:" in src.lines[line - 1]
            if lit in codes and rel != "proto/errcode.h" and not marked:
                rep.add("vocab", f"{rel}:{line}", f'"{lit}" is an error code: use {codes[lit]} (proto/errcode.h)')
            if lit == "org.busd" and rel != "proto/buslimits.h" and not marked:
                rep.add("vocab", f"{rel}:{line}", '"org.busd": use BUS_DAEMON_NAME (proto/buslimits.h)')


def check_address(root, srcs, rep):
    home_c, home_h = "proto/address.c", "proto/address.h"
    scope = tuple(t + "/" for t in CODE_TOPS + TEST_TOOLS)
    api = set()
    if home_h in srcs:
        api = {m.group(1) for m in FUNC_DECL_RE.finditer(srcs[home_h].code)}
    else:
        rep.add("address", home_h, "missing: the one bus address parser has no header")
    if home_c not in srcs:
        rep.add("address", home_c, "missing: the one bus address parser is gone")
    scheme = re.compile(r'\b(strn?cmp|memcmp|strstr|strncasecmp|strcasecmp)\s*\([^;]*"(unix|seqpacket):"')
    for rel in sorted(srcs):
        if not rel.startswith(scope) or rel in (home_c, home_h):
            continue
        src = srcs[rel]
        for m in FUNC_DEF_RE.finditer(src.code):
            if m.group(1) in api:
                rep.add("address", f"{rel}:{line_of(src.code, m.start())}",
                        f"defines {m.group(1)}(), which is {home_c}'s: use that one")
        for m in FUNC_DECL_RE.finditer(src.code):
            if m.group(1) in api:
                rep.add("address", f"{rel}:{line_of(src.code, m.start())}",
                        f"declares {m.group(1)}(), which {home_h} declares: include that")
        for m in re.finditer(r"^\s*struct\s+address\s*\{", src.code, re.M):
            rep.add("address", f"{rel}:{line_of(src.code, m.start())}",
                    f"defines struct address, which is {home_h}'s")
        for no, (raw, code) in enumerate(zip(src.lines, src.code_lines), 1):
            for m in scheme.finditer(raw):
                quote = m.start(2) - 1
                if code[m.start(1)] != m.group(1)[0] or code[quote] != '"':
                    continue  # in a comment or inside another literal
                rep.add("address", f"{rel}:{no}",
                        f'looks at the "{m.group(2)}:" scheme by hand: parse with address_parse() '
                        f"and use struct address's seqpacket flag")


def check_jsonnew(srcs, rep):
    """busd/ and tools/ make json-c objects only through proto/jsonnew.h,
    which aborts on allocation failure (CONTRIBUTING.md)."""
    ctor = re.compile(r"\bjson_object_new_\w+\s*\(")
    for rel in sorted(srcs):
        if not rel.startswith(("busd/", "tools/")):
            continue
        src = srcs[rel]
        for no, code in enumerate(src.code_lines, 1):
            for m in ctor.finditer(code):
                rep.add("jsonnew", f"{rel}:{no}",
                        f"{m.group(0).rstrip('( ')}() unchecked: use proto/jsonnew.h's jsonnew_*()")


# ---- main --------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description="Checks the layout rules (see the top of this file).")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="the top of the source tree (default: this script's parent folder)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if not os.path.isdir(os.path.join(root, "busd")):
        print(f"check-layout: {root} is not a busd source tree", file=sys.stderr)
        return 2

    rels = list_sources(root, CODE_TOPS + ("tests",))
    srcs = load(root, rels)
    resolver = Resolver(root)
    rep = Report()
    check_circles(srcs, resolver, rep)
    check_layers(srcs, resolver, rep)
    check_sizes(srcs, rep)
    check_vocab(root, srcs, rep)
    check_address(root, srcs, rep)
    check_jsonnew(srcs, rep)
    rep.print()
    if rep.items:
        counts = {}
        for rule, _, _ in rep.items:
            counts[rule] = counts.get(rule, 0) + 1
        summary = ", ".join(f"{counts[r]} {r}" for r in ("circle", "layer", "size", "vocab", "address", "jsonnew") if r in counts)
        print(f"check-layout: {len(rep.items)} violation(s) ({summary}); "
              "the rules are at the top of scripts/check-layout.py")
        return 1
    print(f"check-layout: {len(srcs)} files, all rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
