#!/usr/bin/env python3
"""The STD, VP-STD and SS-STD blocks in PyTorch, to check tdseg's against and to time them.

The blocks follow tdseg's composed form line by line (layers/std/std_composed.cpp and
docs/unrolled-variational-layers.md): the kernel, the floors, the star field, grad and div,
and pixel coordinates (x = column, y = row, centres (cx, cy)) are tdseg's conventions.

  check  on small random inputs, runs `tdseg std` for each prior (.npy files in and out,
         with --grad-output) and prints the relative error of u_T = softmax(z_T) and of
         G^T dU/dO against these blocks, computed in float64 (eager);
  time   runs `tdseg bench std --json` and times the same loss, cross_entropy(block(o),
         labels), on the same shape in PyTorch eager and compiled: a side-by-side table.

Usage: python3 tools/torch_reference/std_reference.py --tdseg build-gpu/tdseg [check] [time]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

# The paper's defaults, as tdseg's (layers/std/std_config.h); SS-STD's star class and tau.
LAMBDA, EPS, KSIZE, SIGMA, STAR = 1.0, 0.1, 7, 5.0, 1
ITERS = {"none": 0, "std": 10, "vp": 10, "ss": 50}


def gaussian_kernel(C, dtype, device):
    """exp(-(a^2 + b^2) / (2 sigma^2)) over offsets in [-(K-1)/2, (K-1)/2], normalised to
    sum 1 (in float64, as tdseg), one per class: a depthwise weight [C, 1, K, K]."""
    a = torch.arange(KSIZE, dtype=torch.float64) - (KSIZE - 1) // 2
    k = torch.exp(-(a[:, None] ** 2 + a[None, :] ** 2) / (2 * SIGMA**2))
    return (k / k.sum()).to(dtype=dtype, device=device).expand(C, 1, KSIZE, KSIZE).contiguous()


def blur(x, k):
    """k * x per class plane, zero padding, same size (k is symmetric: correlation = convolution)."""
    return F.conv2d(x, k, padding=KSIZE // 2, groups=x.shape[1])


def grad(u):
    """Forward differences of u [N, 1, H, W] -> [N, 2, H, W] (x then y), 0 on the far edge."""
    gx = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1))
    gy = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    return torch.cat([gx, gy], 1)


def div(w):
    """-grad^T of w [N, 2, H, W] -> [N, 1, H, W]: backward differences, w read as 0 at
    x = -1 and x = W-1 (likewise y)."""
    wx = F.pad(w[:, 0:1, :, :-1], (0, 1))
    wy = F.pad(w[:, 1:2, :-1, :], (0, 0, 0, 1))
    return wx - F.pad(wx, (1, 0))[..., :, :-1] + wy - F.pad(wy, (0, 0, 1, 0))[..., :-1, :]


def star_field(centers, H, W, dtype):
    """s(x) = (c - x) / |c - x|, 0 where x = c, for centres (cx, cy) [N, 2]: [N, 2, H, W]."""
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float64, device=centers.device),
                          torch.arange(W, dtype=torch.float64, device=centers.device), indexing="ij")
    c = centers.to(torch.float64)
    d = torch.stack([c[:, 0, None, None] - x, c[:, 1, None, None] - y], 1)
    r = torch.hypot(d[:, 0:1], d[:, 1:2])
    return torch.where(r > 0, d / torch.where(r > 0, r, 1.0), 0.0).to(dtype)


def clamp_min(x, floor):
    """max(x, floor) with tdseg's gradient: dy where x > floor, else 0."""
    return torch.where(x > floor, x, torch.full_like(x, floor))


