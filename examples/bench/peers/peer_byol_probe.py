"""PyTorch peer of medssl's BYOL experiment: pretrain with BYOL, then linear probe and kNN.

The BYOL parts are written here from the paper (Grill et al., "Bootstrap your own latent",
NeurIPS 2020, Sec. 3 and Appendix A-C); everything else (data loading, the medical
augmentation pipeline, the ResNet-18 with the small-image stem, He initialisation, the
linear-probe search, kNN, AUC) is imported from ../shared/bench/peer_ssl_probe.py, the
independent SimCLR peer, so that both methods are evaluated the same way.

BYOL as the paper defines it and medssl's ssl.NewBYOL mirrors it:
  - online network: encoder, projector g and predictor q, both MLPs Linear(d, h) -> BN ->
    ReLU -> Linear(h, 256) with h = min(4096, 8 F) (4096 for a ResNet-50);
  - target network: encoder and projector only, a copy of the online ones at step 0, then an
    exponential moving average of their parameters after every optimiser step,
    xi <- tau xi + (1 - tau) theta, with tau = 1 - (1 - tau_base)(cos(pi k / K) + 1) / 2
    rising from tau_base = 0.996 to 1 (k: steps done, K: total); buffers (BN running
    statistics) are not averaged: the target's BN runs in training mode on its own batches;
  - loss: 2 - 2 cos(q(g(f(v))), sg(g'(f'(v')))) for both orders of the two views, summed;
  - each view goes through the networks on its own (its own BN batch).

Recipes (--recipe): medssl = Adam lr 1e-3, decoupled wd 1e-6, eps 1e-7, constant (ssl.RecipeAdam);
paper = LARS lr 0.2 x B/256, wd 1.5e-6, eta 0.001, no clipping, biases and BN excluded, 10-epoch
linear warm-up from 0 then cosine to 0 (Appendix C; ssl.RecipePaper); solo = solo-learn's CIFAR
BYOL: LARS lr 1.0 x B/256, wd 1e-5, eta 0.02, clip_lr, exclusions, warm-up from 3e-5 over 10
epochs (10% of runs of at most 10 epochs), cosine to 0 (ssl.RecipeSolo).

  /usr/bin/python3 examples/bench/peers/peer_byol_probe.py --data breastmnist.npz --epochs 100 --recipe paper --seed 1
prints one JSON line, as peer_ssl_probe.py does. Data: MedMNIST (Yang et al. 2023), CC BY 4.0.
"""
import argparse, copy, json, math, os, random, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("MEDSSL_PEERS", os.path.join(HERE, "..", "..", "..", "..", "shared", "bench"))
sys.path.insert(0, SHARED)
import peer_ssl_probe as base  # noqa: E402  (the owners' independent SimCLR peer)


def mlp(d_in, hidden, d_out):
    """g and q of the paper: Linear -> BatchNorm1d -> ReLU -> Linear."""
    return base.he_init(nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, d_out)))


def regression_loss(p, z):
    """2 - 2 cos(p, z), averaged over the batch (the paper's normalised MSE)."""
    return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=-1)).mean()


def tau_at(k, total, tau_base=0.996):
    return 1 - (1 - tau_base) * (math.cos(math.pi * k / total) + 1) / 2


