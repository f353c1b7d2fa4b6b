// Package study runs the SSL-versus-supervised study that medssl exists for: a grid of
// pretext methods × evaluation protocols ("arms") × label fractions × class-imbalance ratios
// × seeds (× folds) on one dataset, resumable at the granularity of one cell and divisible
// into shards, and writes a Markdown report a researcher can paste into a paper.
//
// One cell is one (method, pretraining source, arm, remedy, label fraction, imbalance
// ratio, seed, fold). Arms of a classification study (single- or multi-label):
//
//   - "supervised": the encoder trained from random initialisation on the labelled subset,
//     with or without a remedy against class imbalance: the baseline every other arm is
//     compared with (an arm with a remedy against the supervised arm with the same one);
//   - "linear": a linear probe on frozen pretrained features;
//   - "knn": weighted kNN on frozen pretrained features;
//   - "finetune": the pretrained encoder fine-tuned, fully or from a stage on.
//
// Every trained arm searches the same learning-rate (and weight-decay) grid on validation
// (eval.Search), so no arm is favoured by tuning. Method "none" means no pretraining: with
// the frozen-feature arms it evaluates a randomly initialised encoder (a lower bound every
// pretext method must beat); "none"+"finetune" would repeat "supervised" and is left out.
// A segmentation study (Config.Segmentation) runs U-Net arms instead: "supervised",
// "frozen" (a frozen pretrained encoder) and "finetune", on slices of volumes, with Dice.
//
// Data of a cell: the training split (or, under cross-validation, the other folds of train
// and val together) is first cut to the imbalance ratio (data.InduceImbalance, seeded),
// then to the label fraction (data.LabelFraction, seeded, stratified). Pretraining runs once
// per (method, imbalance, seed, fold) on all images of that training split, without labels,
// or once per (method, seed) on a pool (Config.Pools), and is checkpointed under the output
// folder. Model selection uses the validation split (or fold) only; the test split and the
// external test sets are only scored.
//
// Every finished cell is appended, as one JSON line, to a results file under the output
// folder and synced to disk; a restarted study reads the files back and skips the cells
// already there (with the same settings fingerprint), so it ends with the same results as
// an uninterrupted run: every cell is seeded and depends on nothing but its own settings
// and its pretraining. Shards (Config.Shard) split the grid between processes or machines
// on the same principle; Merge gathers shards that ran in separate folders; Workers runs
// several jobs of one process at once.
package study
