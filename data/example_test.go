package data_test

import (
	"fmt"

	"github.com/medssl/medssl/data"
)

// Load the embedded BreastMNIST, keep 10% of the training labels (stratified) and serve
// the subset in shuffled batches.
func Example() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.Name, ds.Task, ds.NumClasses, "classes")
	for _, s := range ds.Splits() {
		fmt.Printf("%s: %d images %dx%dx%d, class counts %v\n", s.Name, s.N, s.Height, s.Width, s.Channels, s.ClassCounts())
	}

	few, err := data.LabelFraction(ds.Train, 0.1, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println("10% of train:", few.ClassCounts())

	batches, err := data.NewBatches(few, 16, data.WithShuffle(1), data.WithDropLast())
	if err != nil {
		panic(err)
	}
	for batch := range batches.Iter() {
		fmt.Println("batch:", batch.Inputs[0].Shape(), batch.Labels[0].Shape())
		break
	}
	// Output:
	// breastmnist binary-class 2 classes
	// train: 546 images 28x28x1, class counts [147 399]
	// val: 78 images 28x28x1, class counts [21 57]
	// test: 156 images 28x28x1, class counts [42 114]
	// 10% of train: [15 40]
	// batch: (Float32)[16, 28, 28, 1] (Int32)[16]
}

// InduceImbalance cuts the minority class down to reach a majority:minority ratio.
func ExampleInduceImbalance() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	skewed, err := data.InduceImbalance(ds.Train, 10, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.Train.ClassCounts(), "->", skewed.ClassCounts())
	// Output: [147 399] -> [40 399]
}
