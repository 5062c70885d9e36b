"""install_test.py: the installation tests (tests/install/CMakeLists.txt).

    install_test.py PATHS.json STEP

PATHS.json (written by CMake) names the build tree, the scratch root and
where each kind of file must land. Steps:

  tree               `cmake --install` of the build tree into the scratch
                     root (DESTDIR), then the layout: every expected file and
                     nothing else, modes, the SONAME and exported symbols of
                     libbus, the paths inside libbus.pc and the units, a man
                     page per public function of libbus that man(1) resolves
                     to libbus(3), the syntax of the bash, zsh and fish
                     completions;
  example_pkgconfig  example/example.c built with `pkg-config --cflags --libs
                     libbus` against the scratch root, run against the
                     installed busd on both transports; the installed `bus`
                     CLI pings that busd;
  example_cmake      example/ configured as a project of its own with
                     find_package(libbus) against the scratch root, run
                     against the installed busd;
  uninstalled_pkgconfig
                     example/example.c built against the build tree (not
                     installed) with PKG_CONFIG_PATH=BUILD/libbus, which finds
                     libbus-uninstalled.pc, run against the tree's busd;
  no_man             a configure of the source tree as if go-md2man were
                     absent (-DGO_MD2MAN=/nonexistent/go-md2man) warns that
                     no man page is built and names the Debian package;
  systemd_verify     `systemd-analyze verify` on every installed unit: the
                     system units with --root (the scratch root plus the
                     host's unit directories), the user units as copies
                     whose ExecStart= points into the scratch root; and
                     systemd-sysusers on busd.conf in a scratch root.

busd is started race-free by tests/integration/daemon_harness.py (readiness
pipe, dies with the test). Every socket path (busd's, the units' under the
verify root and the user runtime directory) lies under a short directory of
its own in /tmp, never under the build tree: a sun_path holds at most 107
bytes, and build trees can be deep. Standard library only.
"""
import atexit
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
_SHORT = None


def short_dir(name):
    """A fresh directory `name` under this run's short directory in /tmp
    (removed at exit), for whatever holds sockets: /tmp/bi-XXXXXXXX/name."""
    global _SHORT
    if _SHORT is None:
        _SHORT = tempfile.mkdtemp(prefix="bi-", dir="/tmp")
        atexit.register(shutil.rmtree, _SHORT, ignore_errors=True)
    return fresh_dir(os.path.join(_SHORT, name))


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def run(argv, env=None, cwd=None, check=True):
    """Runs argv; returns its output (stdout and stderr together)."""
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and p.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(argv), p.returncode, p.stdout))
    return p.stdout if check else (p.returncode, p.stdout)


class Paths:
    def __init__(self, path):
        with open(path) as f:
            self.__dict__.update(json.load(f))

    def inroot(self, path):
        """An installed absolute path, inside the scratch root."""
        return self.root + path


# ---- tree ------------------------------------------------------------------

