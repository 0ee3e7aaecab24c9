"""How the parts of a Suanli job that spans sites find each other.

Each part's run gets SUANLI_RENDEZVOUS_URL and SUANLI_RENDEZVOUS_TOKEN (a token scoped
to this part of this attempt of the job). A part's first rank publishes where it
listens, waits at the barrier until every part has published, and gets the membership:
every part's index, site, endpoints and share of the job's replicas, and a generation
that changes when a part leaves (a shrink). Standard library only.

    from suanli_rendezvous import Rendezvous
    rdv = Rendezvous.from_env()
    port = rdv.free_port()                # a port of this site's declared range
    rdv.publish([f"{rdv.address}:{port}"])
    m = rdv.barrier()                     # every part published: the membership
    init = rdv.torch_init(m)              # for torch.distributed.init_process_group(**init)

`python3 suanli_rendezvous.py demo` is a part that publishes, waits, and then exchanges
a line over TCP with every other part at the endpoints they published: what the tests
run to show the parts really reach each other. `... follow SECONDS` meets the others and
then says when the membership changes (a part left).
"""

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request


class RendezvousError(Exception):
    """The control plane refused (the message says why) or could not be reached."""


class Rendezvous:
    def __init__(self, url, token, timeout_s=90.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.declared = None
        self.index = None

    @classmethod
    def from_env(cls):
        url = os.environ.get("SUANLI_RENDEZVOUS_URL")
        token = os.environ.get("SUANLI_RENDEZVOUS_TOKEN")
        if not url or not token:
            raise RendezvousError("SUANLI_RENDEZVOUS_URL and SUANLI_RENDEZVOUS_TOKEN are not set: this run is not a part of a job that spans sites")
        return cls(url, token)

    def _call(self, method, path, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"authorization": "Bearer " + self.token, "content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout or 30) as res:
                answer = json.loads(res.read())
        except urllib.error.HTTPError as e:
            try:
                message = json.loads(e.read())["error"]["message"]
            except Exception:
                message = str(e)
            raise RendezvousError(f"{method} {path}: {e.code} {message}") from None
        except (urllib.error.URLError, OSError) as e:
            raise RendezvousError(f"{method} {path}: {e}") from None
        self.declared = answer.get("declared") or self.declared
        if answer.get("index") is not None:
            self.index = answer["index"]
        return answer

    def membership(self):
        """The membership as it stands, without waiting."""
        return self._call("GET", "")

    @property
    def address(self):
        """This site's first declared address (what the other parts reach it at)."""
        if self.declared is None:
            self.membership()
        return self.declared["addresses"][0]

    def free_port(self):
        """A port of this site's declared range that is free on this machine now."""
        if self.declared is None:
            self.membership()
        ports = self.declared["ports"]
        for port in range(ports["from"], ports["to"] + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("", port))
                    return port
                except OSError:
                    continue
        raise RendezvousError(f"no free port in this site's declared range {ports['from']}-{ports['to']}")

    def publish(self, endpoints):
        """Says where this part listens: host:port within its site's declared addresses and ports."""
        self._published = list(endpoints)
        return self._call("POST", "/publish", {"endpoints": self._published})

    def barrier(self, timeout_s=None):
        """Waits until every current part has published; the membership. Publishes again
        (with the last endpoints) if the control plane forgot them (a takeover)."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RendezvousError("the other parts did not all publish in time")
            try:
                m = self._call("POST", "/barrier", {"wait_s": min(30.0, max(0.0, left))}, timeout=min(30.0, max(0.0, left)) + 10)
            except RendezvousError as e:
                # A control plane taking over answers 503 for a moment, and too many calls 429: try again.
                if " 503 " in str(e) or " 429 " in str(e) or "Connection" in str(e):
                    time.sleep(1)
                    continue
                raise
            if m["ready"]:
                return m
            mine = m["members"][m["index"]] if m.get("index") is not None else None
            if mine is not None and not mine["endpoints"] and self._published is not None:
                self.publish(self._published)

    _published = None

    def report_metrics(self, step, compute_s, sync_s, loss=None, wait_s=0.0):
        """Reports an outer step (1, 2, …): its compute and synchronization seconds, of the
        synchronization the seconds spent waiting for slower parts, and the loss. The control
        plane sums them into the job's measured utilization (`suanli job show`)."""
        try:
            self._call("POST", "/metrics", {"step": step, "compute_s": compute_s, "sync_s": sync_s, "wait_s": min(wait_s, sync_s), "loss": loss})
        except RendezvousError as e:
            if " 409 " not in str(e):  # a repeat of a step already counted
                raise

    def publish_and_wait(self, endpoints, timeout_s=None):
        self.publish(endpoints)
        return self.barrier(timeout_s)

    @staticmethod
    def torch_init(m, backend="gloo"):
        """What torch.distributed.init_process_group needs to join the parts: one rank per
        part, the first part's first endpoint as the store. For gloo it also names the
        network interface that holds this part's published address (GLOO_SOCKET_IFNAME,
        unless already set): gloo would otherwise use whatever the host name resolves to,
        which the other sites may not reach. Gloo's own connections take ports the kernel
        picks on that interface, outside the site's declared range."""
        first = m["members"][0]["endpoints"][0]
        mine = m["members"][m["index"]]["endpoints"][0].rsplit(":", 1)[0]
        interface = interface_of(mine) if backend == "gloo" else None
        if interface is not None:
            os.environ.setdefault("GLOO_SOCKET_IFNAME", interface)
        return {"backend": backend, "init_method": f"tcp://{first}", "rank": m["index"], "world_size": len(m["members"])}


def interface_of(address):
    """The name of the network interface holding the IPv4 `address` here (Linux), or None."""
    try:
        packed = socket.inet_aton(address)
    except OSError:
        return None
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue  # an interface without an IPv4 address
            if answer[20:24] == packed:
                return name
    return None


def demo():
    """A part that publishes, meets the others, and exchanges a line with each over TCP."""
    rdv = Rendezvous.from_env()
    port = rdv.free_port()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((rdv.address, port))
    server.listen()
    m = rdv.publish_and_wait([f"{rdv.address}:{port}"])
    me = m["index"]
    print(f"part {me} of {len(m['members'])}, generation {m['generation']}: " + ", ".join(f"{x['index']}={x['site']}@{x['endpoints'][0]} share {x['share']:.2f}" for x in m["members"]), flush=True)
    # Every part sends its index to each higher one; each lower one is awaited on the listening socket.
    heard = set()
    for other in m["members"]:
        if other["index"] > me:
            host, p = other["endpoints"][0].rsplit(":", 1)
            for _ in range(50):
                try:
                    with socket.create_connection((host.strip("[]"), int(p)), timeout=5) as c:
                        c.sendall(f"hello from {me}\n".encode())
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise RendezvousError(f"could not reach part {other['index']} at {other['endpoints'][0]}")
    server.settimeout(60)
    while len(heard) < me:
        conn, _ = server.accept()
        with conn:
            line = conn.makefile().readline().strip()
            heard.add(line)
    print(f"part {me} heard: {sorted(heard)}", flush=True)
    server.close()


def follow(seconds):
    """A part that meets the others, then looks at the barrier twice a second and says when
    the membership changes (a part left): what a training loop does between outer steps."""
    rdv = Rendezvous.from_env()
    m = rdv.publish_and_wait([f"{rdv.address}:{rdv.free_port()}"])
    print(f"part {m['index']}: generation {m['generation']}, {len(m['members'])} parts", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rdv.barrier()
        if now["generation"] != m["generation"]:
            print(f"part {now['index']}: generation {now['generation']}, {len(now['members'])} parts: " + ", ".join(x["site"] for x in now["members"]), flush=True)
            return
    print(f"part {m['index']}: no change in {seconds} s", flush=True)


if __name__ == "__main__":
    try:
        if sys.argv[1:] == ["demo"]:
            demo()
        elif sys.argv[1:2] == ["follow"] and len(sys.argv) == 3:
            follow(float(sys.argv[2]))
        else:
            print(__doc__)
    except RendezvousError as e:
        print(f"rendezvous: {e}", file=sys.stderr)
        sys.exit(1)
