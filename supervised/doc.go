// Package supervised learns from labels: it trains an encoder with a linear head on
// labelled images, from random initialisation (the baseline arm of an SSL study) or from a
// pretrained encoder (fine-tuning: whole, from a layer on, or with the encoder frozen); a
// linear classifier on feature vectors (TrainLinear, the learner of eval's linear probe);
// and attention-based multiple-instance learning over bags of slices (TrainMIL).
//
// Multi-label splits (several 0/1 findings per image, data.Split.MultiLabel) train one
// logit per label with binary cross-entropy (MultiLabelLoss), predict per-label sigmoids
// and select the epoch by validation macro AUC (Train, TrainLinearMultiLabel); Score
// computes either kind's metrics. Their remedies weigh each label's positives
// (PositiveWeights); effective-number weights and resampling have no multi-label form
// and are errors.
//
// DefaultConfig is the MedMNIST protocol (Yang et al., MedMNIST v2, 2023): Adam, learning
// rate 1e-3, batch 128, 100 epochs, learning rate ×0.1 at 50% and 75% of training, and the
// epoch with the best validation AUC kept. Every field of Config means what it says, zero
// included. The test split is never looked at here; package eval scores it.
package supervised
