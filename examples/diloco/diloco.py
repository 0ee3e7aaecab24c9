"""DiLoCo across the sites of a Suanli spanning job, in PyTorch on CPU.

Each part of the job is one DiLoCo worker: it meets the others through the control
plane's rendezvous (examples/rendezvous), forms a gloo group with them, and then, for
every outer step, trains H inner steps with AdamW on its own shard of the data, takes
the pseudo-gradient (where the outer model is minus where its inner steps led), averages
it across the parts weighted by each part's share of the job's replicas (optionally sent
as int8), and applies it to the outer model with Nesterov momentum (Douillard et al.,
DiLoCo, 2023). Each outer step's compute seconds, synchronization seconds (and of them,
the wait for slower parts at a barrier before the exchange) and loss go to
the control plane (POST <rendezvous>/metrics), which shows the measured utilization next
to the planned one (`suanli job show`).

    python3 diloco.py --outer-steps 20 --inner-steps 25 [--int8] [--hidden 256]
    python3 diloco.py --measure-inner-step 30 [--hidden 256]   # no rendezvous: what `suanli plan span` needs

The second form times inner steps alone on this machine and prints one JSON line with the
model's parameter count and the seconds of one inner step (`--step-time` of `suanli plan
span`, with `--site ID:measured:COUNT` for hardware outside the GPU catalog).

The model is a small MLP learning a fixed random teacher network: the loss falls from
the first outer step, and its size (--hidden) sets the bytes each synchronization moves.
"""

import argparse
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rendezvous"))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from suanli_rendezvous import Rendezvous  # noqa: E402


def teacher_batch(gen, teacher, batch, dim):
    x = torch.randn(batch, dim, generator=gen)
    with torch.no_grad():
        y = teacher(x)
    return x, y


def mlp(dim, hidden):
    return torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))


def average(tensors, share, int8, world):
    """The share-weighted average of `tensors` over the parts (in place), in one exchange: the
    tensors travel as one flat buffer, so a synchronization pays the WAN's round trips once,
    not once per tensor. As int8, each tensor keeps its own scale."""
    sizes = [t.numel() for t in tensors]
    if not int8:
        flat = torch.cat([t.reshape(-1) for t in tensors]).mul_(share)
        dist.all_reduce(flat)
    else:
        scales = torch.stack([t.abs().max().clamp(min=1e-12) / 127.0 for t in tensors])
        q = torch.cat([torch.round(t.reshape(-1) / sc).clamp(-127, 127).to(torch.int8) for t, sc in zip(tensors, scales)])
        qs = [torch.empty_like(q) for _ in range(world)]
        all_scales = [torch.empty_like(scales) for _ in range(world)]
        shares = [torch.empty(1) for _ in range(world)]
        dist.all_gather(qs, q)
        dist.all_gather(all_scales, scales)
        dist.all_gather(shares, torch.tensor([share]))
        counts = torch.tensor(sizes)
        flat = torch.zeros(q.numel())
        for qi, si, wi in zip(qs, all_scales, shares):
            flat.add_(qi.to(torch.float32) * torch.repeat_interleave(si, counts) * wi)  # each tensor's scale over its elements
    for t, part in zip(tensors, torch.split(flat, sizes)):
        t.copy_(part.view_as(t))


def form_group(rdv, after_generation=None):
    """Publishes a fresh endpoint, waits for every part (and, after a part left, for the
    new generation), and joins the parts' gloo group: the membership."""
    m = rdv.publish_and_wait([f"{rdv.address}:{rdv.free_port()}"])
    while after_generation is not None and m["generation"] == after_generation:
        time.sleep(0.5)
        m = rdv.barrier()
    init = Rendezvous.torch_init(m)
    dist.init_process_group(**init, timeout=datetime.timedelta(seconds=60))
    share = m["members"][m["index"]]["share"]
    print(f"part {m['index']} of {len(m['members'])} (share {share:.2f}), generation {m['generation']}", flush=True)
    return m


