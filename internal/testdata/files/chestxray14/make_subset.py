#!/usr/bin/python3
"""Copies a small, fixed subset of ../shared/data/nih-chestxray14-1000 (NIH ChestX-ray14 at
64x64, see that folder's README) into this folder for medssl's multi-label tests: whole
patients only (so patient-level splits stay meaningful), every one of the 14 findings
present, about 180 images.

Selection (seeded, so rerunning gives the same files): patients with more than 12 images
are left out (a few patients would otherwise dominate); then, rarest finding first, random
patients having that finding are added until it has at least 5 positive images in at
least 3 patients (or every patient that has it); then random patients fill up to 180
images. Images are re-saved as 8-bit grayscale PNG: the source PNGs are RGB with three
equal channels (checked here), so no pixel value changes and the files are a third of the
size.

    cd internal/testdata/files/chestxray14
    /usr/bin/python3 make_subset.py /work/shared/data/nih-chestxray14-1000

Needs numpy and Pillow (Debian 12: python3-numpy 1.24.2, python3-pil 9.4.0).
"""

import csv
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 180
MAX_PER_PATIENT = 12


def main(src):
    with open(os.path.join(src, "labels.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    findings = header[5:]
    by_patient = {}
    for r in rows:
        by_patient.setdefault(r[1], []).append(r)
    rng = np.random.default_rng(20261130)
    eligible = sorted((p for p, rs in by_patient.items() if len(rs) <= MAX_PER_PATIENT), key=int)
    chosen = []

    def images_with(k):
        return sum(int(r[5 + k]) for p in chosen for r in by_patient[p])

    def patients_with(k, pool):
        return [p for p in pool if any(r[5 + k] == "1" for r in by_patient[p])]

    totals = [sum(int(r[5 + k]) for r in rows) for k in range(len(findings))]
    for k in sorted(range(len(findings)), key=lambda k: totals[k]):
        cand = patients_with(k, [p for p in eligible if p not in chosen])
        rng.shuffle(cand)
        while cand and (images_with(k) < 5 or len(patients_with(k, chosen)) < 3):
            chosen.append(cand.pop())
    rest = [p for p in eligible if p not in chosen]
    rng.shuffle(rest)
    while rest and sum(len(by_patient[p]) for p in chosen) < TARGET:
        chosen.append(rest.pop())

    out_rows = sorted((r for p in chosen for r in by_patient[p]), key=lambda r: r[0])
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    for r in out_rows:
        img = np.asarray(Image.open(os.path.join(src, "images", r[0])))
        if img.ndim == 3:
            assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all(), r[0]
            img = img[..., 0]
        Image.fromarray(img.astype(np.uint8), mode="L").save(os.path.join(HERE, "images", r[0]), optimize=True)
    with open(os.path.join(HERE, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(out_rows)
    counts = {name: sum(int(r[5 + k]) for r in out_rows) for k, name in enumerate(findings)}
    print(len(out_rows), "images of", len(chosen), "patients;", counts)
    print("no finding:", sum(all(v == "0" for v in r[5:]) for r in out_rows))


if __name__ == "__main__":
    main(sys.argv[1])
