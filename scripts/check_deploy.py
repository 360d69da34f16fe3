#!/usr/bin/python3
"""Checks of deploy/ and docs/schemas/ for scripts/check-deploy.sh (run with
Debian's python3: python3-yaml and python3-jsonschema, see scripts/deps.sh).

    check_deploy.py unit SERVICE TIMER ENV_EXAMPLE HELP
        the systemd units: required directives, and every hubsync flag they
        use appears in HELP (the output of `hubsync --help`)
    check_deploy.py k8s DIR HELP
        every YAML document of DIR/*.yaml parses; the CronJob and the
        Indexed Job hold what docs/OPERATIONS.md promises; their exit-code
        rules cover the exit codes HELP lists; every hubsync flag is in HELP
    check_deploy.py pod FILE KIND ROOT TOKEN
        prints a shell script that runs the pod of the KIND (CronJob or Job)
        in FILE outside Kubernetes: its volumes become folders under ROOT,
        every Secret key holds TOKEN, /usr/local/bin/hubsync is $HUBSYNC,
        then its init containers and containers run in order (the script
        exits with the first failure's code)
    check_deploy.py schema SCHEMA [--lines] [--expect-invalid] FILE...
        validates each FILE (one JSON document, or with --lines every line)
        with the JSON Schema SCHEMA; --expect-invalid: each FILE must fail
    check_deploy.py schema-doc SCHEMA... [--check MARKDOWN]
        prints each schema's fields as Markdown tables; --check: fails
        unless MARKDOWN holds those tables exactly (the schemas are the one
        source of the field descriptions)

Exit status 0 when every check passes, 1 otherwise; each problem is a line
on stderr.
"""
import glob
import json
import os
import re
import shlex
import sys

problems = []


def problem(msg):
    problems.append(msg)
    print("  FAIL: " + msg, file=sys.stderr)


def check(cond, msg):
    if not cond:
        problem(msg)
    return cond


# ---- hubsync --help ------------------------------------------------------


def help_facts(path):
    """The flags and the exit codes `hubsync --help` documents."""
    text = open(path).read()
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    codes = set()
    in_codes = False
    for line in text.splitlines():
        if line.startswith("Exit codes"):
            in_codes = True
        elif in_codes:
            m = re.match(r"^\s+(\d+)\s+\S", line)
            if m:
                codes.add(int(m.group(1)))
    if not codes:
        problem(f"{path}: no 'Exit codes:' section in hubsync --help")
    return flags, codes


def used_flags(words):
    """The --flags of every hubsync invocation among shell words."""
    return [w.split("=", 1)[0] for w in words if w.startswith("--")]


def hubsync_lines(script):
    """Shell words of each line of a script that invokes hubsync."""
    out = []
    for line in script.splitlines():
        if "hubsync " in line and not line.lstrip().startswith(("#", "echo")):
            out.append(shlex.split(line.replace("$(", "").replace(")", ""), comments=True))
    return out


def check_json_output(where, words):
    """Every line a deployed hubsync prints is JSON: --log-format json, and
    --json for the commands that print a document (run's summary is a text
    table on stderr without it)."""
    for command in ("setup", "run"):
        if command in words:
            check("--json" in words and "json" in words[words.index("--log-format") + 1:][:1]
                  if "--log-format" in words else False,
                  f"{where}: `hubsync {command}` needs --json and --log-format json")


def check_env_example(path):
    """The env file's example settings, uncommented, are a --config file
    hubsync accepts for `run` (every key known, every value valid)."""
    import subprocess
    import tempfile
    lines = []
    for line in open(path):
        m = re.match(r"^#?\s*((?:HUBSYNC|HUBSPOT)_[A-Z_]+=.*)$", line.strip())
        if m and not m.group(1).startswith("HUBSYNC_FLAGS="):
            lines.append(m.group(1))
    check(len(lines) >= 3, f"{path}: fewer than 3 example settings")
    hubsync = os.path.abspath(os.environ.get("HUBSYNC", "bin/hubsync"))
    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        env = {"PATH": os.environ.get("PATH", ""), "HUBSPOT_ACCESS_TOKEN": "pat-na1-check"}
        r = subprocess.run([hubsync, "--db", "/nonexistent/db", "--config", f.name, "run",
                            "--print-config"], env=env, capture_output=True, text=True)
        check(r.returncode == 0,
              f"{path}: its settings as a --config file: exit {r.returncode}: {r.stderr.strip()}")
        for line in lines:
            key = line.split("=", 1)[0]
            check(key in r.stdout, f"{path}: {key} not in --print-config's output")
    finally:
        os.unlink(f.name)


