// Package plot draws the figures of a study as PNG files: label-efficiency curves
// with confidence bands, ROC curves with their AUC, training curves (loss and
// collapse metrics) and 2D PCA views of embeddings.
//
// Inputs are plain slices so any caller can use it without importing the rest of
// medssl. Every function validates its input and returns an error prefixed with
// "plot:" (wrapping ErrEmpty, ErrShape or ErrValue) instead of panicking; it never
// creates directories. Figures are Width x Height inches at DPI dots per inch
// (training curves grow by PanelHeight per extra panel), with the legend in its
// own column right of the axes so it never covers data. Colours follow the
// Okabe-Ito palette, which stays distinguishable under the common colour-vision
// deficiencies; each series also gets its own marker shape.
//
// It is built on gonum.org/v1/plot.
package plot
