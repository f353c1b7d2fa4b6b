"""PyTorch peer: one MAE training step throughput, ViT-Tiny (dim 192, depth 12, 3 heads, patch 4), 28x28x1 input.

Same encoder as ../../../../shared/bench/peer_simclr_vit_tiny.py, run on the visible patches only (mask
ratio 0.75, per-sample random masking as in MAE's random_masking); medssl's default decoder
(ssl.NewMAE): width 128, depth 2, 4 heads, MLP 512, fixed 2D sin-cos positions, mask token,
linear prediction of the 4x4x1 pixels; normalised-pixel MSE on masked patches; Adam 1e-3.
Usage: peer_mae_vit_tiny.py [batch] [size]
"""
import sys, time, math, torch, torch.nn as nn
torch.set_num_threads(2); torch.manual_seed(0)
B = int(sys.argv[1]) if len(sys.argv) > 1 else 128
S = int(sys.argv[2]) if len(sys.argv) > 2 else 28
P, D, DD, RATIO = 4, 192, 128, 0.75
G = S // P; N = G * G; KEEP = int(N * (1 - RATIO))

def sincos(g, dim):
    q = dim // 4; omega = 10000 ** (-torch.arange(q, dtype=torch.float32) / q)
    def enc(p): a = p[:, None] * omega[None]; return torch.cat([a.sin(), a.cos()], 1)
    i, j = torch.meshgrid(torch.arange(g, dtype=torch.float32), torch.arange(g, dtype=torch.float32), indexing="ij")
    e = torch.cat([enc(i.flatten()), enc(j.flatten())], 1)
    return torch.cat([torch.zeros(1, dim), e])[None]  # class token gets zeros

def blocks(dim, heads, depth):
    layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, depth)

class MAE(nn.Module):
    def __init__(s):
        super().__init__()
        s.patch = nn.Conv2d(1, D, P, P)
        s.cls = nn.Parameter(torch.zeros(1, 1, D)); s.pos = nn.Parameter(torch.zeros(1, N + 1, D))
        s.blocks = blocks(D, 3, 12); s.norm = nn.LayerNorm(D)
        s.dec_embed = nn.Linear(D, DD); s.mask_token = nn.Parameter(torch.zeros(1, 1, DD))
        s.register_buffer("dec_pos", sincos(G, DD))
        s.dec_blocks = blocks(DD, 4, 2); s.dec_norm = nn.LayerNorm(DD); s.dec_pred = nn.Linear(DD, P * P)
    def forward(s, x):
        t = s.patch(x).flatten(2).transpose(1, 2) + s.pos[:, 1:]
        noise = torch.rand(B, N); ids_shuffle = noise.argsort(1); ids_restore = ids_shuffle.argsort(1)
        keep = ids_shuffle[:, :KEEP]
        t = torch.gather(t, 1, keep[..., None].expand(-1, -1, D))
        mask = torch.ones(B, N); mask[:, :KEEP] = 0; mask = torch.gather(mask, 1, ids_restore)
        t = torch.cat([(s.cls + s.pos[:, :1]).expand(B, -1, -1), t], 1)
        z = s.dec_embed(s.norm(s.blocks(t)))
        full = torch.cat([z[:, 1:], s.mask_token.expand(B, N - KEEP, -1)], 1)
        full = torch.gather(full, 1, ids_restore[..., None].expand(-1, -1, DD))
        y = torch.cat([z[:, :1], full], 1) + s.dec_pos
        pred = s.dec_pred(s.dec_norm(s.dec_blocks(y)))[:, 1:]
        target = x.reshape(B, 1, G, P, G, P).permute(0, 2, 4, 3, 5, 1).reshape(B, N, P * P)
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6) ** .5
        return (((pred - target) ** 2).mean(-1) * mask).sum() / mask.sum()

m = MAE(); opt = torch.optim.Adam(m.parameters(), 1e-3)
x = torch.rand(B, 1, S, S)
def step():
    opt.zero_grad(); l = m(x); l.backward(); opt.step(); return l
step(); step()
n = 3; t = time.time()
for _ in range(n): l = step()
el = time.time() - t
print(f"pytorch {torch.__version__} mae vit-tiny/4 B={B} S={S}: {n*B/el:.1f} samples/s, {el/n:.3f} s/step, loss {l.item():.4f}")
