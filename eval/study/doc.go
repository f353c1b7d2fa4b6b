// Package study runs the SSL-versus-supervised study that medssl exists for: a grid of
// pretext methods × evaluation protocols ("arms") × label fractions × class-imbalance ratios
// × seeds on one MedMNIST-style dataset, resumable at the granularity of one cell, and
// writes a Markdown report a researcher can paste into a paper.
//
// One cell is one (method, arm, label fraction, imbalance ratio, seed). Arms:
//
//   - "supervised": the encoder trained from random initialisation on the labelled subset
//     (supervised.Train), the baseline every other arm is compared with;
//   - "linear": a linear probe on frozen pretrained features, learning rate × weight decay
//     chosen on validation AUC (supervised.LinearProbeSearch);
//   - "knn": weighted kNN on frozen pretrained features (supervised.KNN);
//   - "finetune": the pretrained encoder fine-tuned, fully or from Config.FineTune.TrainableFrom
//     on, with its own encoder learning-rate multiplier.
//
// Method "none" means no pretraining: with "linear" and "knn" it evaluates the features of
// a randomly initialised encoder (a lower bound every pretext method must beat);
// "none"+"finetune" would repeat "supervised" and is left out.
//
// Data of a cell: the training split is first cut to the imbalance ratio
// (data.InduceImbalance, seeded), then to the label fraction (data.LabelFraction, seeded,
// stratified). Pretraining runs once per (method, imbalance, seed) on all images of the
// imbalanced training split, without labels, and is checkpointed under the output folder.
// Model selection uses the validation split only; the test split is only scored.
//
// Every finished cell is appended, as one JSON line, to <out>/results.jsonl and synced to
// disk; a restarted study reads the file back and skips the cells already there (with the
// same settings fingerprint), so it ends with the same results as an uninterrupted run:
// every cell is seeded and depends on nothing but its own settings and its pretraining.
package study
