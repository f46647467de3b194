#!/usr/bin/env python3
"""Quadlet conformance: runs Podman Quadlet's own generator test cases against quadplay-generator.

Why: quadplay replaces Podman's Quadlet, so its output must satisfy the assertions Quadlet's test
suite makes about Quadlet's output. The cases are Podman's (Apache-2.0) and stay outside this
repository: fetch them once, e.g. for v5.8.2

    git clone --depth 1 -b v5.8.2 https://github.com/containers/podman /work/podman-src
    benches/quadlet_conformance.py --cases /work/podman-src --generator target/debug/quadplay-generator

`--cases` is a tree with test/e2e/quadlet_test.go and test/e2e/quadlet/. The script reads the
test tables of quadlet_test.go (success, warning, error, ServiceName and dependency cases), runs
the generator on each case the way the Go test does (a fresh unit dir named like the Go test's,
QUADLET_UNIT_DIRS, `--no-kmsg-log OUTDIR`, Podman pinned to 5.8.2), and evaluates the `## assert-…`
lines of the case file. It prints one line per failing case and the pass ratio per kind and
overall (`--skip-kind kube` by default: quadplay's `.kube` is its own executor by design).

Differences allowed on purpose, so that the ratio measures behaviour and not wording:
* an expected error message must appear after `converting "FILE": `, but quadplay may put
  `path:line: Key: ` between the two (its errors name file, line and key);
* Quadlet's flag order inside a group is Go-map-random, which the assertions never depend on.
"""

import argparse
import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile


def parse_tables(go_source):
    """Entries of the DescribeTables: (kind, file, extra) with kind success|warning|error|
    servicename|deps."""
    tables = {
        "Running success quadlet test case": "success",
        "Running expected warning quadlet test case": "warning",
        "Running expected error quadlet test case": "error",
        "Running success quadlet with ServiceName test case": "servicename",
        "Running quadlet success test case with dependencies": "deps",
    }
    cases = []
    for title, kind in tables.items():
        start = go_source.find('DescribeTable("%s"' % title)
        if start < 0:
            continue
        end = go_source.find("DescribeTable(", start + 10)
        body = go_source[start : end if end > 0 else len(go_source)]
        for m in re.finditer(r"Entry\((.*?)\),?\s*\n(?=\s*(Entry|\)|$|\n))", body, re.S):
            args = re.findall(r'"((?:[^"\\]|\\.)*)"|(\[\]string\{[^}]*\})', m.group(1))
            words = []
            for s, lst in args:
                if lst:
                    words.append(re.findall(r'"([^"]*)"', lst))
                else:
                    words.append(bytes(s, "utf-8").decode("unicode_escape"))
            if len(words) < 2:
                continue
            extra = words[2] if len(words) > 2 else None
            cases.append((kind, words[1], extra))
    return cases


def split_exec(value):
    """systemd exec-style splitting with C unescaping (enough for generated units)."""
    words, cur, i, quote, have = [], [], 0, None, False
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            n = value[i + 1]
            esc = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", " ": " ", "s": " "}
            if n == "x" and i + 3 < len(value):
                cur.append(chr(int(value[i + 2 : i + 4], 16)))
                i += 4
            else:
                cur.append(esc.get(n, n))
                i += 2
            have = True
            continue
        if quote:
            if c == quote:
                quote = None
            else:
                cur.append(c)
        elif c in "\"'":
            quote, have = c, True
        elif c.isspace():
            if have or cur:
                words.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have or cur:
        words.append("".join(cur))
    return words


class Unit:
    def __init__(self, path):
        self.path = path
        self.groups = collections.defaultdict(list)
        group = None
        with open(path) as f:
            text = f.read().replace("\\\n", "")
        for line in text.split("\n"):
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                group = line[1:-1]
                continue
            k, _, v = line.partition("=")
            self.groups[group].append((k.strip(), v.strip()))

    def all(self, group, key):
        return [v for k, v in self.groups.get(group, []) if k == key]

    def last(self, group, key):
        vals = self.all(group, key)
        return vals[-1] if vals else None

    def last_args(self, key):
        v = self.last("Service", key)
        return split_exec(v) if v is not None else []


