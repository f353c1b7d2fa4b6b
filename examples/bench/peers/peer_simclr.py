"""PyTorch peer of examples/bench: one SimCLR training step, any of its encoders and image sizes.

The step medssl's bench times, on random single-channel images and without augmentation:
both views through the encoder (each its own batch-norm batch), the projection
Linear(F, F) -> ReLU -> Linear(F, 128) (SimCLR's head, ssl.NewSimCLR's default), NT-Xent with
temperature 0.5 over the 2B embeddings, backward, and one Adam step (lr 1e-3, decoupled weight
decay 1e-6, eps 1e-7: ssl.RecipeAdam), with 2 threads.

Encoders, as medssl builds them (models.ResNetFor, models.ViTTiny/ViTSmall):
  resnet18 | resnet34 | resnet50  torchvision's ResNets with a 1-channel stem; up to 64 px the
                                  small-image stem (3x3 stride-1 conv, no max-pool), above it
                                  ImageNet's (7x7 stride-2 conv and a 3x3 stride-2 max-pool)
  vit-tiny | vit-small            pre-norm ViT (width 192/384, depth 12, 3/6 heads, MLP 4x,
                                  GELU), class token, learned positions, patch P given by
                                  --patch (the bench uses 4 at 28 px, 8 at 64, 16 at 128)

  peer_simclr.py --encoder resnet50 --size 64 --batch 128 [--steps 3 --warmup 2]
prints one JSON line: samples_per_s (pairs per second), s_per_step, loss. Peak memory is
read by the caller from the process's resource usage.
"""
import argparse, json, time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def resnet(depth, size):
    make = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34, 50: torchvision.models.resnet50}[depth]
    m = make(num_classes=10)
    if size <= 64:
        m.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
        m.maxpool = nn.Identity()
    else:
        m.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    m.fc = nn.Identity()
    return m, (2048 if depth == 50 else 512)


class ViT(nn.Module):
    def __init__(self, width, heads, patch, size, depth=12):
        super().__init__()
        self.embed = nn.Conv2d(1, width, patch, patch)
        n = (size // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, width))
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth)
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        return self.norm(self.blocks(t))[:, 0]


def ntxent(z1, z2, tau=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = (z @ z.t() / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), -1e9)
    return F.cross_entropy(sim, torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default="resnet18")
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.encoder.startswith("resnet"):
        enc, feat = resnet(int(a.encoder[6:]), a.size)
    else:
        width, heads = {"vit-tiny": (192, 3), "vit-small": (384, 6)}[a.encoder]
        enc, feat = ViT(width, heads, a.patch, a.size), width
    proj = nn.Sequential(nn.Linear(feat, feat), nn.ReLU(), nn.Linear(feat, 128))
    opt = torch.optim.AdamW(list(enc.parameters()) + list(proj.parameters()), lr=1e-3, weight_decay=1e-6, eps=1e-7)
    x1, x2 = torch.rand(a.batch, 1, a.size, a.size), torch.rand(a.batch, 1, a.size, a.size)

    def step():
        opt.zero_grad()
        loss = ntxent(proj(enc(x1)), proj(enc(x2)))
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t = time.time()
    for _ in range(a.steps):
        loss = step()
    el = (time.time() - t) / a.steps
    print(json.dumps(dict(framework=f"pytorch {torch.__version__}", encoder=a.encoder, size=a.size, batch=a.batch,
                          samples_per_s=a.batch / el, s_per_step=el, loss=loss)), flush=True)


if __name__ == "__main__":
    main()
