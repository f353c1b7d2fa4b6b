// Package eval is medssl's evaluation layer: the protocols that measure what a pretrained
// encoder is worth with labels, and (in sub-packages) the study that compares them with
// supervised training, its reports and its plots.
//
// Protocols, each on the frozen or fine-tuned encoder whose weights live under
// models.EncoderScope of a store (a pretraining's, a saved encoder's, or RandomEncoder's):
//
//   - LinearProbe and LinearProbeSearch: a linear classifier on frozen features, learning
//     rate × weight decay chosen on the validation split;
//   - KNN: a weighted vote of the k most similar training features (Wu et al. 2018);
//   - FineTune: the encoder trained further with a new head, fully or from a layer on;
//   - DetectOOD: out-of-distribution detection from frozen features (max softmax,
//     energy, Mahalanobis);
//   - RunArm: any of the study's arms (Arm) with the settings of Protocols, the one place
//     the study and the examples dispatch on an arm.
//
// Model selection only ever reads the validation split; test splits are only scored.
//
// Every protocol also takes multi-label splits (several 0/1 findings per image): the
// linear probe and fine-tuning learn one sigmoid per label with binary cross-entropy, kNN
// averages its neighbours' labels with the vote weights (KNNMultiLabelScores), and every
// model is selected on the validation macro AUC over the labels with both classes.
//
// Sub-packages: eval/metrics (metrics and statistics, a leaf every layer may import),
// eval/segment (the segmentation protocol: U-Nets trained, fine-tuned or over a frozen
// encoder, scored in 3D), eval/explain (Grad-CAM, attention rollout, MAE reconstructions),
// eval/study (the resumable study runner and its reports) and eval/plot (figures).
//
// Layers: data → augment → models → ssl / supervised → eval. Nothing below eval imports
// it; eval/metrics imports nothing of medssl.
package eval