def block(o, prior, volumes=None, centers=None):
    """z_T of the block on logits o [N, C, H, W]; u_T = softmax(z_T)."""
    N, C, H, W = o.shape
    k = gaussian_kernel(C, o.dtype, o.device)
    floor = 1e-6 * H * W
    if prior == "vp":  # the dual q [N, C] (here [N, C, 1, 1]) and the floored log volumes
        log_v = torch.log(clamp_min(volumes.to(o.dtype).view(N, C, 1, 1), floor))
        q = o.new_zeros(N, C, 1, 1)
    if prior == "ss":  # the dual q [N, 1, H, W] and the star field; tau = eps
        s = star_field(centers, H, W, o.dtype)
        q = o.new_zeros(N, 1, H, W)
    z = o / EPS
    u = torch.softmax(z, 1)
    for _ in range(ITERS[prior]):
        p = LAMBDA * blur(1 - 2 * u, k)  # eq. 7
        if prior == "std":  # Algorithm 1
            z = (o - p) / EPS
        elif prior == "vp":  # eq. 10 and Algorithm 2
            soft_volume = torch.softmax((o - p + q) / EPS, 1).sum((2, 3), keepdim=True)
            q = q + (log_v - torch.log(clamp_min(soft_volume, floor))) * EPS
            z = (o - p + q) / EPS
        else:  # Algorithm 3
            q = torch.relu(q - (s * grad(u[:, STAR:STAR + 1])).sum(1, keepdim=True) * EPS)
            z = (o - p) / EPS
            z = torch.cat([z[:, :STAR], z[:, STAR:STAR + 1] - div(s * q) / EPS, z[:, STAR + 1:]], 1)
        u = torch.softmax(z, 1)
    return z


def loss(o, prior, volumes, centers, labels):
    """What tdseg bench std times: the cross-entropy of the block's z_T (of o for "none")."""
    return F.cross_entropy(o if prior == "none" else block(o, prior, volumes, centers), labels)


