package ssl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/internal/testutil"
)

// An encoder checkpoint holds exactly the encoder's variables, with their values, and the
// names of encoder and method; method heads and optimiser state are left out.
func TestSaveLoadEncoder(t *testing.T) {
	enc := testutil.SmallEncoder{Width: 8}
	cfg := testPretrain(enc, NewSimCLR(), 2, 16, 1)
	cfg.MonitorEpochs = 0
	pre, err := Pretrain(breastTrain(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pre.Collapse) != 0 {
		t.Errorf("MonitorEpochs 0 still measured collapse %d times", len(pre.Collapse))
	}
	dir := filepath.Join(t.TempDir(), "enc")
	if err := pre.SaveEncoder(dir); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadEncoder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Encoder != enc.Name() || ck.Method != "simclr" {
		t.Errorf("names %q, %q; want %q, simclr", ck.Encoder, ck.Method, enc.Name())
	}
	want := encoderValues(t, pre.Store)
	got := encoderValues(t, ck.Store)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("loaded %d encoder variables, want %d", len(got), len(want))
	}
	for path, w := range want {
		g, ok := got[path]
		if !ok {
			t.Errorf("variable %s missing", path)
			continue
		}
		for i := range w {
			if g[i] != w[i] {
				t.Errorf("%s[%d] = %v, want %v", path, i, g[i], w[i])
				break
			}
		}
	}
	for v := range ck.Store.IterVariables() {
		if !strings.HasPrefix(v.Scope(), "/encoder") {
			t.Errorf("non-encoder variable %s in the checkpoint", v.Path())
		}
	}
	// Saving again replaces the checkpoint.
	if err := pre.SaveEncoder(dir); err != nil {
		t.Fatal(err)
	}
	// A directory with other files is refused, and its files survive.
	other := t.TempDir()
	notes := filepath.Join(other, "notes.txt")
	if err := os.WriteFile(notes, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pre.SaveEncoder(other); err == nil {
		t.Error("SaveEncoder into a directory holding other files: no error")
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("SaveEncoder deleted a user's file: %v", err)
	}
	if _, err := LoadEncoder(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadEncoder of a missing directory: no error")
	}
	if err := SaveEncoder(dir, model.NewStore(), "x", "y"); err == nil {
		t.Error("SaveEncoder of a store without encoder: no error")
	}
}

func encoderValues(t *testing.T, store *model.Store) map[string][]float32 {
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		if !strings.HasPrefix(v.Scope(), "/encoder") {
			continue
		}
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		flat, err := tensors.CopyFlatData[float32](val)
		if err != nil {
			t.Fatal(err)
		}
		out[v.Path()] = flat
	}
	return out
}
