"""PyTorch peer: one BYOL training step throughput, ViT-Tiny (dim 192, depth 12, 3 heads, patch 4), 28x28x1 input.

Same encoder as ../../../../shared/bench/peer_simclr_vit_tiny.py; medssl's BYOL defaults (ssl.NewBYOL) for
192-d features: projector and predictor Linear-BN-ReLU-Linear, hidden min(4096, 8*192) = 1536,
output 256, each view through its own call (own batch statistics); a momentum target
(encoder + projector, tau 0.996) updated after the Adam step; loss 2-2cos symmetrised.
Usage: peer_byol_vit_tiny.py [batch] [size]
"""
import sys, time, copy, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2); torch.manual_seed(0)
B = int(sys.argv[1]) if len(sys.argv) > 1 else 128
S = int(sys.argv[2]) if len(sys.argv) > 2 else 28
P, D, H, OUT, TAU = 4, 192, 1536, 256, 0.996
class ViT(nn.Module):
    def __init__(s):
        super().__init__()
        s.patch = nn.Conv2d(1, D, P, P); n = (S // P) ** 2
        s.cls = nn.Parameter(torch.zeros(1, 1, D)); s.pos = nn.Parameter(torch.zeros(1, n + 1, D))
        layer = nn.TransformerEncoderLayer(D, 3, 4 * D, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        s.blocks = nn.TransformerEncoder(layer, 12); s.norm = nn.LayerNorm(D)
    def forward(s, x):
        t = s.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([s.cls.expand(t.shape[0], -1, -1), t], 1) + s.pos
        return s.norm(s.blocks(t))[:, 0]
def mlp(i): return nn.Sequential(nn.Linear(i, H), nn.BatchNorm1d(H), nn.ReLU(), nn.Linear(H, OUT))
enc, proj, pred = ViT(), mlp(D), mlp(OUT)
online = nn.ModuleList([enc, proj]); target = copy.deepcopy(online)
for p in target.parameters(): p.requires_grad_(False)
opt = torch.optim.Adam(list(online.parameters()) + list(pred.parameters()), 1e-3)
def loss_fn(q, z): return (2 - 2 * F.cosine_similarity(q, z, dim=-1)).mean()
x1 = torch.rand(B, 1, S, S); x2 = torch.rand(B, 1, S, S)
def step():
    opt.zero_grad()
    q1, q2 = pred(proj(enc(x1))), pred(proj(enc(x2)))
    with torch.no_grad():
        z1, z2 = target[1](target[0](x1)), target[1](target[0](x2))
    l = loss_fn(q1, z2) + loss_fn(q2, z1); l.backward(); opt.step()
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters()): t.mul_(TAU).add_(o, alpha=1 - TAU)
    return l
step(); step()
n = 3; t = time.time()
for _ in range(n): l = step()
el = time.time() - t
print(f"pytorch {torch.__version__} byol vit-tiny/4 B={B} S={S}: {n*B/el:.1f} pairs/s, {el/n:.3f} s/step, loss {l.item():.4f}")
