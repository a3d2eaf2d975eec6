#!/usr/bin/env python3
"""The Hugging Face transformers peer of the CUDA engine, on the GPU machine (PyTorch + transformers as installed
there; nothing is installed).

  hf_peer.py speed   --checkpoint DIR --out FILE.json [--formats bf16,fp8] [--batches 1,8,64] [--quick]
      DIR holds bf16/ and fp8/ (quantbench synth --preset qwen3-4b). Per format: prefill tokens/s of one 2048-token
      prompt; decode tokens/s at batch 1, 8, 64 (each row a 512-token prompt, then 256 greedy steps with the KV cache);
      CUDA events around each; peak memory by torch.cuda.max_memory_allocated. The FP8 directory's
      quantization_config (fp8, weight_block_size [128, 128]) goes through transformers' fine-grained FP8 path; where
      that path is unavailable the JSON says why instead of failing the run.
  hf_peer.py logits  --model DIR --ids 1,2,3 --out FILE.f32 [--dtype float32|bfloat16] [--device cuda|cpu]
      Raw little-endian float32 logits [ids, vocab] of one forward pass, the format of `quantbench logits`.
  hf_peer.py compare A.f32 B.f32 [--vocab 151936] [--json FILE]
      Relative L2, max |diff|, top-1 agreement per position between two logits files.
"""
import argparse
import json
import os
import platform
import sys
import time
import traceback


def log(*parts):
    print(*parts, flush=True)


# ---- compare (numpy only) -------------------------------------------------------------------------------------------

def compare(args):
    import numpy as np

    a = np.fromfile(args.a, dtype="<f4")
    b = np.fromfile(args.b, dtype="<f4")
    if a.size != b.size or a.size % args.vocab:
        result = {"ok": False, "error": f"sizes differ or not a multiple of vocab: {a.size} vs {b.size}"}
    else:
        a = a.reshape(-1, args.vocab).astype(np.float64)
        b = b.reshape(-1, args.vocab).astype(np.float64)
        finite = bool(np.isfinite(a).all() and np.isfinite(b).all())
        rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))
        per_row = np.linalg.norm(a - b, axis=1) / np.maximum(np.linalg.norm(a, axis=1), 1e-30)
        top1 = float((a.argmax(axis=1) == b.argmax(axis=1)).mean())
        result = {
            "ok": finite,
            "rows": int(a.shape[0]),
            "relativeL2": rel,
            "maxRowRelativeL2": float(per_row.max()),
            "maxAbsDiff": float(np.abs(a - b).max()),
            "top1Agreement": top1,
            "allFinite": finite,
        }
    text = json.dumps({"a": args.a, "b": args.b, **result})
    log(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0 if result.get("ok") else 1


# ---- torch helpers --------------------------------------------------------------------------------------------------

def environment():
    import torch

    env = {"python": sys.version.split()[0], "platform": platform.platform(), "torch": torch.__version__,
           "cuda": torch.version.cuda, "gpu": None}
    try:
        import transformers

        env["transformers"] = transformers.__version__
    except Exception as error:  # noqa: BLE001
        env["transformers"] = f"unavailable: {error}"
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = {"name": props.name, "memoryBytes": props.total_memory, "sms": props.multi_processor_count,
                      "cc": f"{props.major}.{props.minor}"}
    return env


def tokens(count, salt, batch=1):
    import torch

    rows = []
    for b in range(batch):
        rows.append([1000 + ((i * 7919 + (salt + b) * 104729) % 100000) for i in range(count)])
    return torch.tensor(rows, dtype=torch.long)


def load(model_dir, dtype, device):
    import torch
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=dtype, device_map=device)
    model.eval()
    if device == "cuda":
        torch.cuda.synchronize()
    return model, time.perf_counter() - started


def describe_linear(model):
    """Which module class runs the projections (e.g. FP8Linear for the fine-grained FP8 path)."""
    layer = model.model.layers[0].self_attn.q_proj
    info = {"qProjClass": type(layer).__name__}
    weight = getattr(layer, "weight", None)
    if weight is not None:
        info["qProjWeightDtype"] = str(weight.dtype)
    for name in ("weight_scale_inv", "weight_scale"):
        if hasattr(layer, name):
            info["qProjScale"] = name
    return info


def cuda_time(fn, repeats, warmup=1):
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop))
    samples.sort()
    return samples


def median(samples):
    s = sorted(samples)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def bench_prefill(model, prefill_tokens, repeats):
    import torch

    ids = tokens(prefill_tokens, 0).cuda()

    def run():
        with torch.inference_mode():
            model(input_ids=ids, use_cache=True, logits_to_keep=1)

    samples = cuda_time(run, repeats)
    ms = median(samples)
    return {"tokens": prefill_tokens, "medianMs": ms, "samplesMs": samples, "tokensPerSecond": prefill_tokens * 1000.0 / ms}


