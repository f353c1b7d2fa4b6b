#!/usr/bin/python3
"""Writes nibabel.json: nibabel's reading of the hippocampus fixtures beside this script.

The Go tests (data/seg) read the same files with medssl's NIfTI reader and compare: shapes,
data types, affines, and a digest of every voxel, so a reader that differs from nibabel in
any voxel of an image or label volume fails.

For each file: "shape" (i, j, k as nibabel's array axes), "dtype" (the on-disk type),
"affine" (nibabel's img.affine, 4x4), "md5" (MD5 of img.get_fdata() cast to float32,
little-endian, Fortran order: i fastest, the order of data.Volume.Data), "sum" (sum of
get_fdata() in float64), "voxels" (a few [i, j, k, value] samples) and, for label files,
"counts" (voxels per label value).

Regenerate (Debian 12: nibabel 5.0.0, numpy 1.24.2):

    cd internal/testdata/files/hippocampus && /usr/bin/python3 nibabel_readings.py
"""

import hashlib
import json
import os

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def reading(path, label):
    img = nib.load(path)
    vox = img.get_fdata()  # float64, scl_slope/scl_inter applied
    f32 = np.asarray(vox, dtype="<f4")
    out = {
        "shape": list(img.shape),
        "dtype": str(img.get_data_dtype()),
        "affine": img.affine.tolist(),
        "md5": hashlib.md5(f32.tobytes(order="F")).hexdigest(),
        "sum": float(vox.sum()),
        "voxels": [],
    }
    ni, nj, nk = img.shape[:3]
    for i, j, k in [(0, 0, 0), (ni // 2, nj // 2, nk // 2), (ni - 1, nj - 1, nk - 1), (ni // 3, 2 * nj // 3, nk // 4)]:
        out["voxels"].append([i, j, k, float(vox[i, j, k])])
    if label:
        values, counts = np.unique(vox, return_counts=True)
        out["counts"] = {str(int(v)): int(c) for v, c in zip(values, counts)}
    return out


def main():
    result = {}
    for sub, label in (("images", False), ("labels", True)):
        for name in sorted(os.listdir(os.path.join(HERE, sub))):
            if name.endswith(".nii.gz"):
                result[sub + "/" + name] = reading(os.path.join(HERE, sub, name), label)
    with open(os.path.join(HERE, "nibabel.json"), "w") as fh:
        json.dump({"nibabel": nib.__version__, "numpy": np.__version__, "files": result}, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
