package data

import (
	_ "embed"
)

// breastMNISTNpz is the official 28x28 BreastMNIST release (md5 750601b1f35ba3300ea97c75c52ff8f6).
// MedMNIST is licensed CC BY 4.0; credit: Yang et al., MedMNIST v2, Scientific Data 2023.
// BreastMNIST derives from Al-Dhabyani et al., Data in Brief 2020.
//
//go:embed embedded/breastmnist.npz
var breastMNISTNpz []byte

// BreastMNIST returns the embedded BreastMNIST (28x28 grayscale breast ultrasound, binary:
// 0 = malignant, 1 = normal or benign; train 546, val 78, test 156 images). It decodes
// the archive on every call, so callers own the result.
//
// MedMNIST is licensed CC BY 4.0: credit Yang et al., MedMNIST v2, Scientific Data 2023.
func BreastMNIST() (*Dataset, error) {
	return ReadMedMNISTBytes(breastMNISTNpz, "breastmnist.npz")
}
