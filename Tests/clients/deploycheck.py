#!/usr/bin/env python3
"""Reads deploy/kubernetes/*.yaml and prints what the Swift test checks about how they fit together
(the schemas themselves are checked by kubernetes-validate): the Deployment's probes and grace
period against the ConfigMap's shutdown_delay and drain_timeout, the Services' and the
ServiceMonitor's selectors against the pod labels, and the ConfigMap's config text."""
import glob
import json
import re
import sys

import yaml

docs = []
for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    with open(path) as f:
        docs += [d for d in yaml.safe_load_all(f) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(text))
    return {"ms": 0.001, "s": 1, "m": 60}[m.group(2)] * int(m.group(1)) if m else None


deployment = by_kind["Deployment"][0]
pod = deployment["spec"]["template"]
container = pod["spec"]["containers"][0]
config_text = by_kind["ConfigMap"][0]["data"]["spillway.yaml"]
config = yaml.safe_load(config_text)
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
labels = pod["metadata"]["labels"]


def selects(selector):
    return all(labels.get(k) == v for k, v in selector.items())


services = by_kind["Service"]
monitor = by_kind.get("ServiceMonitor", [{}])[0]
monitored = [s for s in services if all(s["metadata"]["labels"].get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())]
print(json.dumps({
    "kinds": sorted(by_kind),
    "grace_seconds": pod["spec"]["terminationGracePeriodSeconds"],
    "shutdown_delay_seconds": seconds(config.get("shutdown_delay", "5s")),
    "drain_timeout_seconds": seconds(config.get("drain_timeout", "30s")),
    "readiness_path": container["readinessProbe"]["httpGet"]["path"],
    "liveness_path": container["livenessProbe"]["httpGet"]["path"],
    "probe_port": ports.get(container["readinessProbe"]["httpGet"]["port"]),
    "admin_port": int(config["admin"]["listen"].rsplit(":", 1)[1]),
    "s3_port": ports.get("s3"),
    "listen_port": int(config["listen"][0].rsplit(":", 1)[1]),
    "services_select_pods": all(selects(s["spec"]["selector"]) for s in services),
    "headless": any(s["spec"].get("clusterIP") == "None" for s in services),
    "monitored_ports": [p["name"] for s in monitored for p in s["spec"]["ports"]],
    "monitor_port": monitor["spec"]["endpoints"][0]["port"],
    "pdb_selects_pods": selects(by_kind["PodDisruptionBudget"][0]["spec"]["selector"]["matchLabels"]),
    "hpa_target": by_kind["HorizontalPodAutoscaler"][0]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"],
    "run_as_non_root": pod["spec"]["securityContext"].get("runAsNonRoot", False),
    "config": config_text,
}))