def sublist_at(full, pos, sub, rx):
    if len(sub) > len(full) - pos:
        return False
    for i, s in enumerate(sub):
        if rx:
            if not re.search(s, full[pos + i]):
                return False
        elif s != full[pos + i]:
            return False
    return True


def find_sublist(full, sub, rx=False):
    if not sub or len(sub) > len(full):
        return -1
    for i in range(len(full) - len(sub) + 1):
        if sublist_at(full, i, sub, rx):
            return i
    return -1


def kv_map(s, sep):
    out = {}
    for p in next(iter([s.split(sep)])):
        k, _, v = p.partition("=")
        out[k] = v
    return out


def podman_args(unit, key, args, rx, global_only):
    full = unit.last_args(key)
    if global_only:
        at = find_sublist(full, [args[0]])
        if at < 0:
            return False
        full, args = full[:at], args[1:]
    return find_sublist(full, args, rx) >= 0


def podman_kv(unit, key, args, rx, global_only):
    full = unit.last_args(key)
    if global_only:
        at = find_sublist(full, [args[0]])
        if at < 0:
            return False
        full, args = full[:at], args[1:]
    want = kv_map(args[2], args[1])
    for i, w in enumerate(full[:-1]):
        if w != args[0]:
            continue
        got = kv_map(full[i + 1], args[1])
        if rx:
            if len(got) == len(want) and all(
                k in got and re.search(v, got[k]) for k, v in want.items()
            ):
                return True
        elif got == want:
            return True
    return False


def final_args(unit, key, args, rx):
    full = unit.last_args(key)
    return len(full) >= len(args) and sublist_at(full, len(full) - len(args), args, rx)


EXEC_KEYS = {
    "podman": "ExecStart",
    "podman-pre": "ExecStartPre",
    "podman-stop": "ExecStop",
    "podman-stop-post": "ExecStopPost",
    "podman-reload": "ExecReload",
}


def assertion(op, args, unit, stderr, outdir):
    if op == "assert-failed":
        return True
    if op == "assert-stderr-contains":
        return args[0] in stderr
    if unit is None:
        return False
    if op == "assert-key-is":
        return unit.all(args[0], args[1]) == args[2:]
    if op == "assert-has-key":
        return args[2] in unit.all(args[0], args[1])
    if op == "assert-key-is-empty":
        return not unit.all(args[0], args[1])
    if op == "assert-key-is-regex":
        vals = unit.all(args[0], args[1])
        return len(vals) == len(args) - 2 and all(
            re.search(r, v) for r, v in zip(args[2:], vals)
        )
    if op == "assert-last-key-is-regex":
        v = unit.last(args[0], args[1])
        return v is not None and re.search(args[2], v) is not None
    if op == "assert-last-key-contains":
        v = unit.last(args[0], args[1])
        return v is not None and args[2] in v
    if op == "assert-last-key-not-contains":
        v = unit.last(args[0], args[1])
        return not (v is not None and args[2] in v)
    if op == "assert-symlink":
        try:
            return os.readlink(os.path.join(outdir, args[0])) == args[1]
        except OSError:
            return False
    m = re.fullmatch(
        r"assert-(podman(?:-pre|-stop-post|-stop|-reload)?)-(global-)?(args|final-args)(-key-val)?(-regex)?",
        op,
    )
    if not m:
        raise ValueError("unsupported assertion " + op)
    key = EXEC_KEYS[m.group(1)]
    rx = m.group(5) is not None
    if m.group(3) == "final-args":
        return final_args(unit, key, args, rx)
    if m.group(4):
        return podman_kv(unit, key, args, rx, m.group(2) is not None)
    return podman_args(unit, key, args, rx, m.group(2) is not None)


def service_name(file_name):
    base, ext = os.path.splitext(file_name)
    suffix = {".volume": "-volume", ".network": "-network", ".image": "-image", ".build": "-build",
              ".artifact": "-artifact", ".pod": "-pod"}.get(ext, "")
    return base + suffix


def checks_of(text):
    out = []
    for line in text.split("\n"):
        if line.startswith("##"):
            words = shlex.split(line[2:], posix=True)
            if words:
                out.append([w.replace("\\n", "\n").replace("\\t", "\t") for w in words])
    return out


