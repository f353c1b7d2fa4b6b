// Package metrics computes metrics on the host (classification, calibration,
// regression, segmentation, out-of-distribution detection) and the statistics that
// compare methods across seeds and test sets. It is a leaf: it imports nothing of
// medssl, so every layer (supervised's model selection, eval's protocols and study) may
// use it.
//
// Metrics are plain functions over slices in gonum's style. Throughout:
//
//   - labels[i] is the true class of example i, in [0, K).
//   - scores is an N x C matrix of class probabilities, scores[i][k] = P(class k | x_i).
//     C >= 2 gives K = C classes. C == 1 is accepted as a binary problem whose single
//     column is the probability of class 1 (a sigmoid output), so K = 2.
//     Probabilities must be finite and in [0, 1]; passing logits is an error because
//     the binary decision threshold of 0.5 would silently be wrong for them.
//   - pred[i] is a predicted class in [0, classes).
//
// The MedMNIST conventions (medmnist/evaluator.py, getAUC and getACC) are followed:
// a problem with K == 2 is binary, scored by the last column of scores (the positive
// class) and predicted positive when that score is > 0.5; K > 2 is multi-class,
// scored by the macro average of one-vs-rest ROC AUCs and predicted by argmax.
//
// Multi-label problems (ChestMNIST, ChestX-ray14: several findings per image) take an
// N x L 0/1 label matrix and N x L independent per-label probabilities; ComputeMultiLabel
// fills the same Metrics (MultiLabel set) with MedMNIST's definitions: AUC is the mean
// of the labels' ROC AUCs, ACC the mean of the labels' accuracies at 0.5. A label with a
// single class among the test labels has no AUC (scikit-learn raises an error): the macro
// averages skip it and Metrics.ScoredLabels counts the labels they kept (multilabel.go).
//
// Degenerate inputs. Two kinds are told apart:
//
//   - Malformed input is an error, never a number: no examples (ErrEmpty), lengths
//     that disagree or ragged score rows (ErrShape), a label or prediction outside
//     [0, K) (ErrLabel), a non-finite or out-of-range score (ErrScore).
//   - Well-formed input for which a metric is mathematically undefined (0/0) gives
//     NaN with a nil error. This happens when a class is absent from labels: its ROC
//     AUC and sensitivity are undefined, and so is any macro average over classes
//     that includes it (AUC, BalancedAccuracy, MacroF1 are then NaN; absent classes
//     are not skipped, unlike scikit-learn's warnings-and-skip or zero_division=0).
//     NaN propagates into report means and is written as "NaN" in CSV and as null in
//     JSON, so an undefined metric is always visible, never a silent number.
//
// Statistics. Across training seeds: MeanSD (sample sd) and TInterval (Student t
// interval of the mean). Across test examples: Bootstrap and BootstrapStratified
// (seeded percentile intervals of any statistic). Between two methods with paired
// seeds: PairedTTest and WilcoxonSignedRank (two-sided), and Holm to adjust the
// p-values of several comparisons. With 3 to 5 seeds these tests have little
// power: the smallest exact Wilcoxon p-value for 5 pairs is 0.0625.
//
// Segmentation. Dice and IoU of binary masks (both empty: 1), per class of label maps,
// and the 95th-percentile Hausdorff distance HD95 of 3D (or 2D) masks on a voxel grid
// with its spacing, in mm (both empty: 0; one empty: +Inf). ScoreVolume scores one volume
// per class; SummariseSegmentation averages volumes, counting infinite HD95 apart.
//
// Out-of-distribution scores (MaxSoftmaxScore, EnergyScore, Mahalanobis) are all
// oriented so that higher means more in-distribution; OODAUROC and FPRAtTPR
// evaluate them with in-distribution examples as positives.
package metrics