def expected_files(p):
    """Installed path -> kind ("exe", "file", "link", "dir"), absolute paths."""
    e = {
        p.bindir + "/busd": "exe",
        p.bindir + "/bus": "exe",
        p.libdir + "/libbus.so." + p.lib_version: "file",
        p.libdir + "/libbus.so." + p.soversion: "link",
        p.libdir + "/libbus.so": "link",
        p.includedir + "/bus.h": "file",
        p.libdir + "/pkgconfig/libbus.pc": "file",
        # the event-loop adapters (libbus/adapters/): headers and pkg-config files
        **{p.includedir + "/bus-%s.h" % a: "file" for a in ("uv", "sdevent", "glib")},
        **{p.libdir + "/pkgconfig/libbus-%s.pc" % a: "file" for a in ("uv", "sdevent", "glib")},
        p.docdir + "/bus.md": "file",
        p.completions + "/bus": "file",
        p.zsh_completions + "/_bus": "file",
        p.fish_completions + "/bus.fish": "file",
        p.sysusers + "/busd.conf": "file",
        p.datadir + "/busd/services": "dir",
        p.datadir + "/busd/user-services": "dir",
        p.sysconfdir + "/busd/policy.json": "file",
        p.sysconfdir + "/busd/policy.d": "dir",
    }
    cmakedir = p.libdir + "/cmake/libbus"
    config = (p.build_type or "noconfig").lower()
    for f in ("libbusConfig.cmake", "libbusConfigVersion.cmake", "libbusTargets.cmake",
              "libbusTargets-%s.cmake" % config):
        e[cmakedir + "/" + f] = "file"
    for d in (p.systemd_system, p.systemd_user):
        for unit in ("busd.socket", "busd-seqpacket.socket", "busd.service"):
            e[d + "/" + unit] = "file"
    if p.man:
        for name, sec in (("busd", 8), ("bus", 1), ("libbus", 3)):
            e["%s/man%d/%s.%d" % (p.mandir, sec, name, sec)] = "file"
        for name in public_functions(p):
            e["%s/man3/%s.3" % (p.mandir, name)] = "file"
    return e


def public_functions(p):
    """The functions that get a man page bus_x(3) linking to libbus(3): every
    function libbus.so exports (nm, so that the list docs/CMakeLists.txt
    reads from bus.h cannot miss one) and the adapters' static inline
    attach/detach functions (libbus/adapters/bus-*.h; names ending in _ are
    their internals)."""
    if not hasattr(p, "_functions"):
        lib = os.path.join(p.build_dir, "libbus", "libbus.so")
        names = set(line.split()[2] for line in run(["nm", "-D", "--defined-only", lib]).splitlines()
                    if len(line.split()) == 3 and line.split()[1] == "T")
        adapters = os.path.join(p.source_dir, "libbus", "adapters")
        for h in sorted(os.listdir(adapters)):
            if h.endswith(".h"):
                names.update(re.findall(r"(?m)^static inline [^(]*?\b(bus_\w*[a-z0-9])\(",
                                        open(os.path.join(adapters, h)).read()))
        for want in ("bus_call", "bus_open", "bus_attach_uv", "bus_detach_glib"):
            if want not in names:
                fail("%s is missing from the public functions found: %s" % (want, sorted(names)))
        p._functions = sorted(names)
    return p._functions


