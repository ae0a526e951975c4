"""The shipper files in contrib/ against the records the sensor really writes.

No Elasticsearch or Filebeat runs here (neither is in Debian or PyPI), so the
index template is checked the way Elasticsearch applies it: every field of
real flow, alert and stats records must be mapped — by the template's
properties or by one of its dynamic templates, never left to Elasticsearch's
guess — and every value must be one the mapped type accepts.
"""

from __future__ import annotations

import datetime
import fnmatch
import ipaddress
import json
import re
import signal
import subprocess
import time

import pytest
import yaml

from conftest import LAB_DIR, PUBLIC_DIR, REPO, need_capture

TEMPLATE = REPO / "contrib" / "elasticsearch" / "flowsentry-template.json"
FILEBEAT = REPO / "contrib" / "filebeat" / "flowsentry.yml"


def json_kind(v):
    """Elasticsearch's name for a JSON value's type (dynamic mapping's `match_mapping_type`)."""
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "long"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    return "null"


class Mapping:
    def __init__(self, template):
        m = template["template"]["mappings"]
        self.properties = m["properties"]
        self.dynamic = [next(iter(d.items())) for d in m.get("dynamic_templates", [])]

    def explicit(self, path):
        """The mapping of a dotted path from the properties, or None."""
        node = {"properties": self.properties}
        for part in path.split("."):
            props = node.get("properties")
            if props is None or part not in props:
                return None
            node = props[part]
        return node

    def resolve(self, path, value):
        m = self.explicit(path)
        if m is not None:
            return m, "property"
        for name, d in self.dynamic:
            if "path_match" in d and not fnmatch.fnmatchcase(path, d["path_match"]):
                continue
            if "match_mapping_type" in d and d["match_mapping_type"] != json_kind(value):
                continue
            # A dynamic template applies only under an object that allows new fields.
            parent = self.explicit(path.rsplit(".", 1)[0]) if "." in path else {"dynamic": True}
            if parent is not None and parent.get("dynamic") is False:
                continue
            return d["mapping"], name
        return None, None


DATE_PATTERNS = {
    "yyyy-MM-dd'T'HH:mm:ss.SSSSSSZ": "%Y-%m-%dT%H:%M:%S.%f%z",
    "strict_date_optional_time": None,
    "yyyy-MM-dd'T'HH:mm:ss": "%Y-%m-%dT%H:%M:%S",
}


def accepts(mapping, value):
    t = mapping.get("type", "object")
    if value is None:
        return True  # null: no value indexed
    if t in ("long", "integer"):
        limit = 2**63 if t == "long" else 2**31
        return isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
    if t in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t in ("keyword", "text"):
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            return False
    if t == "date":
        for fmt in mapping.get("format", "strict_date_optional_time").split("||"):
            py = DATE_PATTERNS[fmt]
            try:
                if py is None:
                    datetime.datetime.fromisoformat(value)
                else:
                    datetime.datetime.strptime(value, py)
                return True
            except ValueError:
                continue
        return False
    return False


def leaves(record, prefix=""):
    """(dotted path, value, inside a nested list) for every leaf; lists of
    values are their values (Elasticsearch indexes each)."""
    for k, v in record.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            yield path, v, False
            yield from leaves(v, path + ".")
        elif isinstance(v, list):
            flat = list(flatten(v))
            if flat and all(isinstance(x, dict) for x in flat):
                yield path, flat, True
                for x in flat:
                    yield from leaves(x, path + ".")
            else:
                for x in flat:
                    yield path, x, False
        else:
            yield path, v, False


def flatten(v):
    for x in v:
        if isinstance(x, list):
            yield from flatten(x)
        else:
            yield x


def check_records(mapping, lines):
    problems, seen = set(), set()
    for line in lines:
        for path, value, is_list_of_objects in leaves(json.loads(line)):
            if isinstance(value, (dict, list)):
                m = mapping.explicit(path)
                if m is not None and is_list_of_objects and path in NESTED:
                    if m.get("type") != "nested":
                        problems.add(f"{path}: must be nested (pairs stay paired)")
                continue
            m, how = mapping.resolve(path, value)
            seen.add(path)
            if m is None:
                problems.add(f"{path}: not mapped")
            elif not accepts(m, value):
                problems.add(f"{path}: {m.get('type')} does not take {value!r}")
    return problems, seen


# Lists of objects whose members belong together (a feature and its contribution).
NESTED = {"ml.explanation", "ml.lof_nearest"}