def lars_paper(params, lr, wd):
    """LARS as BYOL and SimCLR train (You et al. 2017): trust ratio eta*|w|/(|g| + wd*|w|),
    no clipping; biases and BN parameters (ndim 1) take plain SGD-momentum steps without decay."""
    return base.LARS(params, lr=lr, weight_decay=wd, eta=0.001, clip_lr=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--recipe", choices=["medssl", "paper", "solo"], default="medssl")
    ap.add_argument("--augment", choices=sorted(base.AUGMENT), default="medical")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--probe-epochs", type=int, default=100)
    ap.add_argument("--knn-ks", type=lambda v: [int(k) for k in v.split(",")], default=[20])
    ap.add_argument("--out")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)
    npz = np.load(args.data)
    x, y = {}, {}
    for s in ("train", "val", "test"):
        img = npz[f"{s}_images"]
        img = img[..., None] if img.ndim == 3 else img
        x[s] = torch.from_numpy(img).permute(0, 3, 1, 2).float().div(255).contiguous()
        y[s] = torch.from_numpy(npz[f"{s}_labels"].reshape(-1).astype(np.int64))
    classes = max(2, int(max(v.max() for v in y.values())) + 1)
    n, c, h, w = x["train"].shape

    enc = base.he_init(base.ResNet18(c, args.width, max(h, w)))
    random_enc = copy.deepcopy(enc)
    hidden = min(4096, 8 * enc.feature_dim)
    proj, pred = mlp(enc.feature_dim, hidden, 256), mlp(256, hidden, 256)
    online = nn.ModuleList([enc, proj])
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.requires_grad_(False)
    params = list(online.parameters()) + list(pred.parameters())

    steps_per_epoch = n // args.batch
    total = args.epochs * steps_per_epoch
    warm = 10 * steps_per_epoch if args.epochs > 10 else max(1, round(0.1 * total))
    if args.recipe == "medssl":
        base_lr = 1e-3
        opt = torch.optim.AdamW(params, lr=base_lr, weight_decay=1e-6, eps=1e-7)
        lr_at = lambda t: base_lr
    elif args.recipe == "paper":
        base_lr = 0.2 * args.batch / 256
        opt = lars_paper(params, base_lr, 1.5e-6)
        lr_at = lambda t: base.warmup_cosine(t, total, warm, base_lr, start=0.0)
    else:
        base_lr = 1.0 * args.batch / 256
        opt = base.LARS(params, lr=base_lr, weight_decay=1e-5, eta=0.02, clip_lr=True)
        lr_at = lambda t: base.warmup_cosine(t, total, warm, base_lr)

    rng, g = np.random.default_rng(args.seed), torch.Generator().manual_seed(args.seed)
    pending, losses, aug = np.empty(0, dtype=np.int64), [], base.AUGMENT[args.augment]
    online.train(), pred.train(), target.train()
    t0 = time.time()
    for t in range(total):
        if len(pending) < args.batch:
            pending = np.concatenate([pending, rng.permutation(n)])
        idx, pending = torch.from_numpy(pending[:args.batch]), pending[args.batch:]
        imgs = x["train"][idx]
        with torch.no_grad():
            v1, v2 = base.augment(g, imgs, aug), base.augment(g, imgs, aug)
        q1, q2 = pred(proj(enc(v1))), pred(proj(enc(v2)))
        with torch.no_grad():
            z1, z2 = target[1](target[0](v1)), target[1](target[0](v2))
        loss = regression_loss(q1, z2) + regression_loss(q2, z1)
        if not math.isfinite(loss.item()):
            raise SystemExit(f"loss is {loss.item()} at step {t}: lower the learning rate")
        for gr in opt.param_groups:
            gr["lr"] = lr_at(t)
        opt.zero_grad(), loss.backward(), opt.step()
        tau = tau_at(t, total)  # the momentum of this step's update: k = steps done before it
        with torch.no_grad():
            for pt, po in zip(target.parameters(), online.parameters()):
                pt.mul_(tau).add_(po, alpha=1 - tau)
        losses.append(loss.item())
    pretrain_seconds = time.time() - t0

    lin, kn = base.evaluate(enc, x, y, classes, args)
    rlin, rkn = base.evaluate(random_enc, x, y, classes, args)
    res = dict(data=os.path.basename(args.data), method="byol", recipe=args.recipe, augment=args.augment,
               epochs=args.epochs, width=args.width, seed=args.seed, pretrain_seconds=round(pretrain_seconds, 2),
               steps=total, final_loss=losses[-1] if losses else None, linear_test_auc=lin["test_auc"],
               knn_test_auc=kn["test_auc"], random_linear_test_auc=rlin["test_auc"], random_knn_test_auc=rkn["test_auc"],
               selected=dict(batch=args.batch, lr=base_lr, linear=lin, knn=kn, random_linear=rlin, random_knn=rkn))
    print(line := json.dumps(res), flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
