// Package augment holds composable, seeded, per-sample random image transforms that run
// inside the GoMLX graph on a whole batch, on the same backend as the model.
//
// Conventions, stated once:
//   - Images are channels-last [B, H, W, C] floats in [0, 1] (float32 usually).
//   - Every Transform draws its random parameters per sample from the scope's random
//     number generator (scope.RandomUniform and friends), so a Store seeded with
//     Store.SetRNGStateFromSeed (or the model.ParamInitialSeed parameter) gives the same
//     views for the same inputs, and each call draws new ones.
//   - Geometric transforms move all channels of a sample together.
//   - Every transform leaves values in [0, 1]: interpolations are convex combinations
//     and intensity transforms clip their output.
//   - Transforms are built for the pure-Go backend's strengths: crop+resize and blur are
//     separable and written as batched matrix products (out = Ry · img · Rxᵀ with
//     per-sample [B, out, in] matrices), flips and 90° rotations are per-sample selects
//     between x and a reversed/transposed x, and only the small-angle rotation uses a
//     gather (bilinear sampling).
//   - The input images are data: no gradient flows through the random parameters.
//
// Segmentation needs image and mask moved together: a JointTransform (JointFlip,
// JointRot90, JointRotation, JointCrop, composed by JointPipeline, see
// SegmentationDefault) draws its parameters once per sample for both and reads the mask
// by nearest neighbour (RotateNearest, CropResizeNearest), while ImageOnly applies any
// intensity Transform to the images alone.
//
// Transform values are plain structs with documented defaults from their constructors
// (New*/...Default functions); every field can be changed before use. The deterministic
// kernels behind them (CropResize, Rotate, Rot90, Blur, FlipWhere) are exported for
// callers that choose the parameters themselves.
package augment
