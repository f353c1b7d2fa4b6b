// Package segment is the segmentation protocol: it trains a segmentation network (an
// encoder's feature maps decoded by models.UNetDecoder) on labelled 2D slices (data/seg),
// from scratch or from a pretrained encoder, selects the model on validation Dice, and
// scores test volumes in 3D.
//
// Arms. ArmSupervised trains encoder and decoder from random initialisation: the baseline.
// ArmFineTune starts the encoder from a pretrained store (its variables under
// models.EncoderScope, as every ssl method and ssl.LoadEncoder give them) and trains the
// whole network. ArmFrozen keeps the pretrained encoder as a fixed feature extractor, in
// inference mode (batch norm uses its stored statistics, exactly as at test time), and
// trains the decoder only: what the features alone support.
//
// Loss. Cross-entropy plus soft Dice (DiceCELoss), as nnU-Net and MONAI's DiceCELoss
// train: cross-entropy gives every pixel a gradient from the start, Dice counters the
// imbalance of small structures against background.
//
// Selection and evaluation. After every validation interval the model predicts the
// validation slices, which are stacked back into volumes; the mean over volumes and
// foreground classes of the 3D Dice decides which weights are kept (validation Dice only:
// the test split is never looked at). Evaluate stacks the test predictions back into
// volumes and reports, per class, Dice, IoU and HD95 in mm with the volumes' spacing
// (eval/metrics: ScoreVolume, SummariseSegmentation, and their empty-mask conventions).
//
// A study runner calls RunArm once per cell with the cell's labelled training slices
// (seg.Set.LabelFraction, then Set.Slices), the validation and test slices, the seed and,
// for the pretrained arms, the pretrained encoder store.
package segment
