#!/usr/bin/env python3
"""The chart's test (`just chart-test`, part of `just test`), offline, with registry
packages only: the Helm SDK of helm-python-sdk and the schemas of kubernetes-validate.

1. Lint the chart strictly.
2. Render it with the default values and with ci/production-values.yaml, and validate
   every object with kubernetes-validate --strict for the oldest and the newest
   Kubernetes the chart claims; ServiceMonitor and PrometheusRule structurally.
3. Assert object by object: security contexts, resources, probes, no Secret value in a
   ConfigMap or a plain env value, Service and probe ports that exist, NetworkPolicies
   that select pods, token automount off.
4. Start the real binaries with exactly the rendered environment (addresses rewritten to
   loopback, mounted files to a temporary directory, one stream replica) against a local
   nats-server, and wait until every one is ready; then SIGTERM each and expect exit 0.
5. Refuse the bad values files, naming the key.
6. The README lists every value.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "tillit"
BIN_DIR = Path(os.environ.get("TILLIT_BIN_DIR", ROOT / "target" / "debug"))
WORKLOADS = ("Deployment", "StatefulSet")
CUSTOM = ("monitoring.coreos.com/v1",)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def step(title):
    print(f"chart-test: {title}", flush=True)


def kubernetes_versions():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    versions = chart["annotations"]["tillit.io/tested-kubernetes"].split()
    oldest = chart["kubeVersion"].lstrip(">=").split("-")[0]
    check(versions[0] == oldest, f"Chart.yaml: kubeVersion {chart['kubeVersion']} but the oldest tested is {versions[0]}")
    return versions


def render(values, namespace="tillit"):
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(chart.merge_values(values))
        rendered = chart.render(values, name="tillit", namespace=namespace)
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            check("base64 -d" in text, "NOTES.txt says how to read the first admin's password")
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def lint():
    step("lint (strict)")
    report = helm.lint(str(CHART), strict=True)
    check(not report["errors"], f"lint errors: {report['errors']}")
    # Severity 2 is a warning, 4 an error; 1 (info: "icon is recommended") is advice.
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    check(not serious, f"lint findings: {serious}")


def structural(doc):
    kind, spec = doc["kind"], doc.get("spec", {})
    name = f"{kind} {doc['metadata']['name']}"
    if kind == "ServiceMonitor":
        check(spec.get("selector", {}).get("matchLabels"), f"{name}: spec.selector.matchLabels")
        for endpoint in spec.get("endpoints", []):
            check(endpoint.get("port") and endpoint.get("path") == "/metrics", f"{name}: endpoint {endpoint}")
        check(spec.get("endpoints"), f"{name}: spec.endpoints")
    elif kind == "PrometheusRule":
        groups = spec.get("groups", [])
        check(groups, f"{name}: spec.groups")
        for group in groups:
            check(group.get("name") and group.get("rules"), f"{name}: group {group.get('name')}")
            for rule in group.get("rules", []):
                check(rule.get("alert") and rule.get("expr"), f"{name}: rule {rule}")
        expected = yaml.safe_load((CHART / "files/prometheus/tillit-alerts.yml").read_text())["groups"]
        check(groups == expected, f"{name}: its groups are the rules promtool checks")
    else:
        check(False, f"{name}: no structural check for {doc['apiVersion']}")


def validate(docs, label, versions):
    for version in versions:
        step(f"validate {label} for Kubernetes {version} (--strict)")
        for doc in docs:
            if doc["apiVersion"] in CUSTOM:
                structural(doc)
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                check(False, f"{label} {doc['kind']} {doc['metadata']['name']} for {version}: {e.message} at {list(e.path)}")


def secret_values(docs):
    values = {}
    for doc in docs:
        if doc["kind"] == "Secret":
            for key, value in (doc.get("data") or {}).items():
                values[(doc["metadata"]["name"], key)] = base64.b64decode(value).decode()
    return values


def generated(docs):
    step("the generated keys have the forms the services require")
    values = {key: value for (name, key), value in secret_values(docs).items() if name.endswith("-generated")}
    check(re.fullmatch(r"[0-9a-f]{64}", values.get("personal-data.key", "")), "personal-data.key: 64 hex digits")
    check(re.fullmatch(r"[0-9a-f]{128,}", values.get("cookie-key", "")), "cookie-key: at least 64 bytes as hex")
    check(values.get("signing-key.pem", "").startswith("-----BEGIN PRIVATE KEY-----"), "signing-key.pem: a PKCS#8 PEM")
    check(len(values.get("admin-password", "")) >= 20, "admin-password: at least 20 characters")


def pods(docs):
    """(workload, pod template) of every Deployment and StatefulSet."""
    return [(d, d["spec"]["template"]) for d in docs if d["kind"] in WORKLOADS]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def policies(docs, label):
    step(f"policies of {label}")
    secrets = [v for v in secret_values(docs).values() if len(v) >= 8]
    check(secrets, f"{label}: the generated Secret holds keys")
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            text = json.dumps(doc.get("data", {}))
            check(not any(s in text for s in secrets), f"{label}: ConfigMap {doc['metadata']['name']} holds a Secret's value")
        if doc["kind"] == "ServiceAccount":
            check(doc.get("automountServiceAccountToken") is False, f"{label}: ServiceAccount {doc['metadata']['name']} automounts a token")
    workloads = pods(docs)
    check(len(workloads) == 5, f"{label}: five workloads, found {len(workloads)}")
    for workload, template in workloads:
        name = f"{label} {workload['kind']} {workload['metadata']['name']}"
        spec = template["spec"]
        pod_security = spec.get("securityContext", {})
        check(pod_security.get("runAsNonRoot") is True and pod_security.get("runAsUser", 0) >= 1000, f"{name}: pod runs as non-root with a fixed uid")
        check(pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: pod seccomp RuntimeDefault")
        check(spec.get("automountServiceAccountToken") is False, f"{name}: no service account token")
        for container in spec["containers"]:
            where = f"{name} container {container['name']}"
            security = container.get("securityContext", {})
            check(security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
            check(security.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
            check(security.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
            check(security.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: every capability dropped")
            check(security.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccomp RuntimeDefault")
            resources = container.get("resources", {})
            check(resources.get("requests", {}).get("cpu") and resources.get("requests", {}).get("memory") and resources.get("limits", {}).get("memory"), f"{where}: requests and a memory limit")
            port_names = {p["name"] for p in container.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                found = container.get(probe)
                if check(found, f"{where}: {probe}"):
                    port = (found.get("httpGet") or found.get("grpc") or found.get("tcpSocket") or {}).get("port")
                    check(port in port_names, f"{where}: {probe} port {port} is a container port")
            check(container.get("lifecycle", {}).get("preStop"), f"{where}: preStop")
            for env in container.get("env", []):
                secretish = re.search(r"PASSWORD|SECRET|_KEY$|SMTP_URL", env["name"]) and not env["name"].endswith("_FILE")
                if "value" in env:
                    check(not secretish, f"{where}: {env['name']} is a plain value; it must come from a Secret")
                    check(not any(s in env["value"] for s in secrets), f"{where}: {env['name']} holds a Secret's value")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        shutdown = next(int(e["value"]) for e in spec["containers"][0]["env"] if e["name"] == "TILLIT_SHUTDOWN_GRACE_SECONDS")
        check(grace > shutdown, f"{name}: grace period {grace} s covers the service's {shutdown} s")
    for service in (d for d in docs if d["kind"] == "Service"):
        selected = [t for _, t in workloads if selects(service["spec"]["selector"], t["metadata"]["labels"])]
        name = f"{label} Service {service['metadata']['name']}"
        if check(len(selected) == 1, f"{name}: selects one workload's pods"):
            container_ports = {p["name"] for c in selected[0]["spec"]["containers"] for p in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                check(port["targetPort"] in container_ports, f"{name}: targetPort {port['targetPort']} is a container port")
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        name = f"{label} NetworkPolicy {policy['metadata']['name']}"
        selector = policy["spec"]["podSelector"]["matchLabels"]
        check(any(selects(selector, t["metadata"]["labels"]) for _, t in workloads), f"{name}: selects pods that exist")
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                labels = peer.get("podSelector", {}).get("matchLabels")
                if labels and "namespaceSelector" not in peer:
                    check(any(selects(labels, t["metadata"]["labels"]) for _, t in workloads), f"{name}: peer {labels} selects pods of the release")
    for scaler in (d for d in docs if d["kind"] == "HorizontalPodAutoscaler"):
        target = scaler["spec"]["scaleTargetRef"]
        check(any(w["kind"] == target["kind"] and w["metadata"]["name"] == target["name"] for w, _ in workloads), f"{label} HPA {scaler['metadata']['name']}: its target exists")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(log_path):
    """(API address, admin address) from a process's "listening" log line."""
    try:
        lines = log_path.read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        fields = entry.get("fields", {})
        if fields.get("message") == "listening":
            return fields["grpc"], fields["admin"]
    return None


