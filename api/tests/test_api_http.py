#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The API server on a real Unix socket, driven by Python requests-unixsocket
and raw sockets: exact status codes and fault messages, the payload limit,
malformed HTTP, keep-alive, pipelining, many clients, clients that vanish or
stall, and the socket-file rules. The server is api-test-server (the real
server, router and channel in front of a fake VMM).

usage: test_api_http.py API_TEST_SERVER
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

try:
    import requests_unixsocket
except ImportError:
    sys.exit("test_api_http.py: needs Debian's python3-requests-unixsocket "
             "(scripts/install-deps.sh) and Debian's /usr/bin/python3")

SERVER = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
WORK = tempfile.mkdtemp(prefix="ignis-api-http-")
TIMEOUT = 10


class Server:
    """One api-test-server process on its own socket."""

    def __init__(self, name, *args):
        self.path = os.path.join(WORK, name)
        self.proc = subprocess.Popen([SERVER, self.path, *args], stderr=subprocess.PIPE)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("api-test-server exited: " + self.proc.stderr.read().decode())
            try:
                connect(self.path).close()
                break
            except OSError:
                time.sleep(0.02)
        else:
            raise RuntimeError("api-test-server never listened on " + self.path)
        # The fds of a server with no client: what "no connection open" looks like.
        self.base_fds = open_fds(self.proc)
        while time.time() < deadline:
            time.sleep(0.05)
            now = open_fds(self.proc)
            if now == self.base_fds:
                return
            self.base_fds = now

    def url(self, path):
        return "http+unix://" + urllib.parse.quote(self.path, safe="") + path

    def stop(self):
        """SIGTERM: a clean exit that removes the socket file."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(TIMEOUT)
        err = self.proc.stderr.read().decode()
        return rc, err


def open_fds(proc):
    return len(os.listdir(f"/proc/{proc.pid}/fd"))


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def request_bytes(method, path, body=None, headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *headers]
    data = b""
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Reader:
    """Reads HTTP responses off a raw socket, one at a time. (Not makefile():
    a socket with a file object on it stays open after close().)"""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def _line(self):
        while b"\n" not in self.buf:
            if not self._fill():
                line, self.buf = self.buf, b""
                return line
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def _read(self, n):
        while len(self.buf) < n and self._fill():
            pass
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        status = self._line()
        if not status:
            return None
        version, code, *_ = status.decode().split(" ", 2)
        assert version == "HTTP/1.1", status
        headers = {}
        while True:
            line = self._line()
            if line in (b"\r\n", b""):
                break
            key, value = line.decode().split(":", 1)
            headers[key.strip().lower()] = value.strip()
        body = self._read(int(headers.get("content-length", "0")))
        return int(code), headers, body

    def at_eof(self):
        return not self.buf and not self._fill()


def fault(body):
    return json.loads(body)["fault_message"]


# ---------------------------------------------------------------- the tests

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def get_root_is_instance_info_with_firecrackers_headers(srv, http):
    r = http.get(srv.url("/"))
    assert r.status_code == 200, r.text
    assert r.json() == {"app_name": "Firecracker", "id": "api-test", "state": "Not started",
                        "vmm_version": "0.1.0"}, r.text
    assert r.headers["Server"] == "Firecracker API"
    assert r.headers["Connection"] == "keep-alive"
    assert r.headers["Content-Type"] == "application/json"
    assert int(r.headers["Content-Length"]) == len(r.content)


@test
def put_is_204_without_a_body_or_content_type(srv, http):
    r = http.put(srv.url("/machine-config"), json={"vcpu_count": 2, "mem_size_mib": 256})
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert "Content-Type" not in r.headers
    assert r.headers["Server"] == "Firecracker API"
    r = http.get(srv.url("/machine-config"))
    assert r.status_code == 200 and r.json()["vcpu_count"] == 2, r.text


ROUTER_ERRORS = [
    ("GET", "/foo", None, "Invalid request method and/or path: GET foo."),
    ("PUT", "/vm", "{}", "Invalid request method and/or path: PUT vm."),
    ("POST", "/actions", "{}", "Invalid request method and/or path: POST actions."),
    ("GET", "/machine-config?x=1", None, "Invalid request method and/or path: GET machine-config?x=1."),
    ("GET", "/", "{}", "GET request cannot have a body."),
    ("PUT", "/boot-source", None, "Empty PUT request."),
    ("PUT", "/boot-source", "", "Empty PUT request."),
    ("PATCH", "/vm", None, "Empty PATCH request."),
    ("PUT", "/drives/", '{"drive_id": "x"}', "The ID cannot be empty."),
    ("PUT", "/drives/root-fs", '{"drive_id": "root-fs"}',
     "API Resource IDs can only contain alphanumeric characters and underscores."),
    ("PUT", "/drives/rootfs", '{"drive_id": "other"}',
     "The id from the path does not match the id from the body!"),
    ("PATCH", "/network-interfaces/eth0", '{"iface_id": "eth1"}',
     "The id from the path does not match the id from the body!"),
    ("PUT", "/snapshot", "{}", "Missing snapshot operation type."),
]


@test
def router_errors_are_400_with_firecrackers_exact_words(srv, http):
    for method, path, body, message in ROUTER_ERRORS:
        r = http.request(method, srv.url(path), data=body,
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert r.headers["Content-Type"] == "application/json"
        assert fault(r.content) == message, (method, path, r.text)


@test
def bad_json_is_a_deserialization_error(srv, http):
    for body, detail in [("{", "line 1 column 1"), ("[1]", "invalid type: sequence"),
                         ('{"a": 1, "a": 2}', "duplicate")]:
        r = http.put(srv.url("/boot-source"), data=body)
        assert r.status_code == 400, r.text
        msg = fault(r.content)
        assert msg.startswith("An error occurred when deserializing the json body of a request: "), msg
        assert detail in msg and msg.endswith("."), msg


@test
def other_firecracker_endpoints_reach_the_vmm_not_404(srv, http):
    for method, path, body in [("PUT", "/balloon", "{}"), ("GET", "/balloon/statistics", None),
                               ("PUT", "/vsock", "{}"), ("PUT", "/mmds", "{}"),
                               ("PUT", "/entropy", "{}"), ("PUT", "/cpu-config", "{}"),
                               ("PUT", "/hotplug/memory", "{}")]:
        r = http.request(method, srv.url(path), data=body)
        assert r.status_code == 400, (path, r.status_code)
        assert "is not supported" in fault(r.content), r.text


@test
def vmm_fault_messages_are_json_escaped(srv, http):
    msg = 'quote " backslash \\ newline \n tab \t done'
    r = http.put(srv.url("/logger"), json={"fail": msg})
    assert r.status_code == 400
    assert fault(r.content) == msg, r.text


@test
def ids_and_bodies_reach_the_vmm(srv, http):
    body = {"drive_id": "rootfs", "path_on_host": "/img", "is_root_device": True,
            "is_read_only": False}
    assert http.put(srv.url("/drives/rootfs"), json=body).status_code == 204
    log = http.get(srv.url("/vm/config")).json()["x-requests"]
    # The last entry is the GET /vm/config that asked.
    assert log[-2] == {"action": "PUT /drives/{id}", "id": "rootfs", "body": body}, log[-2]


def payload(n):
    """A JSON object of exactly n bytes."""
    head = '{"x": "'
    return head + "a" * (n - len(head) - 2) + '"}'


@test
def payload_at_the_limit_passes_and_one_byte_more_is_413(srv, http):
    r = http.put(srv.url("/boot-source"), data=payload(51200))
    assert r.status_code == 204, r.text
    r = http.put(srv.url("/boot-source"), data=payload(51201))
    assert r.status_code == 413, r.status_code
    assert fault(r.content) == ("Request payload with size 51201 is larger than the limit of "
                                "51200 allowed by server."), r.text


@test
def payload_too_large_closes_the_connection(srv, http):
    s = connect(small.path)
    s.sendall(request_bytes("PUT", "/boot-source", payload(1025)))
    rd = Reader(s)
    code, headers, body = rd.response()
    assert code == 413 and headers["connection"] == "close"
    assert fault(body) == ("Request payload with size 1025 is larger than the limit of 1024 "
                           "allowed by server."), body
    assert rd.at_eof(), "connection left open after 413"
    s.close()
    # The limit comes from --max-payload; a body at it is served.
    s = connect(small.path)
    s.sendall(request_bytes("PUT", "/boot-source", payload(1024)))
    assert Reader(s).response()[0] == 204
    s.close()


@test
def a_chunked_body_over_the_limit_is_413(srv, http):
    s = connect(small.path)
    chunk = b"a" * 800
    s.sendall(b"PUT /boot-source HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
              b"320\r\n" + chunk + b"\r\n" + b"320\r\n" + chunk + b"\r\n0\r\n\r\n")
    rd = Reader(s)
    code, _, body = rd.response()
    assert code == 413, (code, body)
    assert "larger than the limit of 1024" in fault(body)
    assert rd.at_eof()
    s.close()


@test
def a_chunked_body_within_the_limit_is_served(srv, http):
    s = connect(srv.path)
    s.sendall(b"PUT /drives/c1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\n{\"dri\r\n11\r\nve_id\": \"c1\"}    \r\n0\r\n\r\n")
    assert Reader(s).response()[0] == 204
    s.close()


@test
def malformed_http_is_400_and_closes(srv, http):
    cases = [
        (b"GARBAGE\r\n\r\n", "invalid HTTP method"),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "invalid character in header"),
        (b"GET / HTTP/x.1\r\n\r\n", "invalid HTTP version"),
        (b"PUT /boot-source HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "content-length"),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", "longer than 4096 bytes"),
    ]
    for raw, detail in cases:
        s = connect(srv.path)
        s.sendall(raw)
        rd = Reader(s)
        code, headers, body = rd.response()
        assert code == 400, (raw[:40], code)
        msg = fault(body)
        assert msg.startswith("Malformed HTTP request: ") and detail in msg, msg
        assert headers["connection"] == "close"
        assert rd.at_eof(), "connection left open after malformed request"
        s.close()


@test
def keep_alive_serves_many_requests_on_one_connection(srv, http):
    s = connect(srv.path)
    rd = Reader(s)
    for i in range(20):
        s.sendall(request_bytes("GET", "/version" if i % 2 else "/"))
        code, headers, body = rd.response()
        assert code == 200 and headers["connection"] == "keep-alive", (i, code)
    s.sendall(request_bytes("PUT", "/nowhere"))
    assert rd.response()[0] == 400, "router errors keep the connection"
    s.sendall(request_bytes("GET", "/version"))
    assert rd.response()[0] == 200
    s.close()


@test
def pipelined_requests_are_answered_in_order(srv, http):
    reqs = [("GET", "/", None, 200), ("PUT", "/nowhere", None, 400),
            ("GET", "/version", None, 200), ("PUT", "/drives/p1", '{"drive_id": "p1"}', 204),
            ("GET", "/vm", None, 400), ("PATCH", "/machine-config", '{"vcpu_count": 1}', 204),
            ("GET", "/machine-config", None, 200)]
    s = connect(srv.path)
    s.sendall(b"".join(request_bytes(m, p, b) for m, p, b, _ in reqs))
    rd = Reader(s)
    for method, path, _, want in reqs:
        code, _, body = rd.response()
        assert code == want, (method, path, code, body)
    s.close()


@test
def a_long_pipeline_from_a_client_that_reads_late_is_throttled_not_dropped(srv, http):
    n = 3000  # ~600 KB of responses: past the server's write high-water mark
    s = connect(srv.path)
    data = request_bytes("GET", "/") * n
    sender = threading.Thread(target=s.sendall, args=(data,))
    sender.start()
    time.sleep(0.5)  # let responses pile up unread
    rd = Reader(s)
    for i in range(n):
        code, _, body = rd.response()
        assert code == 200 and b"api-test" in body, (i, code)
    sender.join()
    s.close()


@test
def twenty_concurrent_clients(srv, http):
    errors = []

    def client(i):
        # requests-unixsocket keeps one connection per URL: two URLs, two connections.
        try:
            with requests_unixsocket.Session() as sess:
                for j in range(25):
                    r = sess.put(srv.url(f"/drives/c{i}"), json={"drive_id": f"c{i}", "n": j})
                    assert r.status_code == 204, r.text
                    r = sess.get(srv.url("/"))
                    assert r.status_code == 200 and r.json()["id"] == "api-test"
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    drives = {d["drive_id"]: d.get("n") for d in http.get(srv.url("/vm/config")).json()["drives"]}
    assert all(drives.get(f"c{i}") == 24 for i in range(20)), drives


@test
def a_client_that_disconnects_mid_request_is_dropped(srv, http):
    for partial in [b"PUT /boot-source HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"kern",
                    b"GET / HT", b"PUT /drives/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"]:
        s = connect(srv.path)
        s.sendall(partial)
        s.close()
    # Reset instead of close: the server sees ECONNRESET.
    s = connect(srv.path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.sendall(b"PUT /boot-source HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
    s.close()
    assert http.get(srv.url("/")).status_code == 200


@test
def a_client_that_disconnects_mid_response_is_dropped(srv, http):
    for _ in range(3):
        s = connect(srv.path)
        s.sendall(request_bytes("GET", "/vm/config") * 500)
        time.sleep(0.05)
        s.close()  # hundreds of KB of responses unread
    assert http.get(srv.url("/")).status_code == 200


@test
def a_half_closed_client_still_gets_its_answers(srv, http):
    s = connect(srv.path)
    s.sendall(request_bytes("GET", "/") + request_bytes("GET", "/version"))
    s.shutdown(socket.SHUT_WR)
    rd = Reader(s)
    assert rd.response()[0] == 200
    assert rd.response()[0] == 200
    assert rd.at_eof()
    s.close()


@test
def a_slow_client_does_not_block_others(srv, http):
    slow = connect(srv.path)
    body = b'{"kernel_image_path": "/vmlinux"}'
    req = request_bytes("PUT", "/boot-source", body)
    slow.sendall(req[:len(req) - 10])  # everything but the end of the body
    t0 = time.time()
    with requests_unixsocket.Session() as sess:
        for _ in range(20):
            assert sess.get(srv.url("/")).status_code == 200
    assert time.time() - t0 < 5, "other clients waited for the slow one"
    slow.sendall(req[len(req) - 10:])
    assert Reader(slow).response()[0] == 204
    slow.close()


@test
def http10_and_connection_close_end_the_connection(srv, http):
    for raw in [b"GET / HTTP/1.0\r\n\r\n",
                b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"]:
        s = connect(srv.path)
        s.sendall(raw)
        rd = Reader(s)
        code, headers, _ = rd.response()
        assert code == 200 and headers["connection"] == "close", (raw, headers)
        assert rd.at_eof()
        s.close()
    s = connect(srv.path)
    s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + request_bytes("GET", "/"))
    rd = Reader(s)
    assert rd.response()[1]["connection"] == "keep-alive"
    assert rd.response()[0] == 200
    s.close()


@test
def expect_100_continue_is_answered(srv, http):
    s = connect(srv.path)
    body = json.dumps({"drive_id": "e1", "pad": "x" * 2000}).encode()
    s.sendall(request_bytes("PUT", "/drives/e1", None,
                            ["Expect: 100-continue", "Content-Type: application/json",
                             f"Content-Length: {len(body)}"]))
    rd = Reader(s)
    code, _, _ = rd.response()
    assert code == 100, code
    s.sendall(body)
    assert rd.response()[0] == 204
    s.close()


@test
def past_the_connection_limit_a_client_is_told_503(srv, http):
    http.close()  # its pooled connections count too
    time.sleep(0.2)
    already = open_fds(srv.proc) - srv.base_fds
    held = []
    try:
        for _ in range(256 - already):
            held.append(connect(srv.path))
        # Once the last one is answered, the server has accepted all of them.
        held[-1].sendall(request_bytes("GET", "/"))
        assert Reader(held[-1]).response()[0] == 200
        extra = connect(srv.path)
        rd = Reader(extra)
        code, headers, body = rd.response()
        assert code == 503 and "Too many open connections" in fault(body), (code, body)
        assert headers["connection"] == "close"
        assert rd.at_eof()
        extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    assert http.get(srv.url("/")).status_code == 200


@test
def closed_connections_release_their_fds(srv, http):
    time.sleep(0.2)
    before = open_fds(srv.proc)
    for i in range(50):
        s = connect(srv.path)
        if i % 2:
            s.sendall(request_bytes("GET", "/"))
            Reader(s).response()
        s.close()
    deadline = time.time() + 5
    while open_fds(srv.proc) > before and time.time() < deadline:
        time.sleep(0.05)
    assert open_fds(srv.proc) <= before, (before, open_fds(srv.proc))


@test
def a_live_socket_is_in_use_and_left_alone(srv, http):
    p = subprocess.run([SERVER, srv.path], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 1 and "socket in use" in p.stderr, (p.returncode, p.stderr)
    assert http.get(srv.url("/")).status_code == 200, "the first server was disturbed"


@test
def a_stale_socket_is_replaced_and_stop_removes_it(srv, http):
    path = os.path.join(WORK, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens: what a crashed VMM leaves
    assert os.path.exists(path)
    other = Server("stale.sock")
    with requests_unixsocket.Session() as sess:
        assert sess.get(other.url("/")).status_code == 200
    rc, err = other.stop()
    assert rc == 0, err
    assert not os.path.exists(path), "socket file left after a clean stop"


@test
def a_path_that_is_not_a_socket_is_refused(srv, http):
    path = os.path.join(WORK, "regular-file")
    with open(path, "w") as f:
        f.write("keep me")
    p = subprocess.run([SERVER, path], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 1 and "not a socket" in p.stderr, p.stderr
    assert open(path).read() == "keep me"


def closed_by_server(s, within):
    """True if the server closes @s (EOF) within @within seconds."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


