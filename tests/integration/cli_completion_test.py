#!/usr/bin/env python3
"""The shell completions of bus(1) (completions/): bash, zsh and fish.

The verbs and each verb's long options are read from the real `bus --help`
and `bus VERB --help`, so that a new verb or option that a completion lacks
fails here:
  bash  is run non-interactively (bash --norc): the completion is sourced,
        COMP_WORDS/COMP_CWORD/COMP_LINE are set as bash would split the line
        (at ':' too), _bus is called and COMPREPLY is checked; once without
        the bash-completion package (its _init_completion absent: the
        fallback) and, when /usr/share/bash-completion/bash_completion is
        installed, once with it;
  fish  answers `complete -C LINE` (skipped when fish is not installed);
  zsh   is syntax-checked (zsh -n) and run on a pseudo-terminal by
        zsh_complete.zsh, which prints what the completion system offers
        (skipped when zsh is not installed).
Names and methods come from a real busd (both transports) with a `bus serve`.
Environment: BUS, BUSD as for cli_test.py. Standard library only.
"""
import os
import re
import shutil
import subprocess
import unittest

from cli_test import BUS, WAIT, BusTest

HERE = os.path.dirname(os.path.abspath(__file__))
COMPLETIONS = os.path.join(HERE, "..", "..", "completions")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
# bus is run as `bus` from PATH: completions are looked up by command name
ENV = dict(os.environ, PATH=os.path.dirname(os.path.abspath(BUS)) + os.pathsep + os.environ.get("PATH", ""),
           BUS_ADDRESS="unix:/nonexistent/bus")


def help_text(*verb):
    p = subprocess.run([BUS] + list(verb) + ["--help"], capture_output=True, text=True, timeout=WAIT)
    assert p.returncode == 0, "bus %s --help exited %d: %s" % (" ".join(verb), p.returncode, p.stderr)
    return p.stdout


def long_options(text):
    """The long options of the option lines (`  -x, --long ARG  text`)."""
    opts = []
    for line in text.splitlines():
        if re.match(r"^\s{1,8}-", line):
            opts += re.findall(r"--[a-z][a-z-]*", re.split(r"\s{2,}", line.strip())[0])
    return opts


def cli_spec():
    """{verb: [long options]} from bus --help (the global options go with every verb)."""
    top = help_text()
    verbs_part = top.split("\nVerbs:\n", 1)[1].split("\n\n", 1)[0]
    verbs = re.findall(r"(?m)^  ([a-z]+)\b", verbs_part)
    global_opts = long_options(top.split("\nOptions (before or after the verb):\n", 1)[1].split("\n\n", 1)[0])
    spec = {}
    for verb in verbs:
        own = help_text(verb).split("\nOptions (before or after the verb):\n", 1)[0]
        spec[verb] = sorted(set(long_options(own.split("\n\n", 2)[-1]) + global_opts))
    assert "call" in spec and "--address" in spec["call"] and "--oneway" in spec["call"], spec
    return spec


def comp_words(line):
    """COMP_WORDS as bash makes them: split at blanks, and at ':' (which
    COMP_WORDBREAKS holds) into pieces of their own."""
    words = []
    for w in line.split():
        words += [p for p in re.split(r"(:)", w) if p]
    if line.endswith(" "):
        words.append("")
    return words


