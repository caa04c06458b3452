#!/usr/bin/env python3
"""Convert timm's xception65 (the aligned Xception of DeepLab) to a tdseg checkpoint.

Writes a safetensors file whose tensors carry tdseg's names (docs/weight-import.md gives
the map), for `tdseg` to load into the backbone of deeplabv3plus-xception65:

  tools/export_timm_xception65.py --pretrained --out xception65.safetensors

With --random-seed S it draws random weights and batch-norm statistics instead and, with
--features-dir DIR, also writes a random input and timm's features for it (output stride
16, evaluation mode), so that tools/check_timm_import.sh can compare them with tdseg's.
Needs PyTorch, timm, numpy and safetensors (the GPU machine has them).
"""
import argparse
import re
import sys


def tdseg_name(timm_name):
    """tdseg's name for a timm xception65 tensor, or None for tensors tdseg has no use for."""
    if timm_name.startswith("head.") or timm_name.endswith("num_batches_tracked"):
        return None
    m = re.fullmatch(r"stem\.([01])\.(conv|bn)\.(\w+)", timm_name)
    if m:
        return f"backbone.entry_flow.conv{int(m[1]) + 1}.{m[2]}.{m[3]}"
    m = re.fullmatch(r"blocks\.(\d+)\.(.+)", timm_name)
    if not m:
        raise ValueError(f"unmapped timm tensor {timm_name}")
    i, rest = int(m[1]), m[2]
    if i <= 2:
        block = f"entry_flow.block{i + 1}"
    elif i <= 18:
        block = f"middle_flow.block{i - 2}"
    elif i <= 20:
        block = f"exit_flow.block{i - 18}"
    else:
        raise ValueError(f"timm block {i} is beyond xception65's 21 blocks")
    m = re.fullmatch(r"stack\.conv([123])\.(conv_dw|bn_dw|conv_pw|bn_pw)\.(\w+)", rest)
    if m:
        part = {"conv_dw": "depthwise", "bn_dw": "depthwise_bn", "conv_pw": "pointwise",
                "bn_pw": "pointwise_bn"}[m[2]]
        return f"backbone.{block}.sepconv{m[1]}.{part}.{m[3]}"
    m = re.fullmatch(r"shortcut\.(conv|bn)\.(\w+)", rest)
    if m:
        return f"backbone.{block}.shortcut.{m[1]}.{m[2]}"
    raise ValueError(f"unmapped timm tensor {timm_name}")


def randomize(model, seed):
    """Random weights and batch-norm statistics of moderate scale, deterministic in seed."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith("running_mean") or name.endswith(".bias"):
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            elif ".bn" in name and name.endswith(".weight"):
                t.copy_(1 + 0.1 * torch.randn(t.shape, generator=g))
            else:  # conv weights: He-normal on fan-in
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the safetensors file to write")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--pretrained", action="store_true", help="timm's ImageNet weights (xception65.tf_in1k)")
    src.add_argument("--random-seed", type=int, help="random weights instead")
    ap.add_argument("--features-dir", help="also write input.npy, features.npy and low_level.npy here")
    ap.add_argument("--size", type=int, default=129, help="input side for --features-dir (default 129)")
    args = ap.parse_args()

    import numpy as np
    import timm
    import torch
    from safetensors.torch import save_file

    model = timm.create_model("xception65.tf_in1k" if args.pretrained else "xception65",
                              pretrained=args.pretrained, output_stride=16, num_classes=0,
                              global_pool="")
    if args.random_seed is not None:
        randomize(model, args.random_seed)
    model.eval()
    tensors = {}
    for name, t in model.state_dict().items():
        mapped = tdseg_name(name)
        if mapped is not None:
            tensors[mapped] = t.detach().float().contiguous()
    save_file(tensors, args.out, metadata={"source": "timm xception65", "timm": timm.__version__})
    print(f"wrote {len(tensors)} tensors to {args.out}")

    if args.features_dir:
        g = torch.Generator().manual_seed(12345)
        x = torch.randn(1, 3, args.size, args.size, generator=g)
        # The low-level tap: the input of entry_flow.block2's third separable conv (timm's
        # blocks[1].stack[-1]), after ReLU. A hook, not forward_intermediates, which older
        # timm releases lack.
        taps = []
        last_conv = model.blocks[1].stack[-1]
        hook = last_conv.register_forward_pre_hook(lambda module, inputs: taps.append(inputs[0].clone()))
        with torch.no_grad():
            features = model.forward_features(x)
        hook.remove()
        np.save(f"{args.features_dir}/input.npy", x.numpy().astype(np.float32))
        np.save(f"{args.features_dir}/features.npy", features.numpy().astype(np.float32))
        np.save(f"{args.features_dir}/low_level_relu.npy", taps[0].numpy().astype(np.float32))
        print(f"features {tuple(features.shape)}, low-level {tuple(taps[0].shape)}")


if __name__ == "__main__":
    sys.exit(main())
