// Package supervised trains classifiers on labelled images: from random initialisation
// (the baseline arm of an SSL study), by fine-tuning a pretrained encoder, or as a linear
// probe on frozen pretrained features.
//
// All three use the MedMNIST protocol by default (Yang et al., MedMNIST v2, 2023): Adam,
// learning rate 1e-3, batch 128, learning rate ×0.1 at 50% and 75% of the epochs, and the
// epoch with the best validation AUC is kept. The test split is never looked at here.
package supervised
