// Package explain shows where a study's models look, as PNG figures: Grad-CAM heat maps for
// ResNet classifiers, attention rollout for ViT encoders, and masked-autoencoder
// reconstructions.
//
// Every arm's result becomes a Model: FromClassifier (the supervised and fine-tuning arms),
// FromProbe (the linear arm: frozen encoder and linear head), FromEncoder (the kNN arm, or
// any encoder). Model.Explain then picks the method:
//
//   - Grad-CAM (Selvaraju et al. 2017) for a classifier on a ResNet: the class logit's
//     gradient with respect to the last stage's feature maps, averaged over space, weighs
//     the maps; their ReLU'd sum is upsampled to the image and divided by its maximum.
//   - Attention rollout (Abnar and Zuidema 2020) for a ViT: per-block attention averaged
//     over heads, plus the identity, rows renormalised, multiplied across blocks; the
//     class token's row over the patches, upsampled the same way and stretched from its
//     minimum (never 0) to its maximum. It needs no head, so every ViT arm gets it, kNN
//     included.
//   - A ResNet kNN arm gets no map (ErrNoGradient): its neighbour vote has no class score to
//     differentiate, and a substitute (e.g. the gradient of the similarity to the nearest
//     training image) would explain something else under the same name.
//
// A study chooses the rows once (ChooseImages: a few seeded images per class of the test
// split) and explains them with every arm, so columns compare arms on the same images
// (NewColumn, HeatGrid, WriteGrid). Overlays blend the map, coloured with viridis (a
// perceptually uniform colormap), half-and-half on the grey image. MAEReconstructions and
// MAEGrid show what a pretrained MAE makes of masked images.
//
// On 28×28 images the last ResNet stage (small-image stem) is a 4×4 grid and a ViT with
// 4-pixel patches has a 7×7 grid: the maps are coarse blobs by construction, whatever the
// model learnt. GradCAM takes an earlier stage for a finer map.
package explain
