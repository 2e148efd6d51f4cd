"""The tiny paper-linear model both adaptation tests start from: random weights, scalers away
from 1, target statistics recorded on the calibration batch x, then the output scale and key
bias disturbed so that there is something to adapt."""
import torch

import model as M


def tiny_linear_with_targets(seed, x):
    cfg = M.default_config(n_layer=2, n_head=2, n_embd=128, n_ctx=128, vocab_size=256,
                           attention="paper-linear")
    m = M.GPT(cfg).double()
    m.reset_parameters(seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for hw in m.hw_modules():
            H = hw.q_scale.numel()
            hw.q_scale.copy_(2.0 + torch.rand(H, generator=g))
            hw.q_bias.copy_(0.3 + 0.1 * torch.rand(H, generator=g))
            hw.k_scale.copy_(1.5 + torch.rand(H, generator=g))
            hw.v_scale.copy_(1.5 + torch.rand(H, generator=g))
    for hw in m.hw_modules():
        hw.record_targets = True
    with torch.no_grad():
        m(x)
    for hw in m.hw_modules():
        hw.record_targets = False
    with torch.no_grad():
        for hw in m.hw_modules():
            hw.o_scale.mul_(1.5)
            hw.k_bias.add_(0.03)
    return m