def installed_files(root):
    """Installed path -> kind, for every file, link and empty directory."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = dirpath[len(root):] or "/"
        if not dirnames and not filenames and dirpath != root:
            found[rel] = "dir"
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            path = os.path.join(rel, name)
            if os.path.islink(full):
                found[path] = "link"
            elif os.stat(full).st_mode & stat.S_IXUSR:
                found[path] = "exe"
            else:
                found[path] = "file"
    return found


def check_library(p):
    lib = p.inroot(p.libdir + "/libbus.so." + p.lib_version)
    if os.readlink(p.inroot(p.libdir + "/libbus.so." + p.soversion)) != "libbus.so." + p.lib_version:
        fail("libbus.so.%s does not point at libbus.so.%s" % (p.soversion, p.lib_version))
    if os.readlink(p.inroot(p.libdir + "/libbus.so")) != "libbus.so." + p.soversion:
        fail("libbus.so does not point at libbus.so.%s" % p.soversion)
    dyn = run(["readelf", "-d", lib])
    if "Library soname: [libbus.so.%s]" % p.soversion not in dyn:
        fail("libbus has no SONAME libbus.so.%s:\n%s" % (p.soversion, dyn))
    if "RUNPATH" in dyn or "RPATH" in dyn:
        fail("the installed libbus keeps a build RPATH:\n%s" % dyn)
    syms = run(["nm", "-D", "--defined-only", lib]).split()
    names = [s for s in syms if not s.startswith("0") and len(s) > 1 and not s.isupper()]
    stray = [s for s in names if not s.startswith("bus_")]
    if stray:
        fail("libbus exports symbols outside bus_*: %s" % " ".join(stray[:20]))
    if "bus_open" not in names:
        fail("libbus does not export bus_open")


def check_contents(p):
    pc = open(p.inroot(p.libdir + "/pkgconfig/libbus.pc")).read()
    for want in ("prefix=" + p.prefix, "libdir=" + p.libdir, "includedir=" + p.includedir,
                 "Version: " + p.version):
        if want + "\n" not in pc:
            fail("libbus.pc lacks %r:\n%s" % (want, pc))
    system = open(p.inroot(p.systemd_system + "/busd.service")).read()
    user = open(p.inroot(p.systemd_user + "/busd.service")).read()
    if "\nExecStart=%s/busd --system\n" % p.bindir not in system:
        fail("the system busd.service does not start %s/busd --system" % p.bindir)
    if "\nExecStart=%s/busd\n" % p.bindir not in user:
        fail("the user busd.service does not start %s/busd" % p.bindir)
    run(["bash", "-n", p.inroot(p.completions + "/bus")])
    for shell, path in (("zsh", p.zsh_completions + "/_bus"), ("fish", p.fish_completions + "/bus.fish")):
        if shutil.which(shell):
            run([shell, "-n", p.inroot(path)])
        else:
            print("%s is not installed: %s is not syntax-checked" % (shell, path))
    if p.man:
        for name, sec in (("busd", 8), ("bus", 1), ("libbus", 3)):
            page = open(p.inroot("%s/man%d/%s.%d" % (p.mandir, sec, name, sec))).read()
            if not page.startswith('.TH %s %d "" "busd %s"\n' % (name.upper(), sec, p.version)):
                fail("%s.%d does not start with its .TH line: %r" % (name, sec, page[:80]))
            if "\n.SH NAME\n" not in page:
                fail("%s.%d has no NAME section" % (name, sec))
            if "\n'" in page:
                fail("%s.%d has a text line starting with ' (roff would drop it)" % (name, sec))
        check_function_pages(p)


def check_function_pages(p):
    """Each bus_x.3 is a `.so` to libbus(3), and man(1) finds libbus(3) for
    it through MANPATH (no network, no man-db cache needed)."""
    for name in public_functions(p):
        text = open(p.inroot("%s/man3/%s.3" % (p.mandir, name))).read()
        if text != ".so man3/libbus.3\n":
            fail("%s.3 is not a link page to libbus(3): %r" % (name, text))
    if not shutil.which("man"):
        print("man(1) is not installed (Debian: man-db): `man bus_call` is not checked")
        return
    env = dict(os.environ, MANPATH=p.inroot(p.mandir), MANWIDTH="80", LANG="C.UTF-8")
    env.pop("MANOPT", None)
    for name in public_functions(p):
        where = run(["man", "-w", "3", name], env=env).strip()
        if where != p.inroot(p.mandir + "/man3/libbus.3"):
            fail("man -w 3 %s found %r, not libbus.3" % (name, where))
    text = run(["man", "-P", "cat", "bus_call"], env=env)
    if not text.startswith("LIBBUS(3)") or "bus_call" not in text:
        fail("man bus_call does not show libbus(3):\n%s" % text[:400])
    print("man: %d function pages, each finds libbus(3)" % len(public_functions(p)))


def step_tree(p):
    shutil.rmtree(p.root, ignore_errors=True)
    env = dict(os.environ, DESTDIR=p.root)
    run(["cmake", "--install", p.build_dir], env=env)
    want, have = expected_files(p), installed_files(p.root)
    missing = sorted(f for f in want if f not in have)
    wrong = sorted("%s (%s, not %s)" % (f, have[f], want[f]) for f in want if f in have and have[f] != want[f])
    extra = sorted(f for f in have if f not in want)
    if missing or wrong or extra:
        fail("install layout under %s:\n  missing: %s\n  wrong kind: %s\n  not expected: %s\n"
             "(an intended new file goes into expected_files() in %s)"
             % (p.root, missing, wrong, extra, os.path.abspath(__file__)))
    check_library(p)
    check_contents(p)
    print("install tree: %d files where expected under %s" % (len(want), p.root))


# ---- examples --------------------------------------------------------------

def start_busd(p):
    """The installed busd on temporary sockets (daemon_harness), in a
    directory under short_dir() whatever $TMPDIR says."""
    os.environ["BUSD"] = p.inroot(p.bindir + "/busd")
    sys.path.insert(0, os.path.join(p.source_dir, "tests", "integration"))
    import daemon_harness
    tempfile.tempdir = short_dir("busd")  # Daemon() makes its directory with tempfile.mkdtemp()
    return daemon_harness.Daemon()


def run_example(p, exe, daemon):
    env = dict(os.environ, LD_LIBRARY_PATH=p.inroot(p.libdir))
    for addr in (daemon.stream_addr, daemon.seq_addr):
        rc, out = run([exe, addr], env=env, check=False)
        if rc != 0 or "example: ok" not in out:
            fail("%s %s exited %d:\n%s\nbusd's log:\n%s" % (exe, addr, rc, out, daemon.log()))
        print(out.strip(), "(%s)" % addr)


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def step_example_pkgconfig(p):
    work = fresh_dir(os.path.join(p.work, "pkgconfig"))
    env = dict(os.environ, PKG_CONFIG_PATH=p.inroot(p.libdir + "/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=p.root)
    version = run(["pkg-config", "--modversion", "libbus"], env=env).strip()
    if version != p.version:
        fail("pkg-config says libbus %s, not %s" % (version, p.version))
    flags = run(["pkg-config", "--cflags", "--libs", "libbus"], env=env).split()
    if "-I" + p.inroot(p.includedir) not in flags and p.includedir != "/usr/include":
        fail("pkg-config --cflags does not name the installed include directory: %s" % flags)
    exe = os.path.join(work, "example")
    run([p.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(HERE, "example", "example.c"), "-o", exe]
        + flags)
    print("built with: cc example.c %s" % " ".join(flags))
    daemon = start_busd(p)
    try:
        run_example(p, exe, daemon)
        env = dict(os.environ, LD_LIBRARY_PATH=p.inroot(p.libdir))
        out = run([p.inroot(p.bindir + "/bus"), "--address", daemon.stream_addr, "--json", "ping"], env=env)
        if '"server"' not in out:
            fail("the installed bus ping printed %r" % out)
        print("installed bus ping: %s" % out.strip())
    finally:
        daemon.stop()


def step_example_cmake(p):
    work = fresh_dir(os.path.join(p.work, "cmake"))
    run(["cmake", "-S", os.path.join(HERE, "example"), "-B", work, "-DCMAKE_C_COMPILER=" + p.cc,
         "-DCMAKE_PREFIX_PATH=" + p.inroot(p.prefix), "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror"])
    with open(os.path.join(work, "CMakeCache.txt")) as f:
        found = [line.strip() for line in f if line.startswith("libbus_DIR:")]
    if not found or not found[0].split("=", 1)[1].startswith(p.root):
        fail("find_package(libbus) did not find the scratch install: %s" % found)
    print("find_package(libbus): %s" % found[0])
    run(["cmake", "--build", work])
    daemon = start_busd(p)
    try:
        run_example(p, os.path.join(work, "example"), daemon)
    finally:
        daemon.stop()


def step_uninstalled_pkgconfig(p):
    """example.c built against the build tree, not installed, through
    libbus-uninstalled.pc (PKG_CONFIG_PATH=BUILD/libbus), run against the
    build tree's busd without LD_LIBRARY_PATH."""
    work = fresh_dir(os.path.join(p.work, "uninstalled"))
    libdir = os.path.join(p.build_dir, "libbus")
    env = dict(os.environ, PKG_CONFIG_PATH=libdir)
    env.pop("PKG_CONFIG_DISABLE_UNINSTALLED", None)
    version = run(["pkg-config", "--modversion", "libbus"], env=env).strip()
    if version != p.version:
        fail("pkg-config says libbus %s, not %s" % (version, p.version))
    flags = run(["pkg-config", "--cflags", "--libs", "libbus"], env=env).split()
    for want in ("-I" + os.path.join(p.source_dir, "libbus"), "-L" + libdir):
        if want not in flags:
            fail("pkg-config --cflags --libs with PKG_CONFIG_PATH=%s lacks %s: %s" % (libdir, want, flags))
    exe = os.path.join(work, "example")
    run([p.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(HERE, "example", "example.c"), "-o", exe]
        + flags)
    print("built with: cc example.c %s" % " ".join(flags))
    os.environ["BUSD"] = os.path.join(p.build_dir, "busd", "busd")
    sys.path.insert(0, os.path.join(p.source_dir, "tests", "integration"))
    import daemon_harness
    tempfile.tempdir = short_dir("busd")
    daemon = daemon_harness.Daemon()
    try:
        env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        for addr in (daemon.stream_addr, daemon.seq_addr):
            rc, out = run([exe, addr], env=env, check=False)
            if rc != 0 or "example: ok" not in out:
                fail("%s %s exited %d:\n%s\nbusd's log:\n%s" % (exe, addr, rc, out, daemon.log()))
            print(out.strip(), "(%s)" % addr)
    finally:
        daemon.stop()


