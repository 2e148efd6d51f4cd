"""Seconds per paper-cubic training step (B=16, T=1024, 5 x 256), eager vs torch.compile."""
import os, sys, time
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from model import GPT, default_config
torch.backends.cuda.matmul.allow_tf32 = True
for att in ("paper-cubic", "paper-linear"):
    for comp in (False, True):
        m = GPT(default_config(n_layer=5, n_head=4, n_embd=256, attention=att)).cuda()
        f = torch.compile(m) if comp else m
        x = torch.randint(0, 256, (16, 1024), device="cuda")
        t0 = time.time()
        for i in range(8):
            if i == 3:
                torch.cuda.synchronize(); t1 = time.time()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                _, loss = f(x, x)
            loss.backward()
        torch.cuda.synchronize()
        print("probe %s compile=%s first3 %.1f s, %.3f s/step, peak %.1f GB" % (
            att, comp, t1 - t0, (time.time() - t1) / 5, torch.cuda.max_memory_allocated() / 1e9), flush=True)
        torch.cuda.reset_peak_memory_stats()
