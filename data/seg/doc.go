// Package seg reads segmentation data, images with their label maps, and cuts them into
// the aligned 2D image/mask slices that dense models train on.
//
// # Sources
//
// LoadNIfTI reads a folder of NIfTI volumes laid out as the Medical Segmentation Decathlon
// ships them (imagesTr/ and labelsTr/, or images/ and labels/): an image and its label
// volume share their file name. Every image must have a label and every label an image;
// image and label must have the same dimensions and affine (within AffineTolerance); label
// voxels must be whole numbers in [0, 255]. Files that break a rule are errors naming the
// file, or, with SkipBadFiles, are left out and listed in Set.Skipped: never dropped
// silently. Load2D reads a folder of 2D image files (PNG or JPEG) with mask files (binary
// 0/255 or indexed class values) under the same rules; each 2D image becomes a case of one
// slice. Both give a Set of Cases.
//
// # Splits and label fractions
//
// A case (a volume) is the unit of every split: Set.Split assigns whole cases to train,
// val and test through data.SplitByPatient (each case is its own patient unless a
// PatientOf function groups them) and records it in a data.Manifest; Set.Select cuts a set
// by a manifest. Set.LabelFraction keeps a seeded share of the cases, counted in volumes,
// nested across fractions for one seed.
//
// # Slices
//
// Set.Slices cuts every case into 2D slices along a data.Plane (oriented as data.Volume
// describes) and returns Slices: grey-level images and masks of one fixed size, with, per
// case, the Stack that puts predicted slices back into the volume for 3D evaluation.
//
// Intensity. MRI has no fixed intensity scale, so by default each volume gets its own
// window, from its 0.5th to its 99.5th intensity percentile (over all voxels, numpy's
// linear interpolation between order statistics), mapped linearly to grey levels 0..255
// and clipped: robust to a few very bright or dark voxels and independent of the scanner's
// units. A fixed window (CT in Hounsfield units) or the file's own can be asked for
// instead (SliceConfig.Window).
//
// Size. Each slice of h×w pixels is centred in the fixed Height×Width image: along each
// axis of n pixels and target size S, n ≤ S pads with ⌊(S−n)/2⌋ pixels before and the rest
// after (grey level 0 for images, background 0 for masks); n > S crops, keeping pixels
// ⌊(n−S)/2⌋ … ⌊(n−S)/2⌋+S−1. A Stack records the offset so that predictions map back
// exactly; pixels cropped away count as predicted background in 3D evaluation.
package seg