# ---- without go-md2man -----------------------------------------------------

def step_no_man(p):
    work = fresh_dir(os.path.join(p.work, "no-man"))
    out = run(["cmake", "-S", p.source_dir, "-B", work, "-DBUILD_TESTING=OFF",
               "-DGO_MD2MAN=/nonexistent/go-md2man"])
    text = " ".join(out.split())  # CMake wraps the warning's lines
    for want in ("CMake Warning", "go-md2man is not at /nonexistent/go-md2man (Debian package: go-md2man)",
                 "the man pages busd(8), bus(1), libbus(3) and the per-function pages of libbus",
                 "are neither built nor installed"):
        if want not in text:
            fail("configuring without go-md2man does not say %r:\n%s" % (want, out))
    cache = open(os.path.join(work, "CMakeCache.txt")).read()
    if "BUS_MAN_PAGES:INTERNAL=OFF\n" not in cache:
        fail("configuring without go-md2man leaves BUS_MAN_PAGES on")
    print("without go-md2man: the configure step warns and builds no man page")


# ---- systemd ---------------------------------------------------------------

def copy_tree(src, dst):
    """Copies src into dst (hard links where possible), keeping symlinks."""
    def link_or_copy(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)
    shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy, dirs_exist_ok=True)


def verify_root(p):
    """A root for `systemd-analyze verify --root`: the installed files plus
    what the units need from the host (its unit directories, for
    sysinit.target and the like, and /bin/kill of ExecReload=). Under
    short_dir(): the units' socket paths are checked inside it."""
    vroot = short_dir("root")
    copy_tree(p.root, vroot)
    seen = set()
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if not os.path.isdir(d) or os.path.realpath(d) in seen:
            continue
        seen.add(os.path.realpath(d))
        os.makedirs(vroot + d, exist_ok=True)
        for name in os.listdir(d):
            # never hide an installed unit (nor take the host's own busd units)
            if name.startswith("busd") or os.path.lexists(os.path.join(vroot + d, name)):
                continue
            src = os.path.join(d, name)
            if os.path.isdir(src) and not os.path.islink(src):
                copy_tree(src, os.path.join(vroot + d, name))
            else:
                shutil.copy2(src, vroot + d, follow_symlinks=False)
    os.makedirs(vroot + "/bin", exist_ok=True)
    shutil.copy2(os.path.realpath("/bin/kill"), vroot + "/bin/kill")
    return vroot