def environment(container, secrets, configmaps, mounts, overrides):
    """The container's environment as Kubernetes would set it, with `overrides` for the
    addresses and paths a local run must change."""
    env = {}
    for item in container.get("env", []):
        name = item["name"]
        if "value" in item:
            value = item["value"]
        else:
            source = item["valueFrom"]
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                value = secrets[(ref["name"], ref["key"])]
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                value = configmaps[(ref["name"], ref["key"])]
            else:
                value = "chart-test-pod"
        # Kubernetes expands $(NAME) of variables defined before.
        value = re.sub(r"\$\(([A-Z_][A-Z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value)
        for mount, local in mounts.items():
            if value.startswith(mount + "/") or value == mount:
                value = local + value[len(mount):]
        env[name] = overrides(name, value)
    return env


def start_rendered(docs):
    step("start the rendered configuration against a local nats-server")
    secrets = secret_values(docs)
    configmaps = {(d["metadata"]["name"], k): v for d in docs if d["kind"] == "ConfigMap" for k, v in (d.get("data") or {}).items()}
    nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
    work = Path(tempfile.mkdtemp(prefix="tillit-chart-test-"))
    nats_port = free_port()
    nats = subprocess.Popen([nats_server, "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(work / "nats")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = []
    grpc_of = {}
    try:
        time.sleep(0.5)
        order = ["identity", "assets", "incidents", "reporting", "portal"]
        by_component = {t["metadata"]["labels"]["app.kubernetes.io/component"]: t for _, t in pods(docs)}
        for component in order:
            spec = by_component[component]["spec"]
            container = spec["containers"][0]
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            mounts = {}
            for mount in container.get("volumeMounts", []):
                local = work / component / mount["mountPath"].strip("/")
                local.mkdir(parents=True, exist_ok=True)
                mounts[mount["mountPath"]] = str(local)
                volume = volumes.get(mount["name"], {})
                if "secret" in volume:
                    for (secret, key), value in secrets.items():
                        if secret == volume["secret"]["secretName"]:
                            (local / key).write_text(value)
                elif "configMap" in volume:
                    for (configmap, key), value in configmaps.items():
                        if configmap == volume["configMap"]["name"]:
                            (local / key).write_text(value)

            def overrides(name, value):
                if name.endswith("_ADDR"):
                    return "127.0.0.1:0"
                if name == "TILLIT_NATS_URL":
                    return f"nats://127.0.0.1:{nats_port}"
                if name == "TILLIT_STREAM_REPLICAS":
                    return "1"
                if name.startswith("TILLIT_PORTAL_") and name.endswith("_URL"):
                    service = name[len("TILLIT_PORTAL_"):-len("_URL")].lower()
                    return f"http://{grpc_of[service]}"
                return value

            env = environment(container, secrets, configmaps, mounts, overrides)
            binary = BIN_DIR / Path(container["command"][0]).name
            check(binary.exists(), f"{binary} exists (cargo build --workspace --bins)")
            log_path = work / f"{component}.log"
            with open(log_path, "w") as log:
                process = subprocess.Popen([str(binary), *container.get("args", [])], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
            running.append((component, process, log_path))
            deadline = time.time() + 90
            addresses = None
            while time.time() < deadline and process.poll() is None and addresses is None:
                addresses = listening(log_path)
                time.sleep(0.1)
            if not check(addresses, f"{component} started with the rendered environment; its log:\n{log_path.read_text()[-3000:]}"):
                return
            grpc_of[component] = addresses[0]
            ready = False
            while time.time() < deadline and process.poll() is None and not ready:
                try:
                    with urllib.request.urlopen(f"http://{addresses[1]}/readyz", timeout=2) as answer:
                        ready = answer.status == 200
                except OSError:
                    time.sleep(0.2)
            if not check(ready, f"{component} became ready; its log:\n{log_path.read_text()[-3000:]}"):
                return
            ignored = [line for line in log_path.read_text().splitlines() if "not a setting of" in line]
            check(not ignored, f"{component}: the chart sets variables the binary does not read: {ignored}")
            print(f"chart-test:   {component} ready ({len(env)} variables, as rendered)", flush=True)
        for component, process, log_path in reversed(running):
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = None
            check(code == 0, f"{component} stopped on SIGTERM with exit {code}; its log:\n{log_path.read_text()[-2000:]}")
    finally:
        for _, process, _ in running:
            if process.poll() is None:
                process.kill()
        nats.kill()
        nats.wait()
        shutil.rmtree(work, ignore_errors=True)


def refusals():
    step("bad values files are refused, naming the key")
    for file, names in [("bad-type.yaml", "/identity/replicas"), ("bad-key.yaml", "ingres")]:
        values = yaml.safe_load((CHART / "ci" / file).read_text())
        try:
            render(values)
            check(False, f"ci/{file} was accepted")
        except helm.HelmError as e:
            check(names in str(e), f"ci/{file}: the refusal names {names}: {e}")


def flatten(values, prefix=""):
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, path + ".")
        else:
            yield path


def readme():
    step("the README lists every value")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "chart_readme.py"), "--check"], capture_output=True, text=True)
    check(result.returncode == 0, result.stdout + result.stderr)
    text = (CHART / "README.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    keys = set(flatten(values))
    unlisted = sorted(k for k in keys if not any(k == l or k.startswith(l + ".") for l in listed))
    check(not unlisted, f"values the README does not list: {unlisted}")
    unknown = sorted(l for l in listed if not any(k == l or k.startswith(l + ".") for k in keys))
    check(not unknown, f"README rows for values that do not exist: {unknown}")


def main():
    versions = kubernetes_versions()
    lint()
    defaults = render({})
    production = render(yaml.safe_load((CHART / "ci" / "production-values.yaml").read_text()), namespace="security")
    kinds = {d["kind"] for d in production}
    for kind in ("Ingress", "HorizontalPodAutoscaler", "StatefulSet", "ServiceMonitor", "PrometheusRule", "ConfigMap", "NetworkPolicy", "PodDisruptionBudget"):
        check(kind in kinds, f"the production render has a {kind}")
    check(not any(d["kind"] == "Secret" for d in production), "with every Secret given, the chart generates none")
    validate(defaults, "defaults", versions)
    validate(production, "production", versions)
    generated(defaults)
    policies(defaults, "defaults")
    policies(production + [d for d in defaults if d["kind"] == "Secret"], "production")
    with_files = render({"config": {"rules": '{"a": 1}', "clocks": '{"b": 2}'}})
    config = [d for d in with_files if d["kind"] == "ConfigMap"]
    check(config and set(config[0]["data"]) == {"rules.json", "clocks.json"}, "rules and clocks become a ConfigMap")
    refusals()
    readme()
    if not failures:
        start_rendered(defaults)
    if failures:
        print(f"chart-test: {len(failures)} failed:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print("chart-test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
