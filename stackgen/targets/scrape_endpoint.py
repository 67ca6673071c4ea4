"""A service's scrape settings as a prometheus-operator ServiceMonitor endpoint (the Kubernetes twin of the
prometheus.yml job that stackgen.targets.prometheus.config writes).

The operator takes credentials and TLS material from Secret keys, not file paths: every file the spec
names becomes a key (its file name) of the service's scrape Secret, created out of band like the other
credentials (docs/deploy.md); basic auth's user name is that Secret's `username` key, as the operator
reads it from a Secret too.
"""

from __future__ import annotations

import posixpath
from typing import Any

from stackgen.model import names
from stackgen.spec.scrape import RelabelRule
from stackgen.spec.service import Service

_CAMEL = {"source_labels": "sourceLabels", "target_label": "targetLabel"}


def _key(service: Service, path: str) -> dict[str, str]:
    return {"name": names.scrape_credentials_secret(service.name), "key": posixpath.basename(path)}


def relabeling(rule: RelabelRule) -> dict[str, Any]:
    return {_CAMEL.get(k, k): v for k, v in rule.model_dump(exclude_none=True).items()} | {"action": rule.action}


def endpoint_settings(service: Service) -> dict[str, Any]:
    """The endpoint's keys beyond port, path and interval; only what the spec sets."""
    scrape, out = service.scrape, {}
    if scrape.timeout is not None:
        out["scrapeTimeout"] = str(scrape.timeout)
    if scrape.scheme != "http":
        out["scheme"] = scrape.scheme
    if (tls := scrape.tls) is not None:
        config: dict[str, Any] = {}
        if tls.ca_file:
            config["ca"] = {"secret": _key(service, tls.ca_file)}
        if tls.cert_file and tls.key_file:
            config |= {"cert": {"secret": _key(service, tls.cert_file)}, "keySecret": _key(service, tls.key_file)}
        if tls.server_name:
            config["serverName"] = tls.server_name
        out["tlsConfig"] = config
    if (basic := scrape.basic_auth) is not None and basic.password.file:
        out["basicAuth"] = {"username": {"name": names.scrape_credentials_secret(service.name), "key": "username"},
                            "password": _key(service, basic.password.file)}
    if (auth := scrape.authorization) is not None and auth.credentials.file:
        out["authorization"] = {"type": auth.type, "credentials": _key(service, auth.credentials.file)}
    # Static target labels are replace rules without a source: the operator has no static labels field.
    statics = [{"action": "replace", "targetLabel": label, "replacement": value}
               for label, value in sorted(scrape.labels.items())]
    if relabelings := statics + [relabeling(rule) for rule in scrape.relabel_configs]:
        out["relabelings"] = relabelings
    if scrape.metric_relabel_configs:
        out["metricRelabelings"] = [relabeling(rule) for rule in scrape.metric_relabel_configs]
    return out