def bench_decode(model, batch, prompt_tokens, new_tokens):
    import torch

    ids = tokens(prompt_tokens, 1, batch).cuda()

    def prefill():
        with torch.inference_mode():
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        return out.past_key_values, out.logits[:, -1, :].argmax(dim=-1, keepdim=True)

    def steps(cache, nxt, count, step_ms=None):
        with torch.inference_mode():
            for i in range(count):
                if step_ms is not None:
                    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                nxt = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
                if step_ms is not None:
                    stop.record()
                    step_ms.append((start, stop))
        return cache, nxt

    cache, nxt = prefill()  # warm-up: a few steps at this batch
    steps(cache, nxt, 4)
    del cache
    torch.cuda.synchronize()
    cache, nxt = prefill()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    events = []
    start.record()
    steps(cache, nxt, new_tokens, events)
    stop.record()
    stop.synchronize()
    total_ms = start.elapsed_time(stop)
    step_ms = [a.elapsed_time(b) for a, b in events]
    return {"batch": batch, "promptTokens": prompt_tokens, "newTokens": new_tokens, "totalMs": total_ms,
            "stepMedianMs": median(step_ms), "tokensPerSecond": batch * new_tokens * 1000.0 / total_ms}


def speed(args):
    import torch

    result = {"schema": "quantbench-hf-peer/1", "checkpoint": args.checkpoint, "environment": environment(),
              "prefillTokens": args.prefill, "promptTokens": args.prompt, "newTokens": args.new, "formats": {}}
    if not torch.cuda.is_available():
        result["error"] = "torch sees no CUDA device"
        write_json(args.out, result)
        log(result["error"])
        return 3
    batches = [int(b) for b in args.batches.split(",")]
    failures = 0
    for fmt in args.formats.split(","):
        entry = {"format": fmt}
        result["formats"][fmt] = entry
        model_dir = os.path.join(args.checkpoint, fmt)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        try:
            if fmt == "fp8":
                with open(os.path.join(model_dir, "config.json")) as f:
                    entry["quantizationConfig"] = json.load(f).get("quantization_config")
            model, load_s = load(model_dir, torch.bfloat16, "cuda")
            entry["loadSeconds"] = load_s
            entry["linear"] = describe_linear(model)
            entry["memoryAfterLoadBytes"] = torch.cuda.memory_allocated()
            if fmt == "fp8" and entry["linear"].get("qProjWeightDtype") == "torch.bfloat16":
                entry["note"] = "transformers loaded the FP8 checkpoint dequantised to BF16 (no fine-grained FP8 path used)"
        except Exception as error:  # noqa: BLE001
            entry["error"] = f"load failed: {type(error).__name__}: {error}"
            entry["traceback"] = traceback.format_exc(limit=6)
            if fmt == "fp8":
                entry["note"] = "transformers' fine-grained FP8 path (quant_method fp8, weight_block_size [128,128]) is unavailable here"
            log(f"hf {fmt}: {entry['error']}")
            failures += 1
            write_json(args.out, result)
            continue
        try:
            entry["prefill"] = bench_prefill(model, args.prefill, 2 if args.quick else 5)
            log(f"hf {fmt:5s} prefill {args.prefill:5d} {entry['prefill']['tokensPerSecond']:10.0f} tokens/s "
                f"(median {entry['prefill']['medianMs']:.1f} ms)")
            entry["decode"] = []
            for batch in batches:
                figure = bench_decode(model, batch, args.prompt, 32 if args.quick else args.new)
                entry["decode"].append(figure)
                log(f"hf {fmt:5s} decode  b{batch:<4d} {figure['tokensPerSecond']:10.1f} tokens/s "
                    f"(step {figure['stepMedianMs']:.2f} ms)")
                write_json(args.out, result)
        except Exception as error:  # noqa: BLE001
            entry["error"] = f"{type(error).__name__}: {error}"
            entry["traceback"] = traceback.format_exc(limit=6)
            log(f"hf {fmt}: {entry['error']}")
            failures += 1
        entry["peakMemoryBytes"] = torch.cuda.max_memory_allocated()
        log(f"hf {fmt:5s} peak memory {entry['peakMemoryBytes'] / 2**30:.2f} GiB")
        del model
        write_json(args.out, result)
    write_json(args.out, result)
    return 1 if failures else 0


def logits(args):
    import numpy as np
    import torch

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    ids = torch.tensor([[int(x) for x in args.ids.split(",")]], dtype=torch.long)
    model, _ = load(args.model, dtype, device)
    with torch.inference_mode():
        out = model(input_ids=ids.to(device), use_cache=False).logits[0].float().cpu().numpy()
    out.astype("<f4").tofile(args.out)
    info = {"model": args.model, "ids": ids.shape[1], "vocab": int(out.shape[1]), "dtype": args.dtype, "device": device,
            "linear": describe_linear(model)}
    log(f"wrote {args.out}: float32 [{out.shape[0]}, {out.shape[1]}] ({json.dumps(info)})")
    return 0


def write_json(path, value):
    tmp = f"{path}.partial"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--formats", default="bf16,fp8")
    p.add_argument("--batches", default="1,8,64")
    p.add_argument("--prefill", type=int, default=2048)
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--quick", action="store_true")
    p = sub.add_parser("logits")
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--device", choices=["cuda", "cpu"])
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--vocab", type=int, default=151936)
    p.add_argument("--json")
    args = parser.parse_args(argv)
    return {"speed": speed, "logits": logits, "compare": compare}[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
