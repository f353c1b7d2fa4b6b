// Package data loads MedMNIST images, makes seeded label-fraction and class-imbalance
// subsets of them, and serves them in batches as a GoMLX train.Dataset.
//
// # MedMNIST
//
// A MedMNIST file is a NumPy .npz archive (a zip of .npy arrays) with the six arrays
// train_images, train_labels, val_images, val_labels, test_images and test_labels.
// Images are uint8 [N,H,W] (grayscale) or [N,H,W,3] (RGB) with H = W in 28, 64, 128 or
// 224; labels are uint8 [N,1] or [N] (one class per image) or [N,L] (L binary labels per
// image, for multi-label sets such as ChestMNIST). The files do not say what kind of task
// they hold, so the loader keeps a table of the MedMNIST v2 2D sets (see [KnownSets]),
// found from the file name's prefix ("pathmnist_64.npz" is PathMNIST), infers the task of
// any other file from its labels, and lets the caller override both with [WithTask].
//
// Arrays are read with github.com/sbinet/npyio. Every size that an archive or array
// header claims is checked against the bytes that are really there before anything is
// allocated, so a corrupt or hostile file gives an error, never a panic or a huge
// allocation.
//
// # Other sources, patients and manifests
//
// Package data is the lowest layer: the packages under it read other sources into its
// types. Package data/folder reads folders of PNG and JPEG files (class sub-folders or a
// labels CSV) into a Split; data/stream streams such a folder from disk for sets larger
// than memory, as a [Source]; data/nifti and data/dicom read volumes, which [Volume]
// cuts into slices; data/seg pairs images with segmentation masks (NIfTI volumes or 2D
// files) and cuts them into aligned image/mask slices.
//
// Files with patients are [Item] values: [SplitByPatient] assigns every patient to one of
// train, val and test (stratified by label, seeded) and records the split in a [Manifest],
// which [WriteManifest] and [LoadManifest] store as JSON so that a study reruns on exactly
// the same splits. Loaders that may meet unreadable files report the ones they leave out
// as [BadFiles].
//
// # Multi-label data
//
// A multi-label split (Split.MultiLabel: ChestMNIST, or a folder read with
// folder.MultiLabelCSV) has L independent 0/1 labels per image. Its subsets are defined
// label by label: LabelFraction keeps every label with a positive and spreads each
// label's positives by iterative stratification (Sechidis et al. 2011); InduceImbalance
// cuts every label's positives against the images without any finding; SplitByPatient
// deals patients by iterative stratification over their findings. Each function's
// documentation gives the exact rule.
//
// # Embedded data and credit
//
// [BreastMNIST] returns the official 28x28 BreastMNIST release, embedded in the package
// (550 KB), so examples and tests run without any download.
//
// MedMNIST is licensed CC BY 4.0. Credit: Yang et al., "MedMNIST v2 - A large-scale
// lightweight benchmark for 2D and 3D biomedical image classification", Scientific Data,
// 2023. BreastMNIST itself is derived from Al-Dhabyani et al., "Dataset of breast
// ultrasound images", Data in Brief, 2020.
//
// # Conventions
//
// Images stay uint8, channels-last ([N,H,W,C] flattened), as in the files. Batches and
// the tensor helpers turn them into float32 scaled to [0, 1] (x / 255). Every random
// choice takes an explicit seed and is reproducible for that seed.
package data
