package metrics

import (
	"fmt"
	"math"
	"strconv"
)

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

// Names of the segmentation metrics in Segmentation.Map, reports, CSV and JSON. The
// per-class forms append "_" and the class: "dice_1", "hd95_inf_2".
const (
	MetricDice    = "dice"     // mean over foreground classes of the mean Dice over volumes
	MetricIoU     = "iou"      // likewise for IoU
	MetricHD95    = "hd95"     // mean over foreground classes of the mean finite HD95 (mm)
	MetricHD95Inf = "hd95_inf" // per class only: volumes whose HD95 is +Inf
)

// VolumeScores are one volume's segmentation metrics per class (index k is class k).
type VolumeScores struct {
	Dice, IoU, HD95 []float64
}

// ScoreVolume returns the Dice, IoU and HD95 (in mm, see HD95) of each class k of a
// predicted label volume against the true one, both on grid g with a class in
// [0, classes) per voxel: the metrics of the binary masks truth == k and pred == k, with
// their empty-mask conventions (a class absent from both: Dice 1, IoU 1, HD95 0; present
// in one only: Dice 0, IoU 0, HD95 +Inf).
func ScoreVolume(truth, pred []uint8, classes int, g Grid) (VolumeScores, error) {
	if len(truth) == 0 {
		return VolumeScores{}, fmt.Errorf("%w (empty volume)", ErrEmpty)
	}
	if len(truth) != len(pred) {
		return VolumeScores{}, fmt.Errorf("%w: true volume has %d voxels, predicted %d", ErrShape, len(truth), len(pred))
	}
	if classes < 2 {
		return VolumeScores{}, fmt.Errorf("%w: %d classes, want >= 2", ErrShape, classes)
	}
	for i := range truth {
		if int(truth[i]) >= classes || int(pred[i]) >= classes {
			return VolumeScores{}, fmt.Errorf("%w: voxel %d holds classes %d (true) and %d (predicted), want [0, %d)", ErrLabel, i, truth[i], pred[i], classes)
		}
	}
	s := VolumeScores{Dice: make([]float64, classes), IoU: make([]float64, classes), HD95: make([]float64, classes)}
	t := make([]bool, len(truth))
	p := make([]bool, len(pred))
	for k := range classes {
		for i := range truth {
			t[i], p[i] = int(truth[i]) == k, int(pred[i]) == k
		}
		var err error
		s.Dice[k], _ = Dice(t, p) // cannot fail: lengths checked
		s.IoU[k], _ = IoU(t, p)
		if s.HD95[k], err = HD95(t, p, g); err != nil {
			return VolumeScores{}, err
		}
	}
	return s, nil
}

// Segmentation summarises the VolumeScores of a test set.
type Segmentation struct {
	Volumes, Classes int
	// Dice and IoU are, per class, the mean over volumes.
	Dice, IoU []float64
	// HD95 is, per class, the mean over the volumes where it is finite (NaN when none is),
	// and HD95Inf the number of volumes where it is +Inf (the class is missing from exactly
	// one of truth and prediction): averaging +Inf in would hide every other volume.
	HD95    []float64
	HD95Inf []int
	// MeanDice, MeanIoU and MeanHD95 average the per-class values over the foreground
	// classes 1…Classes−1 (background is left out: it dominates the voxels).
	MeanDice, MeanIoU, MeanHD95 float64
}

// SummariseSegmentation averages per-volume scores (see Segmentation).
func SummariseSegmentation(scores []VolumeScores) (Segmentation, error) {
	if len(scores) == 0 {
		return Segmentation{}, fmt.Errorf("%w (no volumes)", ErrEmpty)
	}
	k := len(scores[0].Dice)
	if k < 2 {
		return Segmentation{}, fmt.Errorf("%w: %d classes, want >= 2", ErrShape, k)
	}
	s := Segmentation{Volumes: len(scores), Classes: k, Dice: make([]float64, k), IoU: make([]float64, k),
		HD95: make([]float64, k), HD95Inf: make([]int, k)}
	finite := make([]int, k)
	for i, v := range scores {
		if len(v.Dice) != k || len(v.IoU) != k || len(v.HD95) != k {
			return Segmentation{}, fmt.Errorf("%w: volume %d has %d/%d/%d class scores, volume 0 %d", ErrShape, i, len(v.Dice), len(v.IoU), len(v.HD95), k)
		}
		for c := range k {
			s.Dice[c] += v.Dice[c] / float64(len(scores))
			s.IoU[c] += v.IoU[c] / float64(len(scores))
			if math.IsInf(v.HD95[c], 1) {
				s.HD95Inf[c]++
				continue
			}
			s.HD95[c] += v.HD95[c]
			finite[c]++
		}
	}
	for c := range k {
		s.HD95[c] /= float64(finite[c]) // 0/0 = NaN when no volume is finite
	}
	for c := 1; c < k; c++ {
		s.MeanDice += s.Dice[c] / float64(k-1)
		s.MeanIoU += s.IoU[c] / float64(k-1)
		s.MeanHD95 += s.HD95[c] / float64(k-1)
	}
	return s, nil
}

// Map returns the summary keyed by stable names: "dice", "iou", "hd95" (foreground means)
// and "dice_k", "iou_k", "hd95_k", "hd95_inf_k" for every class k.
func (s Segmentation) Map() map[string]float64 {
	out := map[string]float64{MetricDice: s.MeanDice, MetricIoU: s.MeanIoU, MetricHD95: s.MeanHD95}
	for c := range s.Classes {
		k := "_" + strconv.Itoa(c)
		out[MetricDice+k], out[MetricIoU+k], out[MetricHD95+k] = s.Dice[c], s.IoU[c], s.HD95[c]
		out[MetricHD95Inf+k] = float64(s.HD95Inf[c])
	}
	return out
}
