package dicom_test

import (
	"fmt"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/dicom"
)

// Read a CT series from a folder (files sorted by position, not name), then cut it
// into axial 2D images under a lung window for a 2D encoder.
func ExampleReadSeries() {
	v, err := dicom.ReadSeries("testdata/ct_series")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("dims:", v.Dims, "spacing:", v.Spacing, "patient:", v.Meta["PatientID"])
	fmt.Println("window in file:", v.Window)
	split, err := v.Slices(data.Axial, data.WindowCTLung, data.SliceEvery(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("images:", split.N, split.Height, "x", split.Width)
	// Output:
	// dims: [8 6 4 1] spacing: [0.8 0.7 2.5] patient: P001
	// window in file: {40 400}
	// images: 2 6 x 8
}