def measure_inner_step(a, steps):
    """Times `steps` inner steps (after a few to warm up) of one replica here: one JSON line."""
    torch.manual_seed(1234)
    teacher = mlp(a.dim, 64)
    inner = mlp(a.dim, a.hidden)
    opt = torch.optim.AdamW(inner.parameters(), lr=a.inner_lr)
    gen = torch.Generator().manual_seed(100)

    def step():
        x, y = teacher_batch(gen, teacher, a.batch, a.dim)
        loss = torch.nn.functional.mse_loss(inner(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - t0) / steps
    params = sum(p.numel() for p in inner.parameters())
    print(json.dumps({"params": params, "batch": a.batch, "hidden": a.hidden, "inner_step_s": seconds}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outer-steps", type=int, default=20)
    ap.add_argument("--inner-steps", type=int, default=25, help="H: inner steps between synchronizations")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--inner-lr", type=float, default=3e-3)
    ap.add_argument("--outer-lr", type=float, default=0.7)
    ap.add_argument("--outer-momentum", type=float, default=0.9)
    ap.add_argument("--int8", action="store_true", help="send pseudo-gradients as int8 (per-tensor scale)")
    ap.add_argument("--measure-inner-step", type=int, metavar="STEPS", help="only time STEPS inner steps here and print them as JSON (no rendezvous)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.measure_inner_step is not None:
        if a.measure_inner_step < 1:
            ap.error("--measure-inner-step: must be 1 or more")
        measure_inner_step(a, a.measure_inner_step)
        return

    rdv = Rendezvous.from_env()
    m = form_group(rdv)

    torch.manual_seed(1234)  # the same teacher and the same initial model on every part
    teacher = mlp(a.dim, 64)
    outer = mlp(a.dim, a.hidden)
    inner = mlp(a.dim, a.hidden)
    inner.load_state_dict(outer.state_dict())
    params = sum(p.numel() for p in outer.parameters())
    momentum = [torch.zeros_like(p) for p in outer.parameters()]
    gen = torch.Generator().manual_seed(100 + m["index"])  # each part its own shard
    opt = torch.optim.AdamW(inner.parameters(), lr=a.inner_lr)
    eval_gen = torch.Generator().manual_seed(7)
    x_eval, y_eval = teacher_batch(eval_gen, teacher, 1024, a.dim)

    step = 0
    while step < a.outer_steps:
        step += 1
        rank, world = m["index"], len(m["members"])
        share = m["members"][rank]["share"]
        t0 = time.perf_counter()
        for _ in range(a.inner_steps):
            x, y = teacher_batch(gen, teacher, a.batch, a.dim)
            loss = torch.nn.functional.mse_loss(inner(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        compute_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        with torch.no_grad():
            deltas = [po.data - pi.data for po, pi in zip(outer.parameters(), inner.parameters())]  # the pseudo-gradients
            try:
                # First wait for every part to finish its inner steps: what a slower part costs, apart from the exchange.
                dist.barrier()
                wait_s = time.perf_counter() - t1
                average(deltas, share, a.int8, world)
            except RuntimeError as e:
                # A part left (its lender reclaimed it, its site was lost): this step's inner work is dropped, the
                # others meet again under the next generation and go on from the outer model as it stands.
                print(f"outer step {step}: a part left ({str(e).splitlines()[0][:80]}); meeting the others again", flush=True)
                dist.destroy_process_group()
                m = form_group(rdv, after_generation=m["generation"])
                inner.load_state_dict(outer.state_dict())
                step -= 1
                continue
            for po, pi, mo, d in zip(outer.parameters(), inner.parameters(), momentum, deltas):
                mo.mul_(a.outer_momentum).add_(d)
                po.data.sub_(a.outer_lr * (d + a.outer_momentum * mo))  # Nesterov
                pi.data.copy_(po.data)
        sync_s = time.perf_counter() - t1
        with torch.no_grad():
            eval_loss = torch.nn.functional.mse_loss(outer(x_eval), y_eval).item()
        rdv.report_metrics(step=step, compute_s=compute_s, sync_s=sync_s, wait_s=wait_s, loss=eval_loss)
        print(f"outer step {step}: loss {eval_loss:.5f}, compute {compute_s:.3f} s, sync {sync_s:.3f} s (waiting {wait_s:.3f} s)", flush=True)

    # Leave together: to a part still inside a collective, one that exited looks like a part lost.
    dist.barrier()
    print(f"done: {params} parameters, {a.outer_steps} outer steps of {a.inner_steps}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
