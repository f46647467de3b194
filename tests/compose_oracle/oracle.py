#!/usr/bin/env python3
"""The compose oracle: every case of corpus/ is loaded by docker compose (compose-go, the Compose
spec's reference implementation: `docker-compose config --format json`) and converted by
`quadplay convert`; both results are normalized to the same shape per service (image, entrypoint,
command, environment, ports, volumes, secrets, configs, healthcheck, depends_on, restart,
replicas, and which services the profiles select) and compared. Exit 1 on any difference.

    oracle.py --quadplay PATH [--compose CMD] [--work DIR] [--compose-root PREFIX] [CASE...]

A case is a directory: the compose files, whatever they refer to, an optional `args` file (one
line of compose options, default `-f compose.yaml`) and an optional `environ` file (KEY=VALUE
lines: the process environment of both tools, which otherwise get only PATH and HOME).
--compose-root is for running docker compose in another root (a Debian 13 tree): DIR must lie
under it, and compose sees DIR without that prefix.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys


HERE = os.path.dirname(os.path.abspath(__file__))


def dns(name):
    """quadplay's DNS-1123 form of a name."""
    out = re.sub(r"[^a-z0-9]", "-", name.lower())
    out = re.sub(r"-+", "-", out).strip("-")
    return out[:63].rstrip("-")