def check_flags(where, words, known):
    for f in used_flags(words):
        check(f in known, f"{where}: flag {f} is not in `hubsync --help`")


# ---- systemd -------------------------------------------------------------


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key, []).append(value)
    return settings


def cmd_unit(service, timer, env_example, help_path):
    known, codes = help_facts(help_path)
    s = unit_settings(service)
    want = {
        "Type": "oneshot",
        "DynamicUser": "yes",
        "StateDirectory": "hubsync/%i",
        "LoadCredential": "token:/etc/hubsync/%i.token",
        "KillMode": "mixed",
        "KillSignal": "SIGTERM",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "Restart": "no",
    }
    for key, value in want.items():
        check(value in s.get(key, []), f"{service}: {key}={value} missing")
    check("@system-service" in s.get("SystemCallFilter", []),
          f"{service}: SystemCallFilter=@system-service missing")
    stop = s.get("TimeoutStopSec", ["0"])[-1]
    m = re.fullmatch(r"(\d+)s?", stop)
    check(m and int(m.group(1)) >= 15,
          f"{service}: TimeoutStopSec={stop}: hubsync drains within 5 s; leave it at least 15 s")
    for status in " ".join(s.get("SuccessExitStatus", [])).split():
        check(status.isdigit() and int(status) in codes,
              f"{service}: SuccessExitStatus {status} is not an exit code of hubsync --help")
    check(s.get("SuccessExitStatus") == ["4"],
          f"{service}: only exit 4 (another run holds the database) counts as success")
    execs = s.get("ExecStartPre", []) + s.get("ExecStart", [])
    check(any(" run " in e or e.endswith(" run") for e in s.get("ExecStart", [])),
          f"{service}: ExecStart does not run `hubsync run`")
    for e in execs:
        words = shlex.split(e.lstrip("-"))
        if words and words[0].endswith("/hubsync"):
            check_flags(service, words, known)
            check_json_output(service, words)
            check("--db" in words, f"{service}: {words[0]} without --db")
    check_env_example(env_example)
    t = unit_settings(timer)
    for key, value in {"Persistent": "true", "WantedBy": "timers.target"}.items():
        check(value in t.get(key, []), f"{timer}: {key}={value} missing")
    for key in ("OnCalendar", "RandomizedDelaySec"):
        check(key in t, f"{timer}: {key}= missing")
    print(f"unit: {len(s)} service settings, {len(t)} timer settings, "
          f"{len(execs)} commands checked against hubsync --help")


# ---- Kubernetes ----------------------------------------------------------


def load_docs(directory):
    import yaml

    docs = []
    files = sorted(glob.glob(os.path.join(directory, "*.yaml")))
    check(files, f"{directory}: no *.yaml")
    for path in files:
        try:
            for doc in yaml.safe_load_all(open(path)):
                if doc is None:
                    continue
                where = f"{os.path.basename(path)}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
                check(isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str)
                      and doc.get("metadata", {}).get("name"),
                      f"{where}: apiVersion, kind and metadata.name are required")
                docs.append((path, where, doc))
        except yaml.YAMLError as e:
            problem(f"{path}: not valid YAML: {e}")
    return docs


def by_kind(docs, kind):
    return [(w, d) for _, w, d in docs if d.get("kind") == kind]


def named(docs, kind, name):
    for _, _, d in docs:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    return None


def secret_keys(secret):
    return set((secret.get("stringData") or {}).keys()) | set((secret.get("data") or {}).keys())


def check_failure_policy(where, job, codes, fail_action):
    """Exit 1 is retried (Count); every other nonzero exit code of
    hubsync --help stops (fail_action); disruptions are ignored."""
    rules = (job.get("podFailurePolicy") or {}).get("rules", [])
    check(rules, f"{where}: no podFailurePolicy")
    check(rules and rules[0].get("action") == "Ignore"
          and {"type": "DisruptionTarget"} in rules[0].get("onPodConditions", []),
          f"{where}: the first podFailurePolicy rule must ignore DisruptionTarget")
    seen = {}
    for r in rules:
        oc = r.get("onExitCodes")
        if not oc:
            continue
        check(oc.get("operator") == "In", f"{where}: onExitCodes operator {oc.get('operator')}")
        for v in oc.get("values", []):
            check(v not in seen, f"{where}: exit code {v} in two rules")
            seen[v] = r.get("action")
    for code in sorted(codes - {0}):
        want = "Count" if code == 1 else fail_action
        check(seen.get(code) == want,
              f"{where}: exit {code} maps to {seen.get(code)}, want {want} (the exit-code contract)")
    for code in seen:
        check(code in codes, f"{where}: exit code {code} is not one hubsync documents")


