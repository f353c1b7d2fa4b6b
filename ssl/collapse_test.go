package ssl

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/medssl/medssl/internal/testutil"
)

func TestMeasureCollapseReferences(t *testing.T) {
	// Identical rows: std 0, a rank-1 matrix: collapsed.
	same := [][]float32{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}
	c, err := MeasureCollapse(same)
	if err != nil {
		t.Fatal(err)
	}
	if c.Std != 0 || math.Abs(c.EffectiveRank-1) > 1e-9 || !c.Collapsed {
		t.Errorf("identical rows: %+v, want std 0, rank 1, collapsed", c)
	}

	// The rows e1, e2, e3, e4 (d = 4): singular values all 1, so effective rank exp(ln 4) = 4.
	// Per dimension the normalised column is one 1 and three 0s: sample std
	// sqrt((0.75² + 3·0.25²)/3) = sqrt(0.25) = 0.5, so Std 0.5 and NormalizedStd 0.5·2 = 1.
	eye := [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	c, err = MeasureCollapse(eye)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.EffectiveRank-4) > 1e-9 || math.Abs(c.Std-0.5) > 1e-12 || math.Abs(c.NormalizedStd-1) > 1e-12 || c.Collapsed {
		t.Errorf("identity rows: %+v, want rank 4, std 0.5, normalised 1", c)
	}

	// Singular values 3 and 1 (rows (3,0) and (0,1)): p = (0.75, 0.25), rank exp(H).
	c, err = MeasureCollapse([][]float32{{3, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := math.Exp(-(0.75*math.Log(0.75) + 0.25*math.Log(0.25)))
	if math.Abs(c.EffectiveRank-want) > 1e-9 {
		t.Errorf("effective rank %v, want %v", c.EffectiveRank, want)
	}

	// Random Gaussian features in d = 64 spread over the sphere: NormalizedStd near 1.
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]float32, 512)
	for i := range rows {
		rows[i] = make([]float32, 64)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64())
		}
	}
	c, err = MeasureCollapse(rows)
	if err != nil {
		t.Fatal(err)
	}
	if c.NormalizedStd < 0.95 || c.NormalizedStd > 1.05 || c.EffectiveRank < 50 || c.Collapsed {
		t.Errorf("gaussian features: %+v, want normalised std ≈ 1 and a high rank", c)
	}

	// Why names only the conditions that hold.
	for _, tc := range []struct {
		c        Collapse
		want, no string
	}{
		{Collapse{NormalizedStd: 0.142, EffectiveRank: 1.81}, "effective rank 1.81 < 2", "std·√d"},
		{Collapse{NormalizedStd: 0.05, EffectiveRank: 9}, "std·√d 0.050 < 0.1", "rank"},
		{Collapse{NormalizedStd: 0.05, EffectiveRank: 1.2}, "std·√d 0.050 < 0.1 and effective rank 1.20 < 2", "or"},
		{Collapse{NormalizedStd: 0.5, EffectiveRank: 9}, "", "<"},
	} {
		got := tc.c.Why()
		if got != tc.want || (tc.no != "" && strings.Contains(got, tc.no)) {
			t.Errorf("%+v.Why() = %q, want %q", tc.c, got, tc.want)
		}
	}

	for _, bad := range [][][]float32{nil, {{1}}, {{1, 2}, {1}}, {{}, {}}, {{float32(math.NaN())}, {1}}} {
		if _, err := MeasureCollapse(bad); err == nil {
			t.Errorf("MeasureCollapse(%v): no error", bad)
		}
	}
}

// Pretrain measures collapse once per epoch and after the last step, and logs it.
func TestPretrainMonitorsCollapse(t *testing.T) {
	split := breastTrain(t)
	var log strings.Builder
	cfg := testPretrain(testutil.SmallEncoder{Width: 16}, NewSimCLR(), 5, 32, 3)
	cfg.MonitorSteps, cfg.Log = 2, &log
	res, err := Pretrain(split, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, c := range res.Collapse {
		steps = append(steps, c.Step)
		if c.EffectiveRank < 1 || c.NormalizedStd <= 0 || math.IsNaN(c.Loss) {
			t.Errorf("implausible measurement %+v", c)
		}
	}
	if len(steps) != 3 || steps[0] != 2 || steps[1] != 4 || steps[2] != 5 {
		t.Errorf("measured at steps %v, want [2 4 5]", steps)
	}
	if got := strings.Count(log.String(), "effective rank"); got != 3 {
		t.Errorf("log has %d measurement lines, want 3:\n%s", got, log.String())
	}
	// Each measurement sees the weights of its step (a stale inference graph would repeat
	// the first measurement).
	if a, b := res.Collapse[0], res.Collapse[2]; a.Std == b.Std || a.EffectiveRank == b.EffectiveRank {
		t.Errorf("measurements at steps 2 and 5 are identical: %+v, %+v", a, b)
	}
	if res.Collapse[2].Loss != res.Loss[4] {
		t.Errorf("last measurement's loss %v, want the last step's %v", res.Collapse[2].Loss, res.Loss[4])
	}
}
