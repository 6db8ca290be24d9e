"""A Tillit gRPC client in Python: authenticate as a service account, register an asset,
read it back with the consistency token, report an incident.

Stubs are generated from the repository's proto/ at start (grpcio-tools), so this file
is the whole client. Settings come from the environment:

    TILLIT_IDENTITY    host:port of identity   (default 127.0.0.1:50051)
    TILLIT_ASSETS      host:port of assets     (default 127.0.0.1:50052)
    TILLIT_INCIDENTS   host:port of incidents  (default 127.0.0.1:50053)
    TILLIT_CLIENT_ID, TILLIT_CLIENT_SECRET   the service account's credentials
    TILLIT_TENANT      tenant of the asset     (default: the service account's own)

Run: python clients/python/tillit_example.py   (prints one JSON line; exit 0 on success)
"""

import importlib
import json
import os
import pathlib
import sys
import tempfile
import uuid

import grpc
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"


def generate_stubs():
    """Compiles every .proto under proto/ into a temporary package directory."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="tillit-stubs-"))
    files = [str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto")]
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    code = protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}",
                        f"--grpc_python_out={out}", *files])
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, str(out))
    return lambda name: importlib.import_module(name)


def main():
    load = generate_stubs()
    identity_pb = load("tillit.identity.v1.identity_service_pb2")
    identity_grpc = load("tillit.identity.v1.identity_service_pb2_grpc")
    assets_pb = load("tillit.assets.v1.assets_service_pb2")
    assets_events = load("tillit.assets.v1.assets_events_pb2")
    assets_grpc = load("tillit.assets.v1.assets_service_pb2_grpc")
    incidents_pb = load("tillit.incidents.v1.incidents_service_pb2")
    incidents_grpc = load("tillit.incidents.v1.incidents_service_pb2_grpc")

    env = os.environ.get
    identity = identity_grpc.IdentityServiceStub(
        grpc.insecure_channel(env("TILLIT_IDENTITY", "127.0.0.1:50051")))
    assets = assets_grpc.AssetsServiceStub(
        grpc.insecure_channel(env("TILLIT_ASSETS", "127.0.0.1:50052")))
    incidents = incidents_grpc.IncidentsServiceStub(
        grpc.insecure_channel(env("TILLIT_INCIDENTS", "127.0.0.1:50053")))

    # 1. A service account trades its credentials for a 15-minute access token.
    issued = identity.IssueServiceToken(identity_pb.IssueServiceTokenRequest(
        client_id=env("TILLIT_CLIENT_ID"), client_secret=env("TILLIT_CLIENT_SECRET")))
    auth = [("authorization", f"Bearer {issued.access_token}")]
    me = identity.WhoAmI(identity_pb.WhoAmIRequest(), metadata=auth)

    # 2. A command with an idempotency key: retrying it after a timeout or UNAVAILABLE
    #    with the same key cannot register the asset twice.
    key = str(uuid.uuid4())
    request = assets_pb.RegisterAssetRequest(
        tenant_id=env("TILLIT_TENANT", me.tenant_id), name=f"Python-registered {key[:8]}",
        kind=assets_pb.ASSET_KIND_SERVICE,
        classification_rationale="registered by the example client",
        classification=assets_events.Classification(confidentiality=2, integrity=2, availability=3))
    for attempt in range(3):
        try:
            registered = assets.RegisterAsset(
                request, metadata=auth + [("idempotency-key", key)], timeout=10)
            break
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or attempt == 2:
                raise

    # 3. Read-your-writes: the response's consistency token makes the read wait until the
    #    service's read model has the asset.
    fetched = assets.GetAsset(assets_pb.GetAssetRequest(
        asset_id=registered.asset.asset_id, consistency=registered.consistency), metadata=auth)
    assert fetched.asset.name == request.name, fetched

    # 4. Report an incident that names the asset in its description.
    reported = incidents.ReportIncident(incidents_pb.ReportIncidentRequest(
        kind=incidents_pb.INCIDENT_KIND_SECURITY_INCIDENT,
        title="Suspicious logins seen by the monitoring product",
        description=f"Alerts on asset {registered.asset.asset_id}"),
        metadata=auth + [("idempotency-key", f"{key}-incident")])

    print(json.dumps({
        "subject": me.subject,
        "asset_id": fetched.asset.asset_id,
        "asset_version": fetched.asset.version,
        "incident_id": reported.incident_id,
    }))


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as error:
        sys.exit(f"{error.code().name}: {error.details()}")
