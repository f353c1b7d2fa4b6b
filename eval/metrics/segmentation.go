package metrics

import "fmt"

// Dice returns the Dice coefficient (F1 score) of a predicted binary mask against
// the true one, both flattened to the same length:
//
//	Dice = 2 |T ∩ P| / (|T| + |P|)
//
// By convention Dice is 1 when both masks are empty (nothing to find, nothing
// found), a choice some libraries make differently (MONAI can return NaN); a
// non-empty mask against an empty one gives 0.
func Dice(truth, pred []bool) (float64, error) {
	inter, t, p, err := overlap(truth, pred)
	if err != nil {
		return 0, err
	}
	if t+p == 0 {
		return 1, nil
	}
	return float64(2*inter) / float64(t+p), nil
}

// IoU returns the intersection over union (Jaccard index) of a predicted binary
// mask against the true one:
//
//	IoU = |T ∩ P| / |T ∪ P| = Dice / (2 - Dice)
//
// By convention IoU is 1 when both masks are empty, as Dice.
func IoU(truth, pred []bool) (float64, error) {
	inter, t, p, err := overlap(truth, pred)
	if err != nil {
		return 0, err
	}
	union := t + p - inter
	if union == 0 {
		return 1, nil
	}
	return float64(inter) / float64(union), nil
}

// overlap returns |T ∩ P|, |T| and |P|.
func overlap(truth, pred []bool) (inter, t, p int, err error) {
	if len(truth) == 0 {
		return 0, 0, 0, fmt.Errorf("%w (empty mask)", ErrEmpty)
	}
	if len(truth) != len(pred) {
		return 0, 0, 0, fmt.Errorf("%w: true mask has %d pixels, predicted mask %d", ErrShape, len(truth), len(pred))
	}
	for i, a := range truth {
		if a {
			t++
		}
		if pred[i] {
			p++
			if a {
				inter++
			}
		}
	}
	return inter, t, p, nil
}

// DicePerClass returns, for label masks whose pixels hold a class in [0, classes),
// the Dice coefficient of each class k, Dice(truth == k, pred == k). A class
// absent from both masks gets 1, Dice's empty-mask convention. Background is
// class 0 if the masks have one; leave it out of a mean if it should not count.
func DicePerClass(truth, pred []int, classes int) ([]float64, error) {
	return perClassMask(truth, pred, classes, Dice)
}

// IoUPerClass returns the IoU of each class k of label masks, IoU(truth == k,
// pred == k), 1 for a class absent from both masks.
func IoUPerClass(truth, pred []int, classes int) ([]float64, error) {
	return perClassMask(truth, pred, classes, IoU)
}

func perClassMask(truth, pred []int, classes int, f func(truth, pred []bool) (float64, error)) ([]float64, error) {
	if err := checkPred(truth, pred, classes); err != nil {
		return nil, err
	}
	t := make([]bool, len(truth))
	p := make([]bool, len(pred))
	out := make([]float64, classes)
	for k := range out {
		for i := range truth {
			t[i] = truth[i] == k
			p[i] = pred[i] == k
		}
		// Cannot fail: the lengths were checked.
		out[k], _ = f(t, p)
	}
	return out, nil
}