def seconds(d):
    """A Go duration (`1m30s`, `500ms`, `1h0m0s`) in whole seconds, rounded up."""
    if d is None:
        return None
    if isinstance(d, (int, float)):
        return int(d)
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(h|ms|m|s|us|µs|ns)", d):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}[unit]
    return int(-(-total // 1))


def probe_budget(start_period, retries, interval, start_interval):
    """What quadplay's startupProbe allows beyond retries × interval (see translate's healthcheck)."""
    si = max(start_interval, 1)
    threshold = max(-(-(start_period + retries * interval) // si), 1)
    return threshold * si - retries * interval


def compose_restart(svc):
    policy = ((svc.get("deploy") or {}).get("restart_policy") or {}).get("condition")
    if policy:
        return {"none": "Never", "on-failure": "OnFailure"}.get(policy, "Always")
    r = (svc.get("restart") or "no").split(":")[0]
    return {"no": "Never", "always": "Always", "unless-stopped": "Always", "on-failure": "OnFailure"}[r]


def norm_compose(doc, project_dir):
    app = dns(doc["name"])
    vols = doc.get("volumes") or {}
    out = {}
    for name, svc in (doc.get("services") or {}).items():
        n = {}
        n["image"] = svc.get("image") or f"localhost/{app}-{dns(name)}"
        n["entrypoint"] = svc.get("entrypoint")
        n["command"] = svc.get("command")
        n["environment"] = {k: v for k, v in (svc.get("environment") or {}).items() if v is not None}
        ports = []
        for p in svc.get("ports") or []:
            pub = str(p.get("published") or "")
            ports.append(f'{p.get("host_ip", "")}:{pub}:{p["target"]}/{p.get("protocol", "tcp").upper()}')
        n["ports"] = sorted(ports)
        mounts = []
        for v in svc.get("volumes") or []:
            src = v.get("source") or ""
            if v["type"] == "volume" and src:
                src = dns(vols.get(src, {}).get("name", src))
            mounts.append(f'{v["type"]}:{src}:{v["target"]}:{"ro" if v.get("read_only") else "rw"}')
        for t in svc.get("tmpfs") or []:
            mounts.append(f"tmpfs::{t.split(':')[0]}:rw")
        n["volumes"] = sorted(mounts)
        for kind, base in (("secrets", "/run/secrets/"), ("configs", "/")):
            n[kind] = sorted(s.get("target") or base + s["source"] for s in svc.get(kind) or [])
        hc = svc.get("healthcheck")
        if hc and not hc.get("disable") and hc.get("test") and hc["test"][0] != "NONE":
            test = hc["test"]
            test = ["/bin/sh", "-c", " ".join(test[1:])] if test[0] == "CMD-SHELL" else test[1:]
            interval, retries = seconds(hc.get("interval")) or 30, hc.get("retries") or 3
            n["healthcheck"] = {
                "test": test,
                "interval": interval,
                "timeout": seconds(hc.get("timeout")) or 30,
                "retries": retries,
                "grace": probe_budget(seconds(hc.get("start_period")) or 0, retries, interval,
                                      seconds(hc.get("start_interval")) or 5),
            }
        else:
            n["healthcheck"] = None
        deps = svc.get("depends_on") or {}
        n["depends_on"] = sorted(dns(d) + (" (completed)" if (c or {}).get("condition") == "service_completed_successfully" else "")
                                 for d, c in deps.items())
        n["restart"] = compose_restart(svc)
        replicas = (svc.get("deploy") or {}).get("replicas") or svc.get("scale") or 1
        n["replicas"] = replicas
        if replicas > 1:
            n["restart"] = "Always"
        out[dns(name)] = n
    return app, rel(out, project_dir)


def norm_quadplay(text, app, project_dir):
    docs = json.loads(text)["items"]
    out = {}
    for d in docs:
        if d["kind"] not in ("Pod", "Deployment"):
            continue
        meta = d["metadata"]
        spec = d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"]
        c = spec["containers"][0]
        name = meta["labels"]["io.quadplay.compose/service"]
        n = {"image": c["image"], "entrypoint": c.get("command"), "command": c.get("args")}
        unescape = lambda s: s.replace("$$(", "$(")
        if n["entrypoint"]:
            n["entrypoint"] = [unescape(w) for w in n["entrypoint"]]
        if n["command"]:
            n["command"] = [unescape(w) for w in n["command"]]
        n["environment"] = {e["name"]: unescape(e["value"]) for e in c.get("env") or []}
        notes = meta.get("annotations") or {}

        def published(p):
            """A replica's host port range (io.quadplay.replica-host-ports/<port>) as compose's
            `published: "8081-8083"`, else the hostPort."""
            ports = notes.get(f'io.quadplay.replica-host-ports/{p["containerPort"]}')
            if ports:
                ports = ports.split(",")
                return f"{ports[0]}-{ports[-1]}"
            return p.get("hostPort", "")
        n["ports"] = sorted(
            f'{p.get("hostIP", "")}:{published(p)}:{p["containerPort"]}/{p["protocol"]}'
            for p in c.get("ports") or [])
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounts, secrets, configs = [], [], []
        for m in c.get("volumeMounts") or []:
            v = volumes[m["name"]]
            ro = "ro" if m.get("readOnly") else "rw"
            if "secret" in v:
                secrets.append(m["mountPath"])
            elif "configMap" in v:
                configs.append(m["mountPath"])
            elif "hostPath" in v:
                mounts.append(f'bind:{v["hostPath"]["path"]}:{m["mountPath"]}:{ro}')
            elif "persistentVolumeClaim" in v:
                mounts.append(f'volume:{v["persistentVolumeClaim"]["claimName"]}:{m["mountPath"]}:{ro}')
            elif v.get("emptyDir", {}).get("medium") == "Memory":
                if m["mountPath"] != "/dev/shm":
                    mounts.append(f'tmpfs::{m["mountPath"]}:{ro}')
            elif "emptyDir" in v:
                mounts.append(f'volume::{m["mountPath"]}:{ro}')
        n["volumes"], n["secrets"], n["configs"] = sorted(mounts), sorted(secrets), sorted(configs)
        r, s = c.get("readinessProbe"), c.get("startupProbe")
        if r:
            n["healthcheck"] = {
                "test": r["exec"]["command"],
                "interval": r["periodSeconds"],
                "timeout": r["timeoutSeconds"],
                "retries": r["failureThreshold"],
                "grace": s["failureThreshold"] * s["periodSeconds"] - r["failureThreshold"] * r["periodSeconds"],
            }
        else:
            n["healthcheck"] = None
        after = [a[len(app) + 1:] for a in notes.get("io.quadplay.after", "").split(",") if a]
        done = [a[len(app) + 1:] + " (completed)"
                for a in notes.get("io.quadplay.after-completed", "").split(",") if a]
        n["depends_on"] = sorted(after + done)
        n["restart"] = spec.get("restartPolicy", "Always")
        n["replicas"] = d["spec"].get("replicas", 1) if d["kind"] == "Deployment" else 1
        out[name] = n
    return rel(out, project_dir)


def unescape_dollars(obj):
    fix = lambda v: v.replace("$$", "$") if isinstance(v, str) else [fix(x) for x in v] if isinstance(v, list) else v
    return {k: fix(v) for k, v in obj.items()}


def rel(value, project_dir):
    """The project directory written as $PROJECT, so both sides compare whatever root they saw."""
    return json.loads(json.dumps(value).replace(project_dir, "$PROJECT"))


def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from diff(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    elif a != b:
        yield f"{path}: compose {json.dumps(a)} / quadplay {json.dumps(b)}"


def run_case(case, args):
    src = os.path.join(HERE, "corpus", case)
    work = os.path.join(args.work, case)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work, symlinks=True)
    for root, dirs, files in os.walk(work):
        for x in dirs + files:
            os.chmod(os.path.join(root, x), 0o755 if x in dirs else 0o644)
    os.chmod(work, 0o755)
    opts = ["-f", "compose.yaml"]
    if os.path.exists(os.path.join(work, "args")):
        opts = shlex.split(open(os.path.join(work, "args")).read())
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent"}
    if os.path.exists(os.path.join(work, "environ")):
        for line in open(os.path.join(work, "environ")).read().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    inside = work[len(args.compose_root):] if args.compose_root else work
    env_args = [f"{k}={v}" for k, v in env.items()]
    cmd = shlex.split(args.compose) + ["env", "-i"] + env_args + ["sh", "-c",
          f"cd {shlex.quote(inside)} && docker-compose {' '.join(map(shlex.quote, opts))} config --format json"]
    got = subprocess.run(cmd, capture_output=True, text=True)
    if got.returncode != 0:
        return [f"docker-compose failed: {got.stderr.strip()}"]
    # `config` writes a literal `$` as `$$` (its output is compose input again).
    loaded = json.loads(got.stdout, object_hook=unescape_dollars)
    app, want = norm_compose(loaded, inside)
    ours = subprocess.run(["env", "-i"] + env_args + [args.quadplay, "convert", "--format", "json"] + opts, cwd=work,
                          capture_output=True, text=True)
    if ours.returncode != 0:
        return [f"quadplay convert failed: {ours.stderr.strip()}"]
    have = norm_quadplay(ours.stdout, app, work)
    args.services += len(want)
    return list(diff(want, have))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quadplay", required=True)
    ap.add_argument("--compose", default="", help="prefix to run docker-compose with (e.g. a tree's run command)")
    ap.add_argument("--work", default="/tmp/quadplay-compose-oracle")
    ap.add_argument("--compose-root", default="")
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    os.chmod(args.work, 0o755)
    cases = args.cases or sorted(os.listdir(os.path.join(HERE, "corpus")))
    total, args.services = 0, 0
    for case in cases:
        diffs = run_case(case, args)
        total += len(diffs)
        print(f"{case}: {'ok' if not diffs else f'{len(diffs)} differences'}")
        for d in diffs:
            print(f"  {d}")
    print(f"compose oracle: {len(cases)} cases, {args.services} services, {total} differences")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
