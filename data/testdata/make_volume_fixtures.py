#!/usr/bin/python3
"""Writes the small DICOM and NIfTI fixtures of data/dicom and data/nifti, and the
readings of independent tools (pydicom, nibabel, dcmtk) beside them in expected.json.

The Go tests compare their own readings with expected.json, so CI needs no Python.

Regenerate (Debian 12 packages; versions used: pydicom 2.3.1, nibabel 5.0.0,
numpy 1.24.2, dcmtk 3.6.7):

    apt-get install -y python3-pydicom python3-nibabel python3-numpy dcmtk
    cd data/testdata && /usr/bin/python3 make_volume_fixtures.py

Every fixture is tiny (a few hundred bytes to a few KB). Pixel values are random but
seeded, so the files are reproducible (except DICOM UIDs of dcmtk-written files).
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile

import nibabel as nib
import numpy as np
import pydicom
from nibabel.nicom import dicomwrappers
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixel_data_handlers.util import apply_modality_lut
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian)

HERE = os.path.dirname(os.path.abspath(__file__))
DCM = os.path.join(HERE, "..", "dicom", "testdata")
NII = os.path.join(HERE, "..", "nifti", "testdata")
RNG = np.random.default_rng(20261122)
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"


def uid(*parts):
    return "1.2.826.0.1.3680043.2.1125." + ".".join(str(p) for p in parts)


# ---------------------------------------------------------------- DICOM


def dicom_dataset(rows, cols, pixels, *, bits=16, signed=True, ts=ExplicitVRLittleEndian,
                  series=1, instance=1, modality="CT", photometric="MONOCHROME2",
                  frames=None, **attrs):
    """A minimal image dataset with native pixel data `pixels` (uint/int numpy array)."""
    meta = FileMetaDataset()
    sop_class = CT_IMAGE if modality == "CT" else MR_IMAGE
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid(series, instance)
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = uid(0)
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid(7, 1)
    ds.SeriesInstanceUID = uid(7, 1, series)
    ds.PatientID = "P001"
    ds.PatientName = "Test^Fixture"
    ds.Modality = modality
    ds.SeriesDescription = f"fixture series {series}"
    ds.InstanceNumber = instance
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    if frames is not None:
        ds.NumberOfFrames = frames
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder(">" if ts == ExplicitVRBigEndian else "<")).tobytes()
    return ds


def save(ds, path):
    ds.save_as(path, write_like_original=False)


def dicom_reading(path):
    """pydicom's (and nibabel.nicom's) reading of one file."""
    ds = pydicom.dcmread(path)
    arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    out = {
        "rows": int(ds.Rows), "cols": int(ds.Columns),
        "frames": int(getattr(ds, "NumberOfFrames", 1) or 1),
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "photometric": str(ds.PhotometricInterpretation),
        # pixel values after RescaleSlope/Intercept, frame by frame, row by row
        "values": arr.reshape(-1).tolist(),
        "patient_id": str(ds.get("PatientID", "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "modality": str(ds.get("Modality", "")),
    }
    for key, attr in [("position", "ImagePositionPatient"), ("orientation", "ImageOrientationPatient"),
                      ("pixel_spacing", "PixelSpacing")]:
        if attr in ds:
            out[key] = [float(x) for x in ds[attr].value]
    if "WindowCenter" in ds:
        wc, ww = ds.WindowCenter, ds.WindowWidth
        out["window"] = [float(wc[0] if isinstance(wc, pydicom.multival.MultiValue) else wc),
                         float(ww[0] if isinstance(ww, pydicom.multival.MultiValue) else ww)]
    if "SliceThickness" in ds:
        out["slice_thickness"] = float(ds.SliceThickness)
    try:  # nibabel's own DICOM geometry: affine to LPS patient space for a single slice
        w = dicomwrappers.wrapper_from_data(ds)
        out["nibabel_affine_lps"] = np.asarray(w.affine).tolist()
    except Exception as e:  # noqa: BLE001 - record why nibabel could not
        out["nibabel_affine_error"] = repr(e)
    return out


def series_expected(folder, files):
    """Sorts files by position along the slice normal; volume values x (column) fastest."""
    reads = {f: dicom_reading(os.path.join(folder, f)) for f in files}
    first = reads[files[0]]
    o = np.array(first["orientation"])
    normal = np.cross(o[:3], o[3:])
    order = sorted(files, key=lambda f: float(np.dot(normal, reads[f]["position"])))
    vals = []
    for f in order:
        vals.extend(reads[f]["values"])
    p0, p1 = np.array(reads[order[0]]["position"]), np.array(reads[order[-1]]["position"])
    step = (p1 - p0) / (len(order) - 1)
    dr, dc = first["pixel_spacing"]
    aff = np.eye(4)
    aff[:3, 0] = o[:3] * dc
    aff[:3, 1] = o[3:] * dr
    aff[:3, 2] = step
    aff[:3, 3] = p0
    nib_aff = reads[order[0]].get("nibabel_affine_lps")
    if nib_aff is not None:  # nibabel's in-plane columns must agree with ours
        assert np.allclose(np.asarray(nib_aff)[:3, :2], aff[:3, :2][:, [1, 0]]) or \
            np.allclose(np.asarray(nib_aff)[:3, :2], aff[:3, :2]), (nib_aff, aff)
    return {"order": order, "dims": [first["cols"], first["rows"], len(order)],
            "values": vals, "affine_lps": aff.tolist(), "window": first.get("window"),
            "patient_id": first["patient_id"], "series_uid": first["series_uid"],
            "files": reads}


def make_dicom():
    shutil.rmtree(DCM, ignore_errors=True)
    os.makedirs(DCM)
    exp = {"files": {}, "series": {}}

    # CT series: 4 axial slices 6x8, int16 stored, per-slice rescale, file names and
    # InstanceNumbers that disagree with the positions.
    ct = os.path.join(DCM, "ct_series")
    os.makedirs(ct)
    z = [10.0, 12.5, 15.0, 17.5]
    slopes, inters = [1, 1, 2, 1], [-1024, -1024, -1000, -1024]
    names = ["im_c.dcm", "im_a.dcm", "im_d.dcm", "im_b.dcm"]  # slice k -> file name
    for k in range(4):
        px = RNG.integers(-200, 1400, size=(6, 8)).astype(np.int16)
        ds = dicom_dataset(6, 8, px, series=1, instance=4 - k,
                           ts=ImplicitVRLittleEndian if k % 2 else ExplicitVRLittleEndian,
                           ImagePositionPatient=[-20.0, -15.0, z[k]],
                           ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                           PixelSpacing=[0.7, 0.8], SliceThickness=2.5,
                           RescaleSlope=slopes[k], RescaleIntercept=inters[k],
                           WindowCenter=40, WindowWidth=400)
        save(ds, os.path.join(ct, names[k]))
    with open(os.path.join(ct, "README.txt"), "w") as f:
        f.write("not a DICOM file: readers must skip it\n")
    exp["series"]["ct_series"] = series_expected(ct, names)

    # Oblique series (MR, uint16, big-endian explicit VR for one file): rows/cols tilted
    # 30 degrees about x, slices along their normal, stored in reverse order.
    ob = os.path.join(DCM, "oblique_series")
    os.makedirs(ob)
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    row_dir, col_dir = np.array([0.0, c, s]), np.array([0.0, -s, c])
    normal = np.cross(row_dir, col_dir)
    onames = []
    for k in range(3):
        pos = np.array([5.0, -3.0, 7.0]) + (2 - k) * 3.0 * normal
        px = RNG.integers(0, 4000, size=(5, 4)).astype(np.uint16)
        name = f"slice{k}.dcm"
        ds = dicom_dataset(5, 4, px, signed=False, series=2, instance=k + 1, modality="MR",
                           ts=ExplicitVRBigEndian if k == 1 else ExplicitVRLittleEndian,
                           ImagePositionPatient=[float(x) for x in pos],
                           ImageOrientationPatient=[float(x) for x in np.concatenate([row_dir, col_dir])],
                           PixelSpacing=[1.5, 1.25], SliceThickness=3)
        save(ds, os.path.join(ob, name))
        onames.append(name)
    exp["series"]["oblique_series"] = series_expected(ob, onames)

    # MONOCHROME1 single image with a window, uint16 with BitsStored 12.
    px = RNG.integers(0, 4096, size=(4, 5)).astype(np.uint16)
    ds = dicom_dataset(4, 5, px, signed=False, series=3, modality="CR", photometric="MONOCHROME1",
                       PixelSpacing=[0.2, 0.2], WindowCenter=2048, WindowWidth=4096)
    ds.BitsStored, ds.HighBit = 12, 11
    save(ds, os.path.join(DCM, "mono1.dcm"))

    # Multi-frame with functional groups (as Enhanced CT): 3 frames stored top-down.
    px = RNG.integers(-100, 900, size=(3, 4, 6)).astype(np.int16)
    ds = dicom_dataset(4, 6, px, series=4, frames=3, RescaleSlope=1, RescaleIntercept=-1024)
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [0.5, 0.6]
    pm.SliceThickness = 2
    po = Dataset()
    po.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PixelMeasuresSequence = [pm]
    shared.PlaneOrientationSequence = [po]
    ds.SharedFunctionalGroupsSequence = [shared]
    per = []
    for f in range(3):
        item, pp = Dataset(), Dataset()
        pp.ImagePositionPatient = [1.0, 2.0, 30.0 - 2.0 * f]
        item.PlanePositionSequence = [pp]
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = per
    save(ds, os.path.join(DCM, "multiframe_fg.dcm"))

    # Legacy multi-frame: top-level geometry and SpacingBetweenSlices.
    px = RNG.integers(0, 255, size=(2, 3, 4)).astype(np.uint8)
    ds = dicom_dataset(3, 4, px, bits=8, signed=False, series=5, frames=2, modality="MR",
                       ImagePositionPatient=[0.0, 0.0, 0.0], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                       PixelSpacing=[1.0, 1.0], SliceThickness=4, SpacingBetweenSlices=5)
    save(ds, os.path.join(DCM, "multiframe_legacy.dcm"))

    # Compressed: RLE Lossless by dcmtk's dcmcrle; JPEG baseline and lossless by dcmcjpeg.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src16.dcm")
        px = RNG.integers(-500, 2000, size=(6, 5)).astype(np.int16)
        save(dicom_dataset(6, 5, px, series=6, ImagePositionPatient=[0.0, 0.0, 0.0],
                           ImageOrientationPatient=[1, 0, 0, 0, 1, 0], PixelSpacing=[1.0, 1.0],
                           RescaleSlope=1, RescaleIntercept=-1024), src)
        subprocess.run(["dcmcrle", src, os.path.join(DCM, "rle.dcm")], check=True)
        subprocess.run(["dcmcjpeg", src, os.path.join(DCM, "jpeg_lossless.dcm")], check=True)
        src8 = os.path.join(tmp, "src8.dcm")
        yy, xx = np.mgrid[0:16, 0:16]
        px8 = (8 * xx + 4 * yy + RNG.integers(0, 8, size=(16, 16))).clip(0, 255).astype(np.uint8)
        save(dicom_dataset(16, 16, px8, bits=8, signed=False, series=7, modality="OT",
                           PixelSpacing=[1.0, 1.0]), src8)
        subprocess.run(["dcmcjpeg", "+eb", src8, os.path.join(DCM, "jpeg_baseline.dcm")], check=True)
        # pydicom cannot decode JPEG without plugins: dcmtk decodes, pydicom reads that.
        dec = os.path.join(tmp, "jpeg_baseline_decoded.dcm")
        subprocess.run(["dcmdjpeg", os.path.join(DCM, "jpeg_baseline.dcm"), dec], check=True)
        exp["files"]["jpeg_baseline.dcm"] = dicom_reading(dec)
        exp["files"]["jpeg_baseline.dcm"]["transfer_syntax"] = str(
            pydicom.dcmread(os.path.join(DCM, "jpeg_baseline.dcm")).file_meta.TransferSyntaxUID)
        exp["files"]["jpeg_baseline.dcm"]["decoded_by"] = "dcmtk dcmdjpeg (libijg), read by pydicom"
        exp["files"]["jpeg_lossless.dcm"] = {"transfer_syntax": str(
            pydicom.dcmread(os.path.join(DCM, "jpeg_lossless.dcm")).file_meta.TransferSyntaxUID)}

    for f in ["mono1.dcm", "multiframe_fg.dcm", "multiframe_legacy.dcm", "rle.dcm"]:
        exp["files"][f] = dicom_reading(os.path.join(DCM, f))
    # Multi-frame geometry: frames sorted along the normal (here +z), as a series.
    ds = pydicom.dcmread(os.path.join(DCM, "multiframe_fg.dcm"))
    pos = [[float(x) for x in it.PlanePositionSequence[0].ImagePositionPatient]
           for it in ds.PerFrameFunctionalGroupsSequence]
    order = sorted(range(len(pos)), key=lambda i: pos[i][2])
    e = exp["files"]["multiframe_fg.dcm"]
    e["frame_positions"], e["frame_order"] = pos, order
    pm = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    aff = np.eye(4)
    aff[:3, 0] = [float(pm.PixelSpacing[1]), 0, 0]
    aff[:3, 1] = [0, float(pm.PixelSpacing[0]), 0]
    aff[:3, 2] = (np.array(pos[order[-1]]) - pos[order[0]]) / (len(pos) - 1)
    aff[:3, 3] = pos[order[0]]
    e["affine_lps"] = aff.tolist()
    aff = np.eye(4)
    aff[:3, 2] = [0, 0, 5.0]  # SpacingBetweenSlices along the normal
    exp["files"]["multiframe_legacy.dcm"]["affine_lps"] = aff.tolist()

    # Broken series: two SeriesInstanceUIDs; two image sizes.
    for name, sizes, series in [("mixed_series", [(4, 4), (4, 4)], [8, 9]),
                                ("mixed_sizes", [(4, 4), (4, 5)], [10, 10])]:
        d = os.path.join(DCM, name)
        os.makedirs(d)
        for k, ((r, c), se) in enumerate(zip(sizes, series)):
            ds = dicom_dataset(r, c, np.zeros((r, c), np.int16), series=se, instance=k + 1,
                               ImagePositionPatient=[0.0, 0.0, float(k)],
                               ImageOrientationPatient=[1, 0, 0, 0, 1, 0], PixelSpacing=[1.0, 1.0])
            save(ds, os.path.join(d, f"{k}.dcm"))

    with open(os.path.join(DCM, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)


# ---------------------------------------------------------------- NIfTI


def rot(ax, deg):
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][ax]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def write_nifti(path, raw, hdr, gz=False):
    """Writes header and raw (unscaled) voxels by hand: nibabel's header writer, our
    layout, so scl_slope and both transforms are exactly what we set."""
    if tuple(hdr.get_data_shape()) != raw.shape:
        hdr.set_data_shape(raw.shape)
    hdr.set_data_dtype(raw.dtype)
    offset = int(hdr["vox_offset"]) if int(hdr["vox_offset"]) > 0 else (352 if hdr.sizeof_hdr == 348 else 544)
    hdr["vox_offset"] = offset
    endian = hdr.endianness
    import io
    buf = io.BytesIO()
    hdr.write_to(buf)
    buf.write(b"\0" * (offset - buf.tell()))
    buf.write(raw.astype(raw.dtype.newbyteorder(endian)).tobytes(order="F"))
    data = buf.getvalue()
    if gz:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


def nifti_reading(path):
    img = nib.load(path)
    hdr = img.header
    q, qc = hdr.get_qform(coded=True)
    s, sc = hdr.get_sform(coded=True)
    slope, inter = img.dataobj.slope, img.dataobj.inter  # nibabel moves scaling here
    return {
        "shape": list(img.shape),
        "dtype": str(hdr.get_data_dtype()),
        "affine": img.affine.tolist(),  # nibabel's best affine (sform, then qform)
        "qform": hdr.get_qform().tolist(), "qform_code": int(qc),
        "sform": hdr.get_sform().tolist(), "sform_code": int(sc),
        "zooms": [float(z) for z in hdr.get_zooms()],
        "slope": None if slope is None else float(slope),
        "inter": None if inter is None else float(inter),
        "units": list(hdr.get_xyzt_units()),
        "big_endian": hdr.endianness == ">",
        # voxels after scaling, x fastest (Fortran order), as data.Volume stores them
        "values": np.asarray(img.get_fdata(), dtype=np.float64).reshape(-1, order="F").tolist(),
    }


def make_nifti():
    shutil.rmtree(NII, ignore_errors=True)
    os.makedirs(NII)
    exp = {}

    # NIfTI-1 int16 with scl_slope, oblique qform (code 1) and a different sform (code 2).
    raw = RNG.integers(-300, 3000, size=(5, 4, 3)).astype(np.int16)
    h = nib.Nifti1Header()
    h.set_data_dtype(np.int16)
    h.set_data_shape(raw.shape)
    h.set_zooms((0.9, 1.1, 2.5))
    qa = np.eye(4)
    qa[:3, :3] = rot(2, 20) @ rot(0, 10) @ np.diag([0.9, 1.1, 2.5])
    qa[:3, 3] = [-10, 20, -30]
    h.set_qform(qa, code=1)
    sa = np.array([[0, 0, 2.5, 5], [-0.9, 0, 0, 6], [0, 1.1, 0, 7], [0, 0, 0, 1]])
    h.set_sform(sa, code=2)
    h.set_xyzt_units("mm", "sec")
    h["scl_slope"], h["scl_inter"] = 0.5, -1024
    h["descrip"] = b"int16 scaled qform+sform"
    write_nifti(os.path.join(NII, "n1_int16_scaled.nii"), raw, h)
    write_nifti(os.path.join(NII, "n1_int16_scaled.nii.gz"), raw, h, gz=True)

    # Same voxels, qform only with qfac -1, big-endian float32.
    h = nib.Nifti1Header(endianness=">")
    h.set_data_shape(raw.shape)
    h.set_zooms((0.9, 1.1, 2.5))
    qa2 = np.eye(4)
    qa2[:3, :3] = rot(1, 30) @ np.diag([0.9, 1.1, -2.5])  # det < 0 -> qfac = -1
    qa2[:3, 3] = [1, 2, 3]
    h.set_qform(qa2, code=1)
    h.set_sform(np.eye(4), code=0)
    write_nifti(os.path.join(NII, "n1_be_float32.nii"), raw.astype(np.float32) / 4, h)

    # NIfTI-2, 4D uint8, sform only, little-endian; and a big-endian NIfTI-2 int32.
    raw4 = RNG.integers(0, 256, size=(3, 3, 2, 3)).astype(np.uint8)
    h = nib.Nifti2Header()
    h.set_data_shape(raw4.shape)
    h.set_qform(np.eye(4), code=0)  # before set_zooms: set_qform rewrites pixdim
    h.set_zooms((2, 2, 3, 1.5))
    h.set_sform(np.array([[-2, 0, 0, 10], [0, 2, 0, -4], [0, 0, 3, 1], [0, 0, 0, 1.0]]), code=1)
    h.set_xyzt_units("mm", "sec")
    write_nifti(os.path.join(NII, "n2_uint8_4d.nii"), raw4, h)
    h = nib.Nifti2Header(endianness=">")
    raw32 = RNG.integers(-100000, 100000, size=(2, 3, 4)).astype(np.int32)
    h.set_data_shape(raw32.shape)
    h.set_zooms((1, 1, 1))
    h.set_sform(np.diag([1, 1, 1, 1.0]), code=1)
    h["scl_slope"], h["scl_inter"] = 2.0, 1.0
    write_nifti(os.path.join(NII, "n2_be_int32.nii"), raw32, h)

    # One small file per remaining datatype, no qform/sform (pixdim scaling).
    for dt, lo, hi in [(np.uint8, 0, 255), (np.int8, -128, 127), (np.uint16, 0, 65535),
                       (np.uint32, 0, 2**31), (np.int64, -2**40, 2**40), (np.float64, -1, 1)]:
        r = (RNG.uniform(lo, hi, size=(3, 2, 2)) if dt == np.float64
             else RNG.integers(lo, hi, size=(3, 2, 2))).astype(dt)
        h = nib.Nifti1Header()
        h.set_data_shape(r.shape)
        h.set_zooms((1.5, 2, 3))
        write_nifti(os.path.join(NII, f"n1_{np.dtype(dt).name}.nii"), r, h)

    # A .hdr/.img pair.
    img = nib.Nifti1Pair(RNG.integers(0, 100, size=(2, 2, 3)).astype(np.int16), np.diag([2, 2, 2, 1.0]))
    nib.save(img, os.path.join(NII, "pair.hdr"))

    for f in sorted(os.listdir(NII)):
        if f.endswith((".nii", ".nii.gz", ".hdr")):
            exp[f] = nifti_reading(os.path.join(NII, f))
    with open(os.path.join(NII, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)


if __name__ == "__main__":
    make_dicom()
    make_nifti()
    print("pydicom", pydicom.__version__, "nibabel", nib.__version__, "numpy", np.__version__)
