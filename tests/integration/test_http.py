"""The HTTP API of `slotwise serve --http`, end to end: a real service and real agents, tokens
from files, the operations, paging and filters, the metrics parsed by Prometheus's own parser,
the health checks; and the API fuzzed against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Children, run_cli, until
from tests.integration.test_serve import PEOPLE, Service, at, check_schedule, meeting, scenario_file

TOKEN = "t" * 16 + "0123456789abcdef0123456789abcdef"


class Api:
    def __init__(self, url: str, token: str | None = TOKEN) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        if (token or self.token) is not None:
            request.add_header("Authorization", f"Bearer {token or self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        text = raw.decode()
        return status, json.loads(text) if text.startswith(("{", "[")) else text


def start(children: Children, *extra: str) -> tuple[Service, Api]:
    tokens = children.workdir / "tokens"
    tokens.mkdir()
    (tokens / "ops.token").write_text(TOKEN + "\n")
    svc = Service(children, scenario_file(children.workdir))
    svc.extra = ["--http", "127.0.0.1:0", "--http-tokens", str(tokens), *extra]
    svc.start()
    for p in PEOPLE:
        svc.agent(p)
    svc.wait_connected(len(PEOPLE))
    until(lambda: "HTTP API at" in children.log("serve1"), "the HTTP address said")
    found = re.search(r"HTTP API at (http://\S+) ", children.log("serve1"))
    assert found is not None
    return svc, Api(found.group(1))


@pytest.fixture
def api(children: Children) -> Iterator[Api]:
    yield start(children)[1]


def test_the_operations_over_http_with_tokens_paging_filters_and_metrics(children: Children) -> None:
    svc, api = start(children)
    assert api.call("GET", "/healthz", token="")[0] == 200 and api.call("GET", "/readyz", token="")[0] == 200
    refused = api.call("GET", "/v1/status", token="not-the-token")
    assert refused[0] == 401 and refused[1]["kind"] == "unauthorized"
    assert Api(api.url, token=None).call("GET", "/v1/meetings")[0] == 401
    assert Api(api.url, token=None).call("GET", "/metrics")[0] == 401

    status, added = api.call("POST", "/v1/meetings", {"meetings": [meeting(f"m{i}", "ana", "bo") for i in range(5)]
                                                      + [meeting("solo", "di")], "wait": 30})
    assert status == 200 and [e["status"] for e in added["meetings"]] == ["scheduled"] * 6
    status, bad = api.call("POST", "/v1/meetings", {"meetings": [meeting("x", "ana", "zed")]})
    assert status == 422 and bad["problems"][0]["path"] == "meetings[0].invitees[1]"
    assert api.call("POST", "/v1/meetings", {"meetings": [], "extra": 1})[0] == 400
    assert api.call("GET", "/v1/meetings/nope")[0] == 404

    pages: list[str] = []
    after = ""
    while True:
        status, page = api.call("GET", f"/v1/meetings?limit=2{after}")
        assert status == 200 and len(page["meetings"]) <= 2
        pages += [e["id"] for e in page["meetings"]]
        if page["next"] is None:
            break
        after = f"&after={page['next']}"
    assert pages == sorted(["solo", *(f"m{i}" for i in range(5))])
    assert [e["id"] for e in api.call("GET", "/v1/meetings?person=di")[1]["meetings"]] == ["solo"]

    status, moved = api.call("POST", "/v1/meetings/solo/move", {"not_before": at(30), "not_after": at(33), "wait": 30})
    assert status == 200 and moved["meetings"][0]["start"] == at(30)
    assert api.call("POST", "/v1/meetings/solo/retry", {})[0] == 409  # scheduled: nothing to retry
    status, cancelled = api.call("DELETE", "/v1/meetings/m0")
    assert status == 200 and cancelled["meetings"][0]["status"] == "cancelled"
    status, listed = api.call("GET", "/v1/meetings?status=scheduled")
    assert {e["id"] for e in listed["meetings"]} == {"m1", "m2", "m3", "m4", "solo"}
    check_schedule(svc_scenario(svc), api.call("GET", "/v1/meetings")[1]["meetings"])

    status, text = api.call("GET", "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    value = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert value[("slotwise_meetings", (("status", "scheduled"),))] == 5
    assert value[("slotwise_meetings", (("status", "cancelled"),))] == 1
    assert value[("slotwise_agents", (("state", "connected"),))] == len(PEOPLE)
    assert value[("slotwise_negotiation_seconds_count", ())] >= 6
    assert value[("slotwise_store_commit_seconds_count", (("what", "decide"),))] >= 6
    assert value[("slotwise_admin_request_seconds_count", (("door", "http"), ("op", "add")))] == 2  # not the 400
    # The same service, from the admin socket: one desk behind both doors.
    via_cli = json.loads(svc.cli("meetings", "get", "solo").stdout)
    assert via_cli == api.call("GET", "/v1/meetings/solo")[1]["meetings"]


def svc_scenario(svc: Service) -> Any:
    from slotwise.shared.scenario import load_scenario

    return load_scenario(svc.scenario)


def test_http_on_a_non_loopback_address_without_tokens_is_refused(tmp_path: Path) -> None:
    path = scenario_file(tmp_path)
    done = run_cli("serve", str(path), "--bind", f"ipc://{tmp_path}/ag", "--admin", f"ipc://{tmp_path}/adm",
                   "--store", str(tmp_path / "s.db"), "--http", "0.0.0.0:0", timeout=30)
    assert done.returncode == 2
    assert "refusing to serve HTTP on 0.0.0.0:0 without --http-tokens" in done.stderr and "Traceback" not in done.stderr


# --- schemathesis: the API against its own OpenAPI document ----------------------------------------


@pytest.fixture(scope="module")
def running() -> Iterator[Api]:
    with tempfile.TemporaryDirectory(prefix="sw-") as folder:
        kids = Children(Path(folder))
        try:
            yield start(kids)[1]
        finally:
            kids.kill_all()


def test_the_api_answers_as_its_openapi_document_says(running: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every answer is one the document declares, with a body of the declared shape, and no
    # request, however odd, is answered 500: schemathesis's checks, over every operation.
    from hypothesis import given
    from schemathesis.specs.openapi.checks import positive_data_acceptance
    from schemathesis.transport import requests as sending

    # caldav's HTTP client installs urllib3-future, whose pools schemathesis cannot count (it
    # counts them only to tell a dropped keep-alive connection, which it then resends).
    monkeypatch.setattr(sending, "_count_opened_connections", lambda session: 0)

    schema = schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def answered_as_documented(case: Any) -> None:
            # Not "every schema-valid request is accepted": a schema cannot say that invitees
            # must be participants; those are answered 422 with the field path, as documented.
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                                   excluded_checks=[positive_data_acceptance])

        answered_as_documented()


def _certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl."""
    import subprocess

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=slotwise test CA")
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
                "-subj", f"/CN={who}")
        (folder / f"{who}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{who}.pem", "-days", "2", "-extfile", f"{who}.ext")
    return {name: folder / name for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl to make certificates with")
def test_mutual_tls_admits_a_client_certificate_and_refuses_a_client_without_one(children: Children) -> None:
    import ssl

    certs = _certificates(children.workdir)
    svc = Service(children, scenario_file(children.workdir))
    svc.extra = ["--http", "127.0.0.1:0", "--http-tls-cert", str(certs["server.pem"]),
                 "--http-tls-key", str(certs["server.key"]), "--http-client-ca", str(certs["ca.pem"])]
    svc.start()
    until(lambda: "HTTP API at" in children.log("serve1"), "the HTTP address said")
    found = re.search(r"HTTP API at (https://\S+) ", children.log("serve1"))
    assert found is not None
    trusting = ssl.create_default_context(cafile=str(certs["ca.pem"]))
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(found.group(1) + "/v1/status", context=trusting, timeout=30).read()
    trusting.load_cert_chain(str(certs["client.pem"]), str(certs["client.key"]))
    with urllib.request.urlopen(found.group(1) + "/v1/status", context=trusting, timeout=30) as answer:
        assert answer.status == 200 and json.loads(answer.read())["participants"]["expected"] == len(PEOPLE)