def step_systemd_verify(p):
    if not shutil.which("systemd-analyze"):
        fail("systemd-analyze is not installed (Debian: systemd)")
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice")
    opts = ["--man=no"]
    if p.man and shutil.which("man"):
        # Documentation=man:busd(8) is checked with man(1): against the pages
        # just installed
        env["MANPATH"] = p.inroot(p.mandir)
        opts = []
    elif p.man:
        print("man(1) is not installed (Debian: man-db): Documentation= is not checked")

    # System units: as installed, in a root where ExecStart= finds the
    # installed busd.
    vroot = verify_root(p)
    units = sorted(vroot + p.systemd_system + "/" + u for u in os.listdir(p.inroot(p.systemd_system)))
    argv = ["systemd-analyze", "verify", "--root=" + vroot] + opts + units
    rc, out = run(argv, env=env, check=False)
    if rc != 0 or out.strip():
        fail("%s exited %d:\n%s" % (" ".join(argv), rc, out))
    print("systemd-analyze verify --root (system): %s: clean" % " ".join(os.path.basename(u) for u in units))

    # User units: systemd 252 does not combine --user with --root, so they are
    # verified as copies whose ExecStart= names the installed busd in the
    # scratch root (the one line that differs), with a private runtime dir.
    work = fresh_dir(os.path.join(p.work, "verify-user"))
    runtime = short_dir("run")  # %t of the user units: their sockets
    os.chmod(runtime, 0o700)
    busd = p.bindir + "/busd"
    units = []
    for u in sorted(os.listdir(p.inroot(p.systemd_user))):
        text = open(os.path.join(p.inroot(p.systemd_user), u)).read()
        if u.endswith(".service"):
            if "\nExecStart=%s" % busd not in text:
                fail("user %s does not start %s" % (u, busd))
            text = text.replace("\nExecStart=%s" % busd, "\nExecStart=%s" % p.inroot(busd))
        with open(os.path.join(work, u), "w") as f:
            f.write(text)
        units.append(os.path.join(work, u))
    argv = ["systemd-analyze", "verify", "--user"] + opts + units
    rc, out = run(argv, env=dict(env, XDG_RUNTIME_DIR=runtime), check=False)
    if rc != 0 or out.strip():
        fail("%s exited %d:\n%s" % (" ".join(argv), rc, out))
    print("systemd-analyze verify --user: %s: clean" % " ".join(os.path.basename(u) for u in units))

    # The sysusers.d entry makes the user busd.service runs as.
    if shutil.which("systemd-sysusers"):
        sroot = fresh_dir(os.path.join(p.work, "sysusers-root"))
        os.makedirs(sroot + "/etc")
        for f in ("passwd", "group"):
            open(os.path.join(sroot, "etc", f), "w").close()
        run(["systemd-sysusers", "--root=" + sroot, p.inroot(p.sysusers + "/busd.conf")])
        entry = [line for line in open(sroot + "/etc/passwd") if line.startswith("busd:")]
        if not entry or "User=busd\n" not in open(p.inroot(p.systemd_system + "/busd.service")).read():
            fail("busd.conf does not create the user busd.service runs as: %s" % entry)
        print("systemd-sysusers busd.conf: %s" % entry[0].strip())


def main():
    p = Paths(sys.argv[1])
    {
        "tree": step_tree,
        "example_pkgconfig": step_example_pkgconfig,
        "example_cmake": step_example_cmake,
        "uninstalled_pkgconfig": step_uninstalled_pkgconfig,
        "systemd_verify": step_systemd_verify,
        "no_man": step_no_man,
    }[sys.argv[2]](p)


if __name__ == "__main__":
    main()
