package nifti_test

import (
	"fmt"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/nifti"
)

// Read a gzipped NIfTI-1 image and cut it into coronal slices windowed to its range.
func ExampleRead() {
	v, err := nifti.Read("testdata/n1_int16_scaled.nii.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("dims:", v.Dims, "affine from:", v.Meta["Affine"])
	split, err := v.Slices(data.Coronal, data.WindowFromFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("images:", split.N, split.Height, "x", split.Width)
	// Output:
	// dims: [5 4 3 1] affine from: sform
	// images: 5 4 x 3
}
