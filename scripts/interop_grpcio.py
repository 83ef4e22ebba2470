#!/usr/bin/env python3
"""Interop check: a client generated from proto/ by Python grpcio-tools talks to the real server.

Starts `hotline-router serve` on a free port, generates Python stubs from
proto/hotline/routing/v1/routing.proto with grpc_tools.protoc, and checks Route, RouteBatch,
GetRuleSet, grpc.health.v1 and reflection (v1alpha, which older clients speak). Exits non-zero on
any failure. Used by .ci/run; needs `pip install grpcio grpcio-tools grpcio-health-checking
grpcio-reflection`.

    python3 scripts/interop_grpcio.py [path/to/hotline-router]
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = "我在高新区买的房子还没过户，物业公司催我交物业费，未过户的房产物业费应该由谁交？"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "hotline-router")
    out = tempfile.mkdtemp(prefix="hotline-py-")
    from grpc_tools import protoc
    import grpc_tools
    wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(["protoc", f"-I{os.path.join(ROOT, 'proto')}", f"-I{wkt}", f"--python_out={out}",
                      f"--grpc_python_out={out}", "hotline/routing/v1/routing.proto"])
    assert rc == 0, f"protoc failed: {rc}"
    sys.path.insert(0, out)

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    from hotline.routing.v1 import routing_pb2 as pb
    from hotline.routing.v1 import routing_pb2_grpc as rpc

    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--rules", os.path.join(ROOT, "rules"),
                               "--shutdown-grace-ms", "0", "--store", "none"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # The gRPC address is the "listening on" line; the console's and metrics' come before it.
        line = ""
        while not line.startswith("listening on "):
            line = server.stdout.readline()
            assert line, "server exited before listening"
            line = line.strip()
        addr = line[len("listening on "):]
        channel = grpc.insecure_channel(addr)
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = rpc.RoutingServiceStub(channel)

        r = stub.Route(pb.RouteRequest(text=REFERENCE, request_id="py-1", channel=pb.CHANNEL_WEB), timeout=5)
        assert r.id == "py-1" and r.outcome == pb.OUTCOME_DISPATCH, r
        assert r.department.id == "housing", r.department
        assert any(g.title == "物业管理条例" and g.article == "第四十一条" and g.text for g in r.regulations)
        print(f"Route: {r.department.name} {r.rule_id} {[g.title + g.article for g in r.regulations]}")

        try:
            stub.Route(pb.RouteRequest(text="  "), timeout=5)
            raise AssertionError("blank text accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
            print(f"Route blank: {e.code().name}: {e.details()}")

        # A RouteRequest whose field 1 (text) is not UTF-8, sent as raw bytes.
        raw = channel.unary_unary("/hotline.routing.v1.RoutingService/Route",
                                  request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            raw(b"\x0a\x02\xff\xfe", timeout=5)
            raise AssertionError("invalid UTF-8 accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
            print(f"Route non-UTF-8: {e.code().name}: {e.details()}")

        b = stub.RouteBatch(pb.RouteBatchRequest(requests=[
            pb.RouteRequest(request_id="a", text="公司三个月没发工资了"),
            pb.RouteRequest(request_id="b", text=""),
        ]), timeout=5)
        assert [i.id for i in b.items] == ["a", "b"]
        assert b.items[0].WhichOneof("result") == "decision" and b.items[0].decision.department.id == "hrss"
        assert b.items[1].WhichOneof("result") == "error" and b.items[1].error.code == "INVALID_ARGUMENT"
        print("RouteBatch: decision + per-item error")

        info = stub.GetRuleSet(pb.GetRuleSetRequest(), timeout=5)
        assert info.version == r.rules_version and info.rule_count > 0, info
        print(f"GetRuleSet: version {info.version}, {info.rule_count} rules, {info.regulation_count} regulations")

        health = health_pb2_grpc.HealthStub(channel)
        for service in ["", "hotline.routing.v1.RoutingService"]:
            h = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert h.status == health_pb2.HealthCheckResponse.SERVING, (service, h)
        print("Health: SERVING")

        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = [s.name for reply in replies for s in reply.list_services_response.service]
        assert "hotline.routing.v1.RoutingService" in names, names
        print(f"Reflection v1alpha: {names}")
        print("interop ok")
    finally:
        server.terminate()
        code = server.wait(timeout=10)
        assert code == 0, f"server exited {code}"


if __name__ == "__main__":
    main()