@test
def idle_and_trickling_connections_time_out(srv, http):
    # quick: idle 300 ms, a request must arrive whole within 500 ms.
    idle = connect(quick.path)
    assert closed_by_server(idle, 3), "an idle connection stayed open"
    # A client that keeps sending requests is never idle.
    busy = connect(quick.path)
    rd = Reader(busy)
    for _ in range(8):
        busy.sendall(request_bytes("GET", "/"))
        assert rd.response()[0] == 200
        time.sleep(0.1)
    busy.close()
    # One byte every 100 ms is activity, but the request never completes.
    slow = connect(quick.path)
    start, gone = time.time(), False
    for byte in request_bytes("GET", "/") * 10:
        try:
            slow.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            gone = True
            break
        if time.time() - start > 3:
            break
        time.sleep(0.1)
    assert gone or closed_by_server(slow, 1), "a trickling request was never cut off"
    assert time.time() - start < 3


@test
def connections_held_idle_do_not_lock_the_api_out(srv, http):
    held = [connect(quick.path) for _ in range(256)]
    time.sleep(1.5)  # past the idle timeout: every one is closed
    s = connect(quick.path)
    s.sendall(request_bytes("GET", "/"))
    assert Reader(s).response()[0] == 200
    s.close()
    for h in held:
        h.close()


def main():
    global small, quick
    srv = Server("api.sock")
    small = Server("small.sock", "--max-payload", "1024")
    quick = Server("quick.sock", "--idle-timeout-ms", "300", "--request-timeout-ms", "500")
    http = requests_unixsocket.Session()
    passed = failed = 0
    for fn in TESTS:
        try:
            fn(srv, http)
            print(f"PASS: {fn.__name__}")
            passed += 1
        except Exception:  # noqa: BLE001 - every failure is reported, the run goes on
            print(f"FAIL: {fn.__name__}")
            traceback.print_exc(file=sys.stdout)
            failed += 1
        if srv.proc.poll() is not None:
            print(f"FAIL: api-test-server died after {fn.__name__}: {srv.proc.stderr.read().decode()}")
            failed += 1
            break
    http.close()
    for s in (srv, small, quick):
        if s.proc.poll() is None:
            rc, err = s.stop()
            if rc != 0:
                print(f"FAIL: api-test-server exited {rc} on SIGTERM: {err}")
                failed += 1
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