def check_pod(where, docs, pod, known, grace_min=15):
    spec = pod["spec"]
    check(spec.get("restartPolicy") == "Never", f"{where}: restartPolicy must be Never (podFailurePolicy)")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    check(grace >= grace_min, f"{where}: terminationGracePeriodSeconds {grace} < {grace_min}")
    sc = spec.get("securityContext", {})
    check(sc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
    check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccompProfile RuntimeDefault")
    check(spec.get("automountServiceAccountToken") is False, f"{where}: automountServiceAccountToken false")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for v in volumes.values():
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            check(named(docs, "PersistentVolumeClaim", claim), f"{where}: no PersistentVolumeClaim {claim}")
        if "secret" in v:
            check(named(docs, "Secret", v["secret"]["secretName"]), f"{where}: no Secret {v['secret']['secretName']}")
        if "configMap" in v:
            check(named(docs, "ConfigMap", v["configMap"]["name"]), f"{where}: no ConfigMap {v['configMap']['name']}")
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    runs = 0
    for c in containers:
        cw = f"{where}: container {c['name']}"
        csc = c.get("securityContext", {})
        check(csc.get("allowPrivilegeEscalation") is False, f"{cw}: allowPrivilegeEscalation false")
        check(csc.get("readOnlyRootFilesystem") is True, f"{cw}: readOnlyRootFilesystem true")
        check("ALL" in csc.get("capabilities", {}).get("drop", []), f"{cw}: capabilities drop ALL")
        check(c.get("resources", {}).get("limits", {}).get("memory"), f"{cw}: no memory limit")
        check(isinstance(c.get("image"), str) and c["image"], f"{cw}: no image")
        for m in c.get("volumeMounts", []):
            check(m["name"] in volumes, f"{cw}: mounts unknown volume {m['name']}")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                s = named(docs, "Secret", ref["name"])
                check(s and ref["key"] in secret_keys(s), f"{cw}: Secret {ref['name']} has no key {ref['key']}")
        cmd = c.get("command", []) + c.get("args", [])
        invocations = []
        if cmd[:2] == ["/bin/sh", "-c"]:
            invocations = hubsync_lines(cmd[2])
        elif cmd and cmd[0].endswith("/hubsync"):
            invocations = [cmd]
        check(invocations, f"{cw}: runs no hubsync")
        for words in invocations:
            words = [w for w in words if w != "exec"]
            check_flags(cw, words, known)
            if "run" in words:
                runs += 1
                check("--workers" in words,
                      f"{cw}: `hubsync run` without --workers forks one worker per CPU of the node")
            check_json_output(cw, words)
    check(runs >= 1, f"{where}: no container runs `hubsync run`")
    return containers


def cron_period_s(schedule):
    m = re.fullmatch(r"\*/(\d+) \* \* \* \*", schedule)
    return int(m.group(1)) * 60 if m else None


def cmd_k8s(directory, help_path):
    known, codes = help_facts(help_path)
    docs = load_docs(directory)
    crons, jobs = by_kind(docs, "CronJob"), by_kind(docs, "Job")
    check(crons, f"{directory}: no CronJob")
    check(any(d["spec"].get("completionMode") == "Indexed" for _, d in jobs), f"{directory}: no Indexed Job")
    for where, cj in crons:
        check(cj["apiVersion"] == "batch/v1", f"{where}: apiVersion {cj['apiVersion']}")
        spec = cj["spec"]
        check(spec.get("concurrencyPolicy") == "Forbid", f"{where}: concurrencyPolicy must be Forbid")
        job = spec["jobTemplate"]["spec"]
        check_failure_policy(where, job, codes, "FailJob")
        pod = job["template"]
        containers = check_pod(where, docs, pod, known)
        period = cron_period_s(spec["schedule"])
        deadline = job.get("activeDeadlineSeconds")
        check(period and deadline and deadline < period,
              f"{where}: activeDeadlineSeconds {deadline} must end before the next tick ({period} s)")
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        for c in containers:
            cmd = c.get("command", [])
            if "--max-duration" in cmd:
                md = int(cmd[cmd.index("--max-duration") + 1])
                check(deadline and md + grace <= deadline,
                      f"{where}: --max-duration {md} + grace {grace} s must fit in activeDeadlineSeconds {deadline}")
    for where, job in jobs:
        spec = job["spec"]
        check(job["apiVersion"] == "batch/v1", f"{where}: apiVersion {job['apiVersion']}")
        check(spec.get("completionMode") == "Indexed", f"{where}: completionMode must be Indexed")
        check(isinstance(spec.get("backoffLimitPerIndex"), int), f"{where}: backoffLimitPerIndex")
        check_failure_policy(where, spec, codes, "FailIndex")
        check_pod(where, docs, spec["template"], known)
        volumes = spec["template"]["spec"].get("volumes", [])
        for v in volumes:
            if "configMap" in v:
                cm = named(docs, "ConfigMap", v["configMap"]["name"]) or {}
                for key, text in (cm.get("data") or {}).items():
                    portals = text.split()
                    check(len(portals) == spec.get("completions"),
                          f"{where}: completions {spec.get('completions')} but {len(portals)} portals in {key}")
                    secrets = [named(docs, "Secret", s["secret"]["secretName"]) for s in volumes if "secret" in s]
                    for p in portals:
                        check(re.fullmatch(r"[a-z0-9-]+", p), f"{where}: portal name {p!r}")
                        check(any(s and p in secret_keys(s) for s in secrets),
                              f"{where}: no token for portal {p} in the Secret")
    print(f"k8s: {len(docs)} documents ({', '.join(sorted(w.split(': ', 1)[1] for _, w, _ in docs))}) "
          f"checked against hubsync --help (exit codes {sorted(codes)})")


# Where a pod's emptyDir volumes live under ROOT: one folder per pod (the
# Job's completion index, "cron" for the CronJob's), expanded by the shell.
POD_DIR = "/pod-@INDEX@"


def sh_word(word):
    """WORD single-quoted for the shell, with @INDEX@ left to expand."""
    quoted = "'" + word.replace("'", "'\\''") + "'"
    return quoted.replace("@INDEX@", "'\"${JOB_COMPLETION_INDEX:-cron}\"'")


def cmd_pod(path, kind, root, token):
    """A shell script running KIND's pod with its volumes under ROOT."""
    import yaml

    docs = [(path, "", d) for d in yaml.safe_load_all(open(path)) if d]
    here = os.path.dirname(path)
    for other in glob.glob(os.path.join(here, "*.yaml")):
        if other != path:
            docs += [(other, "", d) for d in yaml.safe_load_all(open(other)) if d]
    obj = next(d for p, _, d in docs if p == path and d["kind"] == kind)
    job = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
    pod = job["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    out = ["set -u"]
    mapping = {"/usr/local/bin/hubsync": os.path.abspath(os.environ.get("HUBSYNC", "bin/hubsync"))}
    containers = pod.get("initContainers", []) + pod["containers"]
    for c in containers:
        for m in c.get("volumeMounts", []):
            mount, v = m["mountPath"], volumes[m["name"]]
            if mount in mapping:
                continue
            # Every volume but the claim is the pod's own (Kubernetes
            # projects Secrets and ConfigMaps into each pod): pods run side
            # by side (the indexes of a Job) must not share them, or one
            # pod rewrites a Secret file while another copies it.
            own = "persistentVolumeClaim" not in v
            mapping[mount] = root + (POD_DIR if own else "") + mount
            out.append(f"mkdir -p {sh_word(mapping[mount])}")
            if "configMap" in v:
                cm = named(docs, "ConfigMap", v["configMap"]["name"])
                for key, text in cm["data"].items():
                    out.append(f"printf %s {shlex.quote(text)} > {sh_word(mapping[mount] + '/' + key)}")
            if "secret" in v:
                s = named(docs, "Secret", v["secret"]["secretName"])
                mode = v["secret"].get("defaultMode", 0o644)
                for key in sorted(secret_keys(s)):
                    f = sh_word(mapping[mount] + "/" + key)
                    out.append(f"printf '%s\\n' {shlex.quote(token)} > {f}; chmod {mode:o} {f}")

    def remap(word):
        for src in sorted(mapping, key=len, reverse=True):
            word = word.replace(src, mapping[src])
        return word

    for c in containers:
        env = []
        for e in c.get("env", []):
            value = token if "valueFrom" in e else remap(e["value"])
            env.append(f"{e['name']}={sh_word(value)}")
        words = [remap(w) for w in c.get("command", []) + c.get("args", [])]
        line = " ".join(sh_word(w) for w in words)
        out.append(f"env {' '.join(env)} {line} || exit $?")
    print("\n".join(out))


# ---- JSON schemas ---------------------------------------------------------


def cmd_schema(schema_path, doc_paths, lines, expect_invalid):
    import jsonschema

    schema = json.load(open(schema_path))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    check(doc_paths, f"{schema_path}: no files to validate")
    for doc_path in doc_paths:
        validate_file(validator, os.path.basename(schema_path), doc_path, lines, expect_invalid)


def validate_file(validator, name, doc_path, lines, expect_invalid):
    texts = open(doc_path).read().splitlines() if lines else [open(doc_path).read()]
    errors = []
    for n, text in enumerate(texts, 1):
        try:
            doc = json.loads(text)
        except ValueError as e:
            errors.append(f"{doc_path}:{n}: not JSON: {e}: {text[:120]}")
            continue
        for err in validator.iter_errors(doc):
            path = "/".join(str(p) for p in err.absolute_path)
            errors.append(f"{doc_path}:{n}: /{path}: {err.message}")
    if expect_invalid:
        check(errors, f"{doc_path}: expected {name} to refuse it, but it validates")
        if errors:
            print(f"schema: {name} refuses {os.path.basename(doc_path)} as it should: {errors[0]}")
        return
    for e in errors:
        problem(e)
    check(texts, f"{doc_path}: empty")
    if not errors:
        print(f"schema: {os.path.basename(doc_path)}: {len(texts)} document(s) valid against {name}")


def schema_tables(schema_path):
    """Markdown: one table per object of the schema, fields in order."""
    schema = json.load(open(schema_path))
    defs = schema.get("$defs", {})
    out = []

    def resolve(node):
        while "$ref" in node and node["$ref"].startswith("#/$defs/"):
            target = defs[node["$ref"][len("#/$defs/"):]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def kind(node):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/") and "title" in defs[ref[len("#/$defs/"):]]:
            return defs[ref[len("#/$defs/"):]]["title"]
        node = resolve(node)
        if node.get("type") == "object":
            return "object"
        for key in ("oneOf", "anyOf"):
            if key in node:
                return " or ".join(kind(n) for n in node[key])
        if "allOf" in node:
            return kind(node["allOf"][0])
        if "enum" in node:
            return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
        t = node.get("type", "")
        if t == "array":
            return "array of " + kind(node.get("items", {}))
        return t

    def obj(node, title, seen):
        node = resolve(node)
        for key in ("oneOf", "anyOf"):
            for n in node.get(key, []):
                obj(n, title, seen)
        if "allOf" in node:
            obj(node["allOf"][0], title, seen)
        if node.get("type") == "array":
            obj(node.get("items", {}), title + "[]", seen)
        if node.get("type") != "object" or title in seen:
            return
        seen.add(title)
        required = set(node.get("required", []))
        out.append(f"**{title}**\n\n| field | type | always | meaning |\n|---|---|---|---|")
        for name, field in node.get("properties", {}).items():
            desc = resolve(field).get("description", "")
            out.append(f"| `{name}` | {kind(field)} | {'yes' if name in required else 'no'} | {desc} |")
        out.append("")
        for name, field in node.get("properties", {}).items():
            obj(field, f"{title}.{name}", seen)

    obj(schema, schema["title"], set())
    return "\n".join(out)


def cmd_schema_doc(paths, markdown):
    text = "\n".join(schema_tables(p) for p in paths)
    if markdown is None:
        print(text)
        return
    doc = open(markdown).read()
    for p in paths:
        block = schema_tables(p)
        check(block in doc, f"{markdown}: the tables of {p} are missing or out of date "
              f"(scripts/check_deploy.py schema-doc {p})")
    if not problems:
        print(f"schema-doc: {markdown} holds the field tables of {len(paths)} schemas")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "unit" and len(args) == 4:
        cmd_unit(*args)
    elif cmd == "k8s" and len(args) == 2:
        cmd_k8s(*args)
    elif cmd == "pod" and len(args) == 4:
        cmd_pod(*args)
    elif cmd == "schema" and len(args) >= 2:
        files = [a for a in args[1:] if not a.startswith("--")]
        cmd_schema(args[0], files, "--lines" in args, "--expect-invalid" in args)
    elif cmd == "schema-doc" and args:
        md = None
        if "--check" in args:
            i = args.index("--check")
            md = args[i + 1]
            args = args[:i] + args[i + 2:]
        cmd_schema_doc(args, md)
    else:
        sys.exit(__doc__)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
