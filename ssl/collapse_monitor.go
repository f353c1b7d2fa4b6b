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

// monitorImages is the size of the fixed batch collapse is measured on.
const monitorImages = 256

// collapseMonitor embeds a fixed batch of un-augmented images with the current encoder
// (inference mode) and measures collapse on the features. It works for any method,
// built-in or custom, since it only needs the encoder under models.EncoderScope.
//
// A new inference graph is compiled for every measurement: the go backend embeds variable
// values as constants in inference graphs (compute's PreferConstantsForVariables), so an
// Exec kept across training steps would keep measuring the weights it was compiled with.
type collapseMonitor struct {
	cfg    PretrainConfig
	store  *model.Store
	images *tensors.Tensor
	log_   io.Writer
	warned bool
}

func newCollapseMonitor(cfg PretrainConfig, store *model.Store, src data.Source) (*collapseMonitor, error) {
	n := min(monitorImages, src.Len())
	if n < 2 {
		return nil, nil
	}
	// A stream of its own (seed+1), so the training stream is untouched.
	images, err := imageBatch(src, n, cfg.Seed+1, 0)
	if err != nil {
		return nil, fmt.Errorf("ssl: collapse monitor: %w", err)
	}
	return &collapseMonitor{cfg: cfg, store: store, images: images, log_: cfg.Log}, nil
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

func (m *collapseMonitor) measure(step int, loss float64) (Collapse, error) {
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

// log writes the measurement to the configured log, and a warning the first time the
// representations collapse (to the log, or to stderr when there is none).
func (m *collapseMonitor) log(c Collapse, method string) {
	if m.log_ != nil {
		fmt.Fprintf(m.log_, "ssl: %s %s\n", method, c)
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

func (m *collapseMonitor) finalize() { m.images.FinalizeAll() }
