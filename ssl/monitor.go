package ssl

import (
	"fmt"
	"io"
	"os"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
)

// Monitor measures the encoder while it pretrains, from the features the current weights
// give (in inference mode), every PretrainConfig.MonitorEpochs: eval.KNNMonitor, for
// example, scores a kNN classifier on the validation split. Labels a monitor reads are
// for watching only: Pretrain never chooses anything by them.
type Monitor interface {
	// Name names the score in logs, records and plots, e.g. "kNN val AUC".
	Name() string
	// Measure scores the encoder whose features features computes.
	Measure(features func(*data.Split) ([][]float32, error)) (float64, error)
}

// Score is one measurement of a Monitor.
type Score struct {
	Step  int     `json:"step"` // the global step after which it was measured
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// monitorImages is the size of the fixed batch collapse is measured on.
const monitorImages = 256

// monitor measures collapse on a fixed batch of un-augmented images embedded by the
// current encoder (inference mode), and runs the configured Monitors. It works for any
// method, built-in or custom, since it only needs the encoder under models.EncoderScope.
//
// A new inference graph is compiled for every measurement: the go backend embeds variable
// values as constants in inference graphs (compute's PreferConstantsForVariables), so an
// Exec kept across training steps would keep measuring the weights it was compiled with.
type monitor struct {
	cfg    PretrainConfig
	store  *model.Store
	images *tensors.Tensor // nil when the source has fewer than 2 images
	log_   io.Writer
	warned bool
}

func newMonitor(cfg PretrainConfig, store *model.Store, src data.Source) (*monitor, error) {
	m := &monitor{cfg: cfg, store: store, log_: cfg.Log}
	if n := min(monitorImages, src.Len()); n >= 2 {
		// A stream of its own (seed+1), so the training stream is untouched.
		images, err := imageBatch(src, n, cfg.Seed+1, 0)
		if err != nil {
			return nil, fmt.Errorf("ssl: collapse monitor: %w", err)
		}
		m.images = images
	}
	return m, nil
}

// scores runs every configured Monitor on the current encoder.
func (m *monitor) scores(step int) ([]Score, error) {
	features := func(s *data.Split) ([][]float32, error) {
		return models.Features(m.cfg.Backend, m.store, m.cfg.Encoder, s)
	}
	var out []Score
	for _, mon := range m.cfg.Monitors {
		v, err := mon.Measure(features)
		if err != nil {
			return nil, fmt.Errorf("ssl: monitor %s at step %d: %w", mon.Name(), step, err)
		}
		out = append(out, Score{Step: step, Name: mon.Name(), Value: v})
	}
	return out, nil
}

// imageBatch returns batch number skip (0-based) of src's image stream for (batchSize,
// seed): the images Pretrain trains on at that step, before augmentation.
func imageBatch(src data.Source, batchSize int, seed int64, skip int) (*tensors.Tensor, error) {
	ds, err := src.ImageBatches(batchSize, seed, skip)
	if err != nil {
		return nil, err
	}
	for batch, err := range ds.Iter() {
		if err != nil {
			return nil, err
		}
		return batch.Inputs[0], nil
	}
	return nil, fmt.Errorf("the source yielded no batch")
}

func (m *monitor) measure(step int, loss float64) (Collapse, error) {
	enc := m.cfg.Encoder
	exec, err := model.NewExec(m.cfg.Backend, m.store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return enc.Encode(scope.In(models.EncoderScope), x)
	})
	if err != nil {
		return Collapse{}, fmt.Errorf("ssl: collapse monitor: %w", err)
	}
	defer exec.Finalize()
	out, err := exec.Call(m.images)
	if err != nil {
		return Collapse{}, fmt.Errorf("ssl: collapse monitor at step %d: %w", step, err)
	}
	defer func() {
		for _, t := range out {
			t.FinalizeAll()
		}
	}()
	dims := out[0].Shape().Dimensions
	flat, err := tensors.CopyFlatData[float32](out[0])
	if err != nil {
		return Collapse{}, err
	}
	rows := make([][]float32, dims[0])
	for i := range rows {
		rows[i] = flat[i*dims[1] : (i+1)*dims[1]]
	}
	c, err := MeasureCollapse(rows)
	if err != nil {
		return Collapse{}, fmt.Errorf("%w (at step %d)", err, step)
	}
	c.Step, c.Loss = step, loss
	return c, nil
}

// log writes the measurements to the configured log, and a warning the first time the
// representations collapse (to the log, or to stderr when there is none).
func (m *monitor) log(c Collapse, scores []Score, method string) {
	if m.log_ != nil {
		line := fmt.Sprintf("ssl: %s %s", method, c)
		for _, s := range scores {
			line += fmt.Sprintf(", %s %.4f", s.Name, s.Value)
		}
		fmt.Fprintln(m.log_, line)
	}
	if c.Collapsed && !m.warned {
		m.warned = true
		w := m.log_
		if w == nil {
			w = os.Stderr
		}
		fmt.Fprintf(w, "ssl: WARNING: %s representations collapsed at step %d (%s): "+
			"check the learning rate, augmentations and the method's settings\n", method, c.Step, c.Why())
	}
}

func (m *monitor) finalize() {
	if m.images != nil {
		m.images.FinalizeAll()
	}
}