class Completion(BusTest):
    spec = None

    @classmethod
    def setUpClass(cls):
        cls.spec = cli_spec()

    # ---- bash ----------------------------------------------------------------

    def bash(self, line, with_bash_completion=False):
        """COMPREPLY of _bus for the line (the cursor at its end)."""
        words = comp_words(line)
        script = ""
        if with_bash_completion:
            script += "source %s\n" % BASH_COMPLETION
        script += 'source "$1"\nshift\n'
        script += "declare -F _init_completion >/dev/null && echo HAS_INIT >&2\n"
        script += ('COMP_LINE=$1; COMP_POINT=${#1}; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
                   '_bus\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash",
                            os.path.join(COMPLETIONS, "bus.bash"), line] + words,
                           capture_output=True, text=True, timeout=WAIT, env=ENV)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual("HAS_INIT" in p.stderr, with_bash_completion, p.stderr)
        return [w for w in p.stdout.splitlines() if w]

    def check_bash(self, with_bash_completion):
        got = self.bash("bus ", with_bash_completion)
        for verb in self.spec:
            self.assertIn(verb, got, "bash: verb %s not completed" % verb)
        self.assertEqual(self.bash("bus intr", with_bash_completion), ["introspect"])
        for verb, opts in self.spec.items():
            got = self.bash("bus %s --" % verb, with_bash_completion)
            for opt in opts:
                self.assertIn(opt, got, "bash: bus %s %s not completed" % (verb, opt))
        # an address is one word although bash splits it at ':'
        self.assertEqual(self.bash("bus --address uni", with_bash_completion), ["unix:"])
        got = self.bash("bus --address unix:%s/b" % self.daemon.dir, with_bash_completion)
        self.assertIn("%s/bus" % self.daemon.dir, got)  # (bash replaces the part after the last ':')
        self.assertIn("%s/bus.seq" % self.daemon.dir, got)
        self.assertEqual(self.bash("bus policy ", with_bash_completion), ["check", "verify"])
        self.assertIn("backpressure", self.bash("bus policy --dir /tmp check ", with_bash_completion))
        self.assertIn("bash", self.bash("bus serve org.a m -- bas", with_bash_completion))
        # names and methods from the bus, over both transports
        self.serve("org.test.Echo", "echo", "cat")
        for addr in (self.daemon.stream, self.daemon.seqpacket):
            got = self.bash("bus --address %s call " % addr, with_bash_completion)
            self.assertIn("org.test.Echo", got)
            self.assertIn("org.busd", got)
            self.assertEqual(self.bash("bus -a %s call org.test.Echo " % addr, with_bash_completion), ["echo"])
            self.assertIn("org.test.Echo", self.bash("bus --address %s wait org.test." % addr, with_bash_completion))

    def test_bash_without_bash_completion(self):
        self.check_bash(False)

    def test_bash_with_bash_completion(self):
        if not os.path.exists(BASH_COMPLETION):
            self.skipTest("bash-completion is not installed (%s)" % BASH_COMPLETION)
        self.check_bash(True)

    # ---- fish ----------------------------------------------------------------

    def fish(self, line):
        script = 'source $argv[1]; complete -C"$argv[2]"'
        p = subprocess.run(["fish", "--no-config", "-c", script, os.path.join(COMPLETIONS, "bus.fish"), line],
                           capture_output=True, text=True, timeout=WAIT, env=ENV)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        return [line.split("\t")[0] for line in p.stdout.splitlines()]  # candidate TAB description

    def test_fish(self):
        if not shutil.which("fish"):
            self.skipTest("fish is not installed (Debian: fish)")
        path = os.path.join(COMPLETIONS, "bus.fish")
        subprocess.run(["fish", "--no-config", "-n", path], check=True, timeout=WAIT)
        got = self.fish("bus ")
        for verb in self.spec:
            self.assertIn(verb, got, "fish: verb %s not completed" % verb)
        for verb, opts in self.spec.items():
            got = self.fish("bus %s --" % verb)
            for opt in opts:
                self.assertIn(opt, got, "fish: bus %s %s not completed" % (verb, opt))
        self.assertEqual(self.fish("bus policy "), ["check", "verify"])
        self.serve("org.test.Echo", "echo", "cat")
        for addr in (self.daemon.stream, self.daemon.seqpacket):
            self.assertIn("org.test.Echo", self.fish("bus --address %s call " % addr))
            self.assertEqual(self.fish("bus --address %s call org.test.Echo " % addr), ["echo"])

    # ---- zsh -----------------------------------------------------------------

    def zsh(self, line):
        """The candidates of zsh's completion system (zsh_complete.zsh: an
        interactive zsh on a pty, LINE and Tab)."""
        p = subprocess.run(["zsh", "-f", os.path.join(HERE, "zsh_complete.zsh"), COMPLETIONS, line],
                           capture_output=True, text=True, timeout=WAIT, env=ENV)
        self.assertEqual(p.returncode, 0, "zsh_complete.zsh %r: %s" % (line, p.stderr))
        return p.stdout.split()

    def test_zsh(self):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed (Debian: zsh)")
        path = os.path.join(COMPLETIONS, "_bus")
        subprocess.run(["zsh", "-n", path], check=True, timeout=WAIT)
        with open(path) as f:
            self.assertEqual(f.readline(), "#compdef bus\n")
        got = self.zsh("bus ")
        for verb in self.spec:
            self.assertIn(verb, got, "zsh: verb %s not completed" % verb)
        for verb, opts in self.spec.items():
            got = self.zsh("bus %s --" % verb)
            for opt in opts:
                self.assertIn(opt, got, "zsh: bus %s %s not completed" % (verb, opt))
        self.assertEqual(self.zsh("bus policy "), ["check", "verify"])
        self.assertEqual(self.zsh("bus serve org.a m "), ["--"])
        self.assertIn("bash", self.zsh("bus serve org.a m -- bas"))
        self.serve("org.test.Echo", "echo", "cat")
        for addr in (self.daemon.stream, self.daemon.seqpacket):
            self.assertIn("org.test.Echo", self.zsh("bus --address %s call " % addr))
            self.assertEqual(self.zsh("bus -a %s call org.test.Echo " % addr), ["echo"])

if __name__ == "__main__":
    unittest.main()