def relative_error(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def check(args):
    """tdseg std against the blocks, float64 and float32, every prior; False on a mismatch."""
    rng = np.random.default_rng(0)
    N, C, H, W = 2, 5, 23, 19
    labels = rng.integers(0, C, (N, H, W))
    volumes = np.stack([np.bincount(l.ravel(), minlength=C) for l in labels]).astype(np.float64)
    centers = np.array([[9.25, 11.5], [3.0, 17.75]])  # (cx, cy), exact in float32
    ok = True
    print(f"check: tdseg std --device {args.device} against PyTorch (float64), [{N}, {C}, {H}, {W}]")
    print(f"{'dtype':8} {'prior':6} {'u rel err':>10} {'grad rel err':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        path = lambda name: os.path.join(tmp, name + ".npy")
        np.save(path("v"), volumes)
        np.save(path("c"), centers)
        for dtype, tolerance in ((np.float64, 1e-10), (np.float32, 1e-4)):
            o, g = (rng.standard_normal((N, C, H, W)).astype(dtype) for _ in range(2))
            np.save(path("o"), o)
            np.save(path("g"), g)
            for prior in ITERS:
                subprocess.run([args.tdseg, "std", "--prior", prior, "--iters", str(ITERS[prior]),
                                "--logits", path("o"), "--out", path("u"), "--volumes", path("v"),
                                "--centers", path("c"), "--grad-output", path("g"),
                                "--grad-logits-out", path("go"), "--device", args.device],
                               check=True, stdout=subprocess.DEVNULL)
                u_tdseg, go_tdseg = (torch.from_numpy(np.load(path(n))).double() for n in ("u", "go"))
                x = torch.tensor(o, dtype=torch.float64, device=args.torch_device, requires_grad=True)
                u = torch.softmax(block(x, prior, torch.from_numpy(volumes).to(x.device),
                                        torch.from_numpy(centers).to(x.device)), 1)
                (u * torch.from_numpy(g).double().to(x.device)).sum().backward()
                eu, eg = relative_error(u_tdseg, u.detach().cpu()), relative_error(go_tdseg, x.grad.cpu())
                ok &= max(eu, eg) <= tolerance
                print(f"{np.dtype(dtype).name:8} {prior:6} {eu:10.2e} {eg:13.2e}")
    print("check:", "ok" if ok else "MISMATCH", "(tolerances: 1e-10 float64, 1e-4 float32)")
    return ok


def median_ms(fn, repeat):
    """Median CUDA-event milliseconds of fn() -> (forward, forward + backward), after a warm-up."""
    points = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
    forward, total = [], []
    for r in range(repeat + 1):
        fn(points)
        torch.cuda.synchronize()
        if r > 0:
            forward.append(points[0].elapsed_time(points[1]))
            total.append(points[0].elapsed_time(points[2]))
    return statistics.median(forward), statistics.median(total)


def time_rows(args, losses):
    """tdseg bench std --json beside the same loss in PyTorch, on tdseg's shape and dtype."""
    cmd = [args.tdseg, "bench", "std", "--json", "--device", "cuda", "--repeat", str(args.repeat)]
    cmd += ["--preset", args.preset] if args.preset else ["--shape", args.shape] if args.shape else []
    proc = subprocess.run(cmd, capture_output=True, text=True)  # exit 1: a row failed, JSON still printed
    if not proc.stdout.strip():
        sys.exit(f"time: {' '.join(cmd)} failed: {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    N, C, H, W = report["shape"]
    dtype = getattr(torch, report["dtype"])
    gen = torch.Generator(device="cuda").manual_seed(1)
    o = torch.randn(N, C, H, W, generator=gen, device="cuda", dtype=dtype)
    labels = torch.randint(0, C, (N, H, W), generator=gen, device="cuda")
    volumes = F.one_hot(labels, C).sum((1, 2)).to(dtype)
    star = (labels == STAR).to(torch.float64)  # SS-STD's centre: the star class's centroid
    y, x = torch.meshgrid(torch.arange(H, device="cuda"), torch.arange(W, device="cuda"), indexing="ij")
    centers = torch.stack([(star * x).sum((1, 2)), (star * y).sum((1, 2))], 1) / star.sum((1, 2))[:, None]
    prior_of = {"softmax_nll": "none", "std_composed": "std", "std_fused": "std", "vp_std_fused": "vp",
                "ss_std_fused": "ss"}

    def run(fn, prior):
        def step(points):
            x = o.clone().requires_grad_()
            points[0].record()
            value = fn(x, prior, volumes, centers, labels)
            points[1].record()
            value.backward()
            points[2].record()
        try:
            return median_ms(step, args.repeat)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            return None

    print(f"time: {report['device']}, logits {report['dtype']} [{N}, {C}, {H}, {W}], median of "
          f"{args.repeat} runs, ms (forward / forward + backward); ratio = PyTorch / tdseg, fwd+bwd")
    header = f"{'head':14} {'T':>3} {'tdseg':>17}"
    for form in losses:
        header += f" {'torch ' + form:>19} {'ratio':>6}"
    print(header)
    cache = {}
    for row in report["rows"]:
        prior = prior_of[row["key"]]
        line = f"{row['head']:14} {row['iters']:3d} "
        line += f"{row['forward_ms']:8.2f}/{row['forward_backward_ms']:8.2f}" if "error" not in row else f"{'n/a':>17}"
        for form, fns in losses.items():
            if prior not in fns:
                line += f" {'not compiled':>19} {'-':>6}"
                continue
            fn = fns[prior]
            if (form, prior) not in cache:
                cache[form, prior] = run(fn, prior)
            t = cache[form, prior]
            if t is None:
                line += f" {'out of memory':>19} {'-':>6}"
                continue
            ratio = f"{t[1] / row['forward_backward_ms']:6.2f}" if "error" not in row else f"{'-':>6}"
            line += f" {t[0]:9.2f}/{t[1]:9.2f} {ratio}"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="*", help="check, time, or both (the default)")
    parser.add_argument("--tdseg", default="build-gpu/tdseg", help="the tdseg binary")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="tdseg's, for check")
    parser.add_argument("--shape", help="N,C,H,W for time (default: tdseg's, the VOC preset on a GPU)")
    parser.add_argument("--preset", choices=["voc", "cityscapes", "isic"], help="tdseg's presets, for time")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--compile", default="none,std,vp,ss", metavar="PRIORS",
                        help="priors also timed under torch.compile (none,std,vp,ss; '' for none): "
                             "compiling SS-STD's 50 unrolled iterations takes minutes")
    args = parser.parse_args()
    args.what = args.what or ["check", "time"]
    if not set(args.what) <= {"check", "time"}:
        parser.error(f"unknown task in {args.what}: check or time")
    args.torch_device = "cuda" if torch.cuda.is_available() else "cpu"
    compiled = [p for p in args.compile.split(",") if p]
    if not set(compiled) <= set(ITERS):
        parser.error(f"--compile takes priors among {','.join(ITERS)}, got '{args.compile}'")
    losses = {"eager": {p: loss for p in ITERS}}
    if compiled:
        losses["compiled"] = {p: torch.compile(loss) for p in compiled}
    ok = check(args) if "check" in args.what else True
    if "time" in args.what:
        time_rows(args, losses)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