def copy_dropins(src_dir, dest_dir, file_name):
    dirs = [file_name + ".d"]
    base, ext = os.path.splitext(file_name)
    parts = base.split("@", 1)
    if len(parts) == 2 and parts[1]:
        dirs.append(parts[0] + "@" + ext + ".d")
    for d in dirs:
        if os.path.isdir(os.path.join(src_dir, d)):
            shutil.copytree(os.path.join(src_dir, d), os.path.join(dest_dir, d))


def run_case(gen, case_dir, kind, file_name, extra, env):
    with tempfile.TemporaryDirectory(prefix="podman-e2e-") as tmp:
        root = os.path.join(tmp, "subtest-conformance")
        qdir, outdir = os.path.join(root, "quadlet"), os.path.join(root, "generated")
        os.makedirs(qdir)
        os.makedirs(outdir)
        with open(os.path.join(case_dir, file_name)) as f:
            text = f.read()
        with open(os.path.join(qdir, file_name), "w") as f:
            f.write(text)
        copy_dropins(case_dir, qdir, file_name)
        if kind == "deps":
            for dep in extra:
                shutil.copy(os.path.join(case_dir, dep), os.path.join(qdir, dep))
        e = dict(env, QUADLET_UNIT_DIRS=qdir)
        p = subprocess.run([gen, "--no-kmsg-log", outdir], env=e, capture_output=True, text=True)
        checks = checks_of(text)
        expect_fail = any(c[0] == "assert-failed" for c in checks)
        want_exit = 1 if kind == "error" else 0
        if p.returncode != want_exit:
            return "exit %d, want %d: %s" % (p.returncode, want_exit, p.stderr.strip()[-300:])
        if kind in ("warning", "error"):
            msg = extra
            m = re.match(r'converting "([^"]+)": (.*)', msg, re.S)
            ok = msg in p.stderr or (
                m is not None
                and re.search(r'converting "%s": .*%s' % (re.escape(m.group(1)), re.escape(m.group(2))), p.stderr)
            )
            if not ok:
                return "stderr lacks %r: %s" % (msg, p.stderr.strip()[-300:])
        svc = (extra if kind == "servicename" else service_name(file_name)) + ".service"
        path = os.path.join(outdir, svc)
        if expect_fail or kind == "error":
            if os.path.exists(path):
                return "unexpected output " + svc
            unit = None
        else:
            if not os.path.exists(path):
                return "no " + svc + ": " + p.stderr.strip()[-300:]
            unit = Unit(path)
        for c in checks:
            op, invert = c[0], False
            if op.startswith("!"):
                op, invert = op[1:], True
            if kind == "error" and op != "assert-failed" and op != "assert-stderr-contains":
                continue
            ok = assertion(op, c[1:], unit, p.stderr, outdir)
            if ok == invert:
                return "failed: " + " ".join(c)
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", required=True, help="a Podman source tree (test/e2e/...)")
    ap.add_argument("--generator", required=True)
    ap.add_argument("--skip-kind", action="append", default=None)
    ap.add_argument("--podman-version", default="5.8.2")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    skip = set(a.skip_kind if a.skip_kind is not None else ["kube"])
    with open(os.path.join(a.cases, "test/e2e/quadlet_test.go")) as f:
        cases = parse_tables(f.read())
    case_dir = os.path.join(a.cases, "test/e2e/quadlet")
    env = dict(os.environ, QUADPLAY_PODMAN_VERSION=a.podman_version)
    env.pop("PODMAN", None)
    totals = collections.Counter()
    passed = collections.Counter()
    for kind, file_name, extra in cases:
        ext = file_name.rsplit(".", 1)[-1]
        if ext in skip:
            continue
        why = run_case(os.path.abspath(a.generator), case_dir, kind, file_name, extra, env)
        totals[ext] += 1
        if why is None:
            passed[ext] += 1
        else:
            print("FAIL %s (%s): %s" % (file_name, kind, why.replace("\n", " ")[:400]))
    for ext in sorted(totals):
        print("%-10s %3d/%3d" % (ext, passed[ext], totals[ext]))
    t, p = sum(totals.values()), sum(passed.values())
    print("all        %3d/%3d  %.1f%%" % (p, t, 100.0 * p / max(t, 1)))


if __name__ == "__main__":
    sys.exit(main())