def replay(bin_, captures, tmp_path):
    flows, alerts = tmp_path / "flows.json", tmp_path / "alerts.json"
    proc = subprocess.run([bin_, "replay", *captures, "--flows", str(flows), "--alerts", str(alerts)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return flows.read_text().splitlines(), alerts.read_text().splitlines()


def live_stats(bin_, tmp_path):
    """Stats records from a real `run` on loopback (root only; else none)."""
    stats = tmp_path / "stats.json"
    p = subprocess.Popen([bin_, "run", "--interface", "lo", "--no-score", "--flows", str(tmp_path / "lf.json"),
                          "--stats", str(stats), "--stats-interval", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while time.time() < deadline and (not stats.exists() or stats.read_text().count("\n") < 2):
        if p.poll() is not None:
            break
        time.sleep(0.2)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    if "Operation not permitted" in err or "permission" in err.lower():
        pytest.skip("live capture on lo needs CAP_NET_RAW")
    assert stats.exists(), err
    return stats.read_text().splitlines()


def test_index_template_maps_every_field_of_real_records(flowsentry_bin, tmp_path):
    template = json.loads(TEMPLATE.read_text())
    assert template["index_patterns"] == ["flowsentry-*"]
    mapping = Mapping(template)
    # Captures with every app_proto, ICMP, behaviour alerts and ML alerts.
    names = ["attack-scan.pcap", "attack-tunnel-c2.pcap", "attack-bruteforce-web.pcap", "benign-1.pcap"]
    caps = [need_capture(LAB_DIR / n if (LAB_DIR / n).exists() else None) for n in names]
    caps += [str(p) for p in (PUBLIC_DIR / "atk_bruteforce_ssh_guessing.pcap",) if p.exists()]
    flows, alerts = replay(flowsentry_bin, caps, tmp_path)
    stats = live_stats(flowsentry_bin, tmp_path)
    assert flows and alerts and stats
    problems, seen = set(), set()
    for lines in (flows, alerts, stats):
        p, s = check_records(mapping, lines)
        problems |= p
        seen |= s
    assert not problems, sorted(problems)
    # The records really had what the template is for.
    for must in ("src_ip", "icmp_type", "tcp.state", "pcap_cnt", "ml.explanation.feature", "alert.metadata.class",
                 "features.duration_s", "dns.queries.rrname", "tls.sni", "http.url", "behaviour.kind", "stats.uptime"):
        assert any(p == must or p.startswith(must + ".") for p in seen), must
    assert mapping.explicit("ml.explanation")["type"] == "nested"


def test_index_template_rejects_what_it_should(flowsentry_bin):
    # The checker itself: a wrong type or an unmapped field is caught.
    mapping = Mapping(json.loads(TEMPLATE.read_text()))
    bad = ['{"src_ip":"not-an-address"}', '{"flow":{"pkts_toserver":1.5}}', '{"ml":{"explanation":[{"feature":3}]}}',
           '{"timestamp":"yesterday"}']
    for line in bad:
        problems, _ = check_records(mapping, [line])
        assert problems, line


def test_filebeat_input_reads_the_sensors_default_logs_and_its_timestamps():
    conf = yaml.safe_load(FILEBEAT.read_text())
    (inp,) = conf["filebeat.inputs"]
    assert inp["type"] == "filestream" and inp["id"]
    ndjson = inp["parsers"][0]["ndjson"]
    assert ndjson["target"] == ""
    # The paths are the example config's outputs.
    example = yaml.safe_load((REPO / "systemd" / "flowsentry.yaml.example").read_text())["outputs"]
    want = {f"{example['directory']}/{example[k]}" for k in ("alerts", "flows", "stats")}
    assert set(inp["paths"]) == want
    # Go's reference layout, read as strptime reads it, parses a real record's timestamp.
    (proc,) = [p["timestamp"] for p in conf["processors"] if "timestamp" in p]
    layout = proc["layouts"][0]
    go = {"2006": "%Y", "01": "%m", "02": "%d", "15": "%H", "04": "%M", "05": "%S", ".999999999": ".%f", "Z0700": "%z"}
    py = re.sub("|".join(re.escape(k) for k in sorted(go, key=len, reverse=True)), lambda m: go[m.group(0)], layout)
    for t in proc["test"]:
        datetime.datetime.strptime(t, py)
    line = (REPO / "Tests" / "SensorTests" / "Golden" / "ethernet-mix.pcap.jsonl").read_text().splitlines()[0]
    datetime.datetime.strptime(json.loads(line)["timestamp"], py)
    assert conf["output.elasticsearch"]["index"].startswith("flowsentry-")
    assert conf["setup.template.pattern"] == json.loads(TEMPLATE.read_text())["index_patterns"][0]
