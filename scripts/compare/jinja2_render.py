#!/usr/bin/env python3
"""A baseline for docs/performance.md: the per-service Kubernetes work of berrys done by a
hand-written Python + Jinja2 generator, timed on the same machine.

    python3 scripts/compare/jinja2_render.py PLATFORM.toml OUTDIR

Reads PLATFORM.toml (the base platform, no environment applied) and writes one YAML file
per Kubernetes object of every service into OUTDIR/<service>/: the same objects berrys puts
in kubernetes/<service>.yaml (ServiceAccount, ConfigMap, Service, Deployment, HPA and PDB
when berrys renders them, NetworkPolicy, Ingress when the service is exposed,
ServiceMonitor), with the same derived values (registry-prefixed image, checksum/config
annotation, sync waves, dependents for NetworkPolicy ingress). No validation, linting,
Prometheus rules or dashboards. Needs Python 3.11+ and Jinja2.
"""

import hashlib
import os
import sys
import tomllib
from types import SimpleNamespace as NS

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
DISPLAY_UNITS = sorted(UNITS.items(), key=lambda u: -u[1])


def millis(text):
    """`"30s"` -> 30000. Durations are a number (maybe with a fraction) and a unit."""
    i = 0
    while i < len(text) and (text[i].isdigit() or text[i] == "."):
        i += 1
    whole, _, frac = text[:i].partition(".")
    factor = UNITS[text[i:]]
    return int(whole) * factor + (int(frac) * factor // 10 ** len(frac) if frac else 0)


def seconds_string(ms):
    """Seconds as the shortest exact decimal: 30000 -> "30", 2500 -> "2.5"."""
    whole, frac = divmod(ms, 1000)
    return str(whole) if frac == 0 else f"{whole}.{frac:03d}".rstrip("0")


def ceil_secs(ms):
    return -(-ms // 1000)


def duration_display(ms):
    """The largest unit that divides the value exactly (Prometheus spelling)."""
    if ms == 0:
        return "0s"
    for unit, factor in DISPLAY_UNITS:
        if ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms"


def number_quantity(value):
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{round(value * 1000)}m"


def text(value):
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def image_reference(registry, image):
    """Docker's rule: the first path component is a registry when it has `.` or `:` or is
    `localhost`; the platform registry is prefixed to images without one."""
    first, slash, _ = image.partition("/")
    has_registry = bool(slash) and ("." in first or ":" in first or first == "localhost")
    if registry and not has_registry:
        return f"{registry.rstrip('/')}/{image}"
    return image


def config_checksum(data):
    """SHA-256 over the sorted, length-prefixed keys and values (as berrys computes it)."""
    h = hashlib.sha256()
    for k, v in data:
        kb, vb = k.encode(), v.encode()
        h.update(len(kb).to_bytes(8, "little"))
        h.update(kb)
        h.update(len(vb).to_bytes(8, "little"))
        h.update(vb)
    return h.hexdigest()


def scaling_rules(base, over):
    """HPA behavior rules of one direction: the tier's policy with per-service overrides."""
    if base is None and over is None:
        return None
    p = {**(base or {}), **(over or {})}
    period = ceil_secs(millis(p.get("period", "60s")))
    policies = []
    if "max_pods" in p:
        policies.append(("Pods", p["max_pods"], period))
    if "max_percent" in p:
        policies.append(("Percent", p["max_percent"], period))
    stab = p.get("stabilization")
    return NS(policies=policies, stabilization=None if stab is None else ceil_secs(millis(stab)))


def autoscale(doc, svc):
    """The service's scaling tier with its overrides, or None when it has fixed replicas."""
    scaling = svc.get("scaling")
    if scaling is None:
        return None
    over = {} if isinstance(scaling, str) else scaling
    tier = doc["scaling"][scaling if isinstance(scaling, str) else scaling["tier"]]
    pick = lambda key: over.get(key, tier.get(key))  # noqa: E731
    resource_metrics = [(name, pick(f"{name}_target")) for name in ("cpu", "memory")
                        if pick(f"{name}_target") is not None]
    return NS(
        min=pick("min_replicas"),
        max=pick("max_replicas"),
        resource_metrics=resource_metrics,
        scale_up=scaling_rules(tier.get("scale_up"), over.get("scale_up")),
        scale_down=scaling_rules(tier.get("scale_down"), over.get("scale_down")),
    )


def deploy_waves(services):
    """A service's wave is one more than the highest wave of its hard dependencies."""
    waves = {}
    for root in services:
        if root in waves:
            continue
        stack = [root]
        while stack:
            name = stack[-1]
            deps = [d for d in services[name].get("depends_on", []) if d in services]
            pending = [d for d in deps if d not in waves]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            waves[name] = max((waves[d] + 1 for d in deps), default=0)
    return waves


def service_context(doc, name, svc, waves, dependents):
    platform = doc["platform"]
    obs = doc.get("observability", {})
    platform_name = platform["name"]
    registry = platform.get("registry")

    labels = {"app.kubernetes.io/part-of": platform_name, **platform.get("labels", {})}
    labels["app.kubernetes.io/name"] = name
    labels["app.kubernetes.io/component"] = svc.get("layer", "service")
    labels["app.kubernetes.io/managed-by"] = "berrys"
    annotations = {**platform.get("annotations", {}),
                   "argocd.argoproj.io/sync-wave": str(waves[name])}

    # ConfigMap data: env, then rate-limit and pool settings.
    data = {k: text(v) for k, v in svc.get("env", {}).items()}
    tier_name = svc.get("rate_limit")
    if tier_name is not None and tier_name in doc.get("rate_limits", {}):
        rl = doc["rate_limits"][tier_name]
        data["RATE_LIMIT_TIER"] = tier_name
        data["RATE_LIMIT_REQUESTS"] = str(rl["requests"])
        data["RATE_LIMIT_WINDOW_SECONDS"] = seconds_string(millis(rl["window"]))
        data["RATE_LIMIT_BURST"] = str(rl.get("burst", rl["requests"]))
    for ds, pool_name in svc.get("datastores", {}).items():
        pool = doc.get("pools", {}).get(pool_name)
        if pool is None:
            continue
        prefix = ds.upper().replace("-", "_")
        data[f"{prefix}_POOL_MIN"] = str(pool["min"])
        data[f"{prefix}_POOL_MAX"] = str(pool["max"])
        data[f"{prefix}_POOL_TIMEOUT_SECONDS"] = seconds_string(millis(pool["timeout"]))
        data[f"{prefix}_POOL_RECYCLE_SECONDS"] = seconds_string(millis(pool["recycle"]))
        data[f"{prefix}_POOL_PRE_PING"] = text(pool.get("pre_ping", False))
    config = sorted(data.items())

    # Replicas: autoscaled within the tier, or fixed (tier minimum when autoscaling is off).
    auto = autoscale(doc, svc)
    if auto is not None and platform.get("autoscaling", True):
        replicas, rmin, rmax = None, auto.min, auto.max
    else:
        count = auto.min if auto is not None else svc.get("replicas", 1)
        auto, replicas, rmin, rmax = None, count, count, count

    critical = svc.get("critical", False)
    explicit_pdb = svc.get("pdb")
    if explicit_pdb is not None:
        pdb = NS(min_available=explicit_pdb.get("min_available"),
                 max_unavailable=explicit_pdb.get("max_unavailable"))
    elif critical or rmin >= 2:
        pdb = NS(min_available=None, max_unavailable=1)
    else:
        pdb = None

    res = svc.get("resources", {})
    probes = svc.get("probes", {})
    ingress = svc.get("ingress")
    if ingress is not None:
        ingress = NS(host=ingress["host"], path=ingress.get("path", "/"),
                     tls_secret=ingress.get("tls_secret"))

    services = doc["services"]
    deps = sorted(set(svc.get("depends_on", [])) | set(svc.get("soft_depends_on", [])))
    datastores = doc.get("datastores", {})
    egress_cidrs = [(datastores[ds]["cidr"], datastores[ds]["port"])
                    for ds in sorted(svc.get("datastores", {})) if ds in datastores]
    egress_cidrs += [(e["cidr"], e["port"]) for e in svc.get("egress", [])]

    return NS(
        name=name,
        namespace=platform.get("namespace", platform_name),
        labels=sorted(labels.items()),
        annotations=sorted(annotations.items()),
        pod_annotations=sorted({**platform.get("annotations", {}),
                                "checksum/config": config_checksum(config)}.items()),
        config=config,
        port=svc["port"],
        image=image_reference(registry, svc["image"]),
        critical=critical,
        replicas=replicas,
        spread=rmax >= 2,
        autoscale=auto,
        metrics=[(m["name"], number_quantity(m["target"])) for m in svc.get("metrics", [])],
        pdb=pdb,
        requests=[(k, res[k]) for k in ("cpu", "memory") if k in res],
        limits=[(k, res[f"{k}_limit"]) for k in ("cpu", "memory") if f"{k}_limit" in res],
        secrets=[(var, *ref.partition("/")[::2])
                 for var, ref in sorted(svc.get("secrets", {}).items())],
        probes=NS(liveness=probes.get("liveness", "/healthz"),
                  readiness=probes.get("readiness", "/ready"),
                  startup=probes.get("startup")),
        ingress=ingress,
        dependents=dependents.get(name, []),
        egress_services=[(d, services[d]["port"]) for d in deps if d in services],
        egress_cidrs=egress_cidrs,
        ingress_namespace=obs.get("ingress_namespace", "ingress-nginx"),
        prometheus_namespace=obs.get("prometheus_namespace", "monitoring"),
        scrape_interval=duration_display(millis(obs.get("scrape_interval", "30s"))),
    )


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} PLATFORM.toml OUTDIR")
    with open(argv[1], "rb") as f:
        doc = tomllib.load(f)
    outdir = argv[2]

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=True)
    always = [(f"{kind}.yaml", env.get_template(f"{kind}.yaml.j2"))
              for kind in ("serviceaccount", "configmap", "service", "deployment")]
    hpa = env.get_template("hpa.yaml.j2")
    pdb = env.get_template("pdb.yaml.j2")
    netpol = env.get_template("networkpolicy.yaml.j2")
    ingress = env.get_template("ingress.yaml.j2")
    monitor = env.get_template("servicemonitor.yaml.j2")

    services = doc.get("services", {})
    waves = deploy_waves(services)
    dependents = {}
    for name, svc in services.items():
        for dep in set(svc.get("depends_on", [])) | set(svc.get("soft_depends_on", [])):
            dependents.setdefault(dep, []).append(name)
    for names in dependents.values():
        names.sort()

    os.makedirs(outdir, exist_ok=True)
    for name, svc in services.items():
        s = service_context(doc, name, svc, waves, dependents)
        objects = list(always)
        if s.autoscale is not None:
            objects.append(("hpa.yaml", hpa))
        if s.pdb is not None:
            objects.append(("pdb.yaml", pdb))
        objects.append(("networkpolicy.yaml", netpol))
        if s.ingress is not None:
            objects.append(("ingress.yaml", ingress))
        objects.append(("servicemonitor.yaml", monitor))

        service_dir = os.path.join(outdir, name)
        os.makedirs(service_dir, exist_ok=True)
        for filename, template in objects:
            with open(os.path.join(service_dir, filename), "w", encoding="utf-8",
                      newline="\n") as f:
                f.write(template.render(s=s))


if __name__ == "__main__":
    main(sys.argv)
